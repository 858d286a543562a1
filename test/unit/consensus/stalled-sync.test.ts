/**
 * The stalled-chain sync backs off while it brings nothing: two real consensus services (real Level state, real libp2p
 * on 127.0.0.1, the real sync protocol) whose genesis names one pre-trusted peer that never comes, so no epoch ever
 * comes and the chain is stalled. Each idle node used to sync from every peer every beat; now the rounds come 1, 2, 4,
 * then at most 8 beats apart, and one beat apart again once a peer (re)identifies. With the default genesis, which
 * names nobody, the chain has no leader and never moves anywhere: no stalled-chain rounds at all.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import '../../../src/node/polyfills.js'
import { ManualClock } from '../../../src/common/clock.js'
import { EventBus } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { openState } from '../../../src/storage/index.js'
import { CONSENSUS_SYNC_PROTOCOL } from '../../../src/consensus/protocol/topic.js'
import { consensus, defaultConsensusOptions, type ConsensusEvents, type ConsensusService } from '../../../src/consensus/index.js'

const BEAT = 1000
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => {}) })

/** A genesis whose only member is a peer that never comes (its leader is always away). */
const AWAY = { ...defaultConsensusOptions.genesis, pretrusted: [{ peerId: '12D3KooWGmDZsX6XdwVTzSqA4BJRkNrBqASeUQ8JCMYdbRjB4LSt', score: '1000' }] }

async function node (clock: ManualClock, genesis = AWAY): Promise<{ s: ConsensusService, libp2p: MeshLibp2p }> {
  const key = await generateKeyPair('Ed25519')
  const dir = await mkdtemp(join(tmpdir(), 'stalled-sync-'))
  const state = await openState(join(dir, 'state'))
  const libp2p = await createMeshLibp2p({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  const s = consensus({ ...defaultConsensusOptions, genesis, epochIntervalMs: BEAT, network: 'local', recordMaxAgeMs: 3600_000, recordMaxSkewMs: 500 })({
    peerId: libp2p.peerId.toString(), privateKey: key, libp2p, gossip: { register: () => {}, publish: async () => {} }, state, events: new EventBus<ConsensusEvents>(), logger: silentLogger, clock
  })
  cleanups.push(async () => { await s.stop(); await libp2p.stop(); await state.close(); await rm(dir, { recursive: true, force: true }) })
  await s.start()
  clearInterval(s['timer']) // the test drives the stalled-sync check itself, at the manual clock's times
  return { s, libp2p }
}

describe('stalled-chain sync (a mesh with no epoch beat)', () => {
  it('a chain with no electorate (the default genesis) never runs a stalled-chain round: it has no beat to miss', async () => {
    const clock = new ManualClock(100 * BEAT)
    const a = await node(clock, defaultConsensusOptions.genesis)
    const b = await node(clock, defaultConsensusOptions.genesis)
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    const catchUp = a.s['ingest'].catchUp
    await catchUp.syncAll()
    const asked = vi.spyOn(catchUp, 'syncFrom')
    for (let beat = 1; beat <= 24; beat++) {
      clock.set((100 + beat) * BEAT)
      await catchUp.syncIfStalled()
    }
    expect(asked).not.toHaveBeenCalled()
  }, 30_000)

  it('a start with no peer leaves later syncs working (its sync of nobody once wedged every later one)', async () => {
    const clock = new ManualClock(100 * BEAT)
    const a = await node(clock) // its start synced from every peer: none yet
    const b = await node(clock)
    const catchUp = a.s['ingest'].catchUp
    expect(catchUp.syncing).toBeUndefined()
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    // observed, not replaced: the real exchange with b runs
    const asked = vi.spyOn(catchUp, 'syncFrom')
    await catchUp.syncAll()
    await catchUp.syncAll()
    // each round asked b (b identifying may add a sync of its own)
    const peers = asked.mock.calls.map(([peer]) => peer.toString())
    expect(peers.length).toBeGreaterThanOrEqual(2)
    expect(new Set(peers)).toEqual(new Set([b.libp2p.peerId.toString()]))
    expect(catchUp.syncing).toBeUndefined()
    expect(catchUp.lastFailure).toBeUndefined()
  }, 30_000)

  it('backs off to at most 8 beats while rounds bring nothing, and returns to one beat when a peer identifies', async () => {
    const clock = new ManualClock(100 * BEAT)
    const a = await node(clock)
    const b = await node(clock)
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    expect(a.libp2p.getPeers().length).toBe(1)
    const catchUp = a.s['ingest'].catchUp
    await catchUp.syncAll() // the round a node runs at start (and joins here)
    const rounds: number[] = []
    for (let beat = 1; beat <= 24; beat++) {
      clock.set((100 + beat) * BEAT)
      const tried = catchUp['lastRound']
      await catchUp.syncIfStalled()
      if (catchUp['lastRound'] !== tried) rounds.push(beat)
    }
    // every round asked the one peer, which answered (with nothing)
    expect(rounds).toEqual([1, 3, 7, 15, 23])
    expect(catchUp.lastFailure).toBeUndefined()

    // a peer (re)identifying brings the one-beat pace back, and the back-off starts over
    catchUp.onIdentify(new CustomEvent('peer:identify', { detail: { peerId: b.libp2p.peerId, protocols: [CONSENSUS_SYNC_PROTOCOL] } }))
    await catchUp.syncAll()
    catchUp['lastRound'] = (100 + 23) * BEAT // the round above stands for the identify's own sync, at beat 23
    const later: number[] = []
    for (let beat = 24; beat <= 30; beat++) {
      clock.set((100 + beat) * BEAT)
      const tried = catchUp['lastRound']
      await catchUp.syncIfStalled()
      if (catchUp['lastRound'] !== tried) later.push(beat)
    }
    expect(later).toEqual([24, 26, 30])
  }, 30_000)
})
