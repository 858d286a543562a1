import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { signRecord, openRecord } from '../../../src/protocols/envelope.js'
import type { GossipContext, GossipTopicHandler } from '../../../src/protocols/gossip.js'
import { ManualClock } from '../../../src/common/clock.js'
import { silentLogger } from '../../../src/common/logger.js'
import type { EmitArgs } from '../../../src/common/events.js'
import type { NodeOwnEvents } from '../../../src/node/events.js'
import {
  hardware, HARDWARE_DOMAIN, HARDWARE_PROTOCOL, HARDWARE_TOPIC, BANDWIDTH_PROTOCOL, MAX_BANDWIDTH_PROBE_BYTES,
  type HardwareLibp2p, type HardwareService, type MeasuredBackend
} from '../../../src/node/hardware/index.js'
import { SAMPLE } from './hardware-fixture.js'

const NOW = 1_700_000_000_000

/** The fakes a hardware service runs against, and what it did to them. */
interface Rig {
  service: HardwareService
  key: PrivateKey
  handled: string[]
  published: Uint8Array[]
  events: Array<EmitArgs<NodeOwnEvents>>
  gauge: number[]
  /** Run a gossip message through the registered topic handler (validate, then deliver). */
  gossip: (data: Uint8Array, source: string) => Promise<void>
}

async function rig (measureBackend?: () => Promise<MeasuredBackend>): Promise<Rig> {
  const key = await generateKeyPair('Ed25519')
  const handled: string[] = []
  const published: Uint8Array[] = []
  const events: Rig['events'] = []
  const gauge: number[] = []
  const target = new EventTarget()
  let run: Rig['gossip'] = async () => { throw new Error('no topic registered') }
  const libp2p: HardwareLibp2p = {
    peerId: peerIdFromPrivateKey(key),
    handle: async (protocol) => { handled.push(...[protocol].flat()) },
    unhandle: async (protocols) => { for (const p of [protocols].flat()) handled.splice(handled.indexOf(p), 1) },
    dialProtocol: async () => { throw new Error('no route to peer') },
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target)
  }
  const service = hardware({ advertiseIntervalMs: 60_000, recordMaxAgeMs: 60_000, recordMaxSkewMs: 1000, measureRetryMs: 1 })({
    libp2p,
    privateKey: key,
    gossip: {
      register: <T>(h: GossipTopicHandler<T>) => {
        expect(h.topic).toBe(HARDWARE_TOPIC)
        run = async (data, source) => {
          const ctx: GossipContext = { propagationSource: source }
          await h.deliver(await h.validate(data, ctx), ctx)
        }
      },
      publish: async (topic, data) => { expect(topic).toBe(HARDWARE_TOPIC); published.push(data) }
    },
    events: { emit: (...args) => { events.push(args) } },
    logger: silentLogger,
    clock: new ManualClock(NOW),
    probe: async () => ({ ...SAMPLE, tfjs: { backend: 'pending', version: '' }, bench: null }),
    measureBackend,
    metrics: { peerRecords: { set: n => { gauge.push(n) } } }
  })
  return { service, key, handled, published, events, gauge, gossip: async (d, o) => { await run(d, o) } }
}

describe('hardware service', () => {
  let r: Rig
  beforeEach(async () => {
    r = await rig(async () => ({ tfjs: { backend: 'wasm', version: '4.22.0' }, bench: SAMPLE.bench }))
    await r.service.start()
  })
  afterEach(async () => { await r.service.stop() })

  it('at start serves both protocols and advertises the probed record, signed', async () => {
    expect(r.handled.sort()).toEqual([BANDWIDTH_PROTOCOL, HARDWARE_PROTOCOL].sort())
    expect(r.service.local()?.tfjs.backend).toBe('pending')
    expect(r.published).toHaveLength(1)
    const rec = await openRecord(r.published[0], { domain: HARDWARE_DOMAIN })
    expect(rec.signer).toBe(peerIdFromPrivateKey(r.key).toString())
    expect(rec.payload).toEqual(r.service.local())
  })

  it('keeps the newest verified record per peer, announcing a peer once', async () => {
    const other = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(other).toString()
    await r.gossip(await signRecord(other, HARDWARE_DOMAIN, 1, NOW - 10, SAMPLE), id)
    await r.gossip(await signRecord(other, HARDWARE_DOMAIN, 1, NOW, { ...SAMPLE, profile: 'gpu' }), id)
    expect(r.service.peers().map(p => [p.peerId, p.seq, p.record.profile])).toEqual([[id, NOW, 'gpu']])
    expect(r.events).toEqual([['hardware.record', { peerId: id }]])
    expect(r.gauge).toEqual([1, 1])
    // our own record coming back over gossip is not a peer's
    const self = peerIdFromPrivateKey(r.key).toString()
    await r.gossip(await signRecord(r.key, HARDWARE_DOMAIN, 1, NOW + 1, SAMPLE), self)
    expect(r.service.get(self)).toBeUndefined()
  })

  it('adds the measured backend to its record, re-advertises it and says so', async () => {
    await r.service.measure()
    expect(r.service.local()).toMatchObject({ tfjs: { backend: 'wasm' }, bench: SAMPLE.bench })
    expect(r.published.length).toBeGreaterThanOrEqual(2)
    expect(r.events).toEqual([['hardware.measured', { backend: 'wasm', samplesPerSec: SAMPLE.bench?.samplesPerSec }]])
  })

  it('refuses a probe size out of range and names an unreachable peer', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    for (const bytes of [0, 1.5, MAX_BANDWIDTH_PROBE_BYTES + 1]) {
      await expect(r.service.measureBandwidth(peer, bytes)).rejects.toMatchObject({ code: 'ERR_BANDWIDTH_SIZE', kind: 'invalid' })
    }
    await expect(r.service.measureBandwidth(peer, 1024)).rejects.toMatchObject({ code: 'ERR_PEER_UNREACHABLE', kind: 'not-found', message: `cannot measure bandwidth to ${peer}: no route to peer` })
  })

  it('stops serving and advertising on stop', async () => {
    await r.service.stop()
    expect(r.handled).toEqual([])
    await r.service.setLocal(SAMPLE)
    expect(r.published).toHaveLength(1)
  })
})

describe('hardware service without a working benchmark', () => {
  it('keeps advertising the probed record when the backend probe fails, after trying it 3 times', async () => {
    let tries = 0
    const r = await rig(async () => { tries++; throw new Error('no tfjs here') })
    await r.service.start()
    await r.service.measure()
    expect(tries).toBe(3)
    expect(r.service.local()?.tfjs.backend).toBe('pending')
    expect(r.events).toEqual([])
    await r.service.stop()
  })

  it('tries a probe that ran out of time again (a machine busy with starting nodes), and advertises its result', async () => {
    let tries = 0
    const r = await rig(async () => {
      if (++tries < 3) throw new Error('training benchmark exited with null: killed at its time limit')
      return { tfjs: { backend: 'wasm', version: '4.22.0' }, bench: SAMPLE.bench }
    })
    await r.service.start()
    await r.service.measure()
    expect(tries).toBe(3)
    expect(r.service.local()?.tfjs.backend).toBe('wasm')
    expect(r.events).toEqual([['hardware.measured', { backend: 'wasm', samplesPerSec: SAMPLE.bench?.samplesPerSec }]])
    await r.service.stop()
  })
})
