/**
 * The sync stream's open bundles repeat every proposal not yet listed in an epoch with all its votes; in a mesh with no
 * epoch beat (the default genesis) that is every accepted round seal ever, and seal voting asks for a sync whenever a
 * node falls behind. A node opens (checks the signature of) only the records it does not hold byte for byte: two real
 * consensus services (real Level state, real libp2p on 127.0.0.1, the real sync protocol), the second syncing twice.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Type } from '@sinclair/typebox'
import { generateKeyPair } from '@libp2p/crypto/keys'
import '../../../src/node/polyfills.js'
import { ManualClock } from '../../../src/common/clock.js'
import { EventBus } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { openState } from '../../../src/storage/index.js'
import { consensus, defaultConsensusOptions, type ConsensusEvents, type ConsensusService } from '../../../src/consensus/index.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => {}) })

async function node (clock: ManualClock, electorate: () => string[]): Promise<{ s: ConsensusService, libp2p: MeshLibp2p }> {
  const key = await generateKeyPair('Ed25519')
  const dir = await mkdtemp(join(tmpdir(), 'sync-held-'))
  const state = await openState(join(dir, 'state'))
  const libp2p = await createMeshLibp2p({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  const s = consensus({ ...defaultConsensusOptions, epochIntervalMs: 1000, network: 'local', recordMaxAgeMs: 3600_000, recordMaxSkewMs: 500 })({
    peerId: libp2p.peerId.toString(), privateKey: key, libp2p, gossip: { register: () => {}, publish: async () => {} }, state, events: new EventBus<ConsensusEvents>(), logger: silentLogger, clock
  })
  // a kind voted on by both nodes (by head: nobody has earned weight), like a round seal's electorate
  s.registerKind({ kind: 'note', schema: Type.Object({ n: Type.Integer() }), electorate: () => electorate(), execute: () => {}, defaultPolicy: { mode: 'auto' }, vetoable: false })
  cleanups.push(async () => { await s.stop(); await libp2p.stop(); await state.close(); await rm(dir, { recursive: true, force: true }) })
  await s.start()
  clearInterval(s['timer']) // no beat: the test drives the syncs
  return { s, libp2p }
}

describe('consensus sync of open proposals', () => {
  it('opens only the proposals and votes a node does not hold yet', async () => {
    const clock = new ManualClock(Date.now())
    let ids: string[] = []
    const a = await node(clock, () => ids)
    const b = await node(clock, () => ids)
    ids = [a.s.peerId, b.s.peerId].sort()
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    // three proposals on a, each with a's yes vote (b never saw them: gossip is off)
    for (let n = 0; n < 3; n++) await a.s.create({ kind: 'note', payload: { n }, ttlSeconds: 600 })
    const catchUp = b.s['ingest'].catchUp
    const ingest = b.s['ingest']
    const opened: string[] = []
    const real = ingest.ingestBytes.bind(ingest)
    ingest.ingestBytes = async (bytes: Uint8Array) => { opened.push(Buffer.from(bytes).toString('base64')); await real(bytes) }
    await catchUp.syncFrom(a.libp2p.peerId)
    await ingest.idle()
    expect(catchUp.lastFailure).toBeUndefined()
    // b took in each proposal and a's vote on it, and voted yes itself (auto policy)
    expect(b.s.list({ kind: 'note' }).map(p => p.votes.length)).toEqual([2, 2, 2])
    const before = new Set(opened)
    // the same answer again (a's records only: a never got b's votes): everything is held, nothing is opened
    opened.length = 0
    await catchUp.syncFrom(a.libp2p.peerId)
    expect(catchUp.lastFailure).toBeUndefined()
    expect(opened).toEqual([])
    // a fourth proposal: its envelope and a's vote are opened (and b's own new vote), nothing held before
    const { id } = await a.s.create({ kind: 'note', payload: { n: 3 }, ttlSeconds: 600 })
    await catchUp.syncFrom(a.libp2p.peerId)
    expect(opened.length).toBeGreaterThanOrEqual(2)
    expect(opened.filter(x => before.has(x))).toEqual([])
    expect(b.s.get(id).votes.map(v => v.voter)).toContain(a.s.peerId)
  }, 30_000)
})
