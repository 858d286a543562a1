import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { ManualClock } from '../../../src/common/clock.js'
import { silentLogger } from '../../../src/common/logger.js'
import type { EmitArgs } from '../../../src/common/events.js'
import type { NodeOwnEvents } from '../../../src/node/events.js'
import { peerTracker, type PeerTracker } from '../../../src/node/peers.js'
import { SAMPLE } from './hardware-fixture.js'

const NOW = 1_700_000_000_000
const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('peer tracker', () => {
  let tracker: PeerTracker | undefined
  afterEach(() => { tracker?.stop() })

  it('tracks connections, pings, emits events and shows peers with their hardware, sorted', async () => {
    const target = new EventTarget()
    const connected: PeerId[] = []
    const events: Array<EmitArgs<NodeOwnEvents>> = []
    const gauge: number[] = []
    const clock = new ManualClock(NOW)
    const [a, b] = (await Promise.all([newPeer(), newPeer()])).sort((x, y) => x.toString().localeCompare(y.toString()))
    tracker = peerTracker()({
      libp2p: {
        getPeers: () => [...connected],
        getConnections: () => [],
        addEventListener: target.addEventListener.bind(target),
        removeEventListener: target.removeEventListener.bind(target)
      },
      ping: { ping: async target => target.toString() === a.toString() ? 12 : await Promise.reject(new Error('timeout')) },
      hardware: { get: id => id === b.toString() ? { peerId: id, seq: 1, receivedAt: NOW, record: SAMPLE } : undefined },
      events: { emit: (...args) => { events.push(args) } },
      logger: silentLogger,
      clock,
      metrics: { peers: { set: n => { gauge.push(n) } } }
    })
    tracker.start()
    for (const p of [b, a]) { connected.push(p); target.dispatchEvent(new CustomEvent('peer:connect', { detail: p })) }
    await new Promise(resolve => setImmediate(resolve))
    clock.advance(5000)
    expect(tracker.peers()).toEqual([
      { peerId: a.toString(), addresses: [], latencyMs: 12, lastSeen: new Date(NOW).toISOString(), hardware: null, gossipScore: null },
      { peerId: b.toString(), addresses: [], latencyMs: null, lastSeen: new Date(NOW).toISOString(), hardware: '8x x64 · 32 GB · RTX 4090 · 1234 samples/s', gossipScore: null }
    ])
    connected.splice(0, 1)
    target.dispatchEvent(new CustomEvent('peer:disconnect', { detail: b }))
    expect(events).toEqual([['peer.connected', { peerId: b.toString() }], ['peer.connected', { peerId: a.toString() }], ['peer.disconnected', { peerId: b.toString() }]])
    expect(gauge).toEqual([1, 2, 1])
    tracker.stop()
    target.dispatchEvent(new CustomEvent('peer:connect', { detail: b }))
    expect(events).toHaveLength(3)
  })
})
