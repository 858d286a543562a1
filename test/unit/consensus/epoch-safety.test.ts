/**
 * The epoch safety gap, replayed message by message on four real consensus services (real Ed25519 keys, real Level
 * state stores, one manual clock; the test carries every gossip message itself, so it decides who hears what, when):
 *
 *   t=1000  leader L proposes P1 for epoch 1 (content C1: nothing listed); L and B sign yes. D never hears of P1.
 *   t=1100  D's proposal X is accepted by L, B, D (3 of 4); it awaits the next epoch.
 *   t=4990  C hears P1 late and signs yes, 10 ms before it expires: C holds 3 of 4 yes, a QC, and finalizes C1.
 *   t=5000  P1 expires at L and B; C's yes reaches them only at 5600, too late for their tallies.
 *           L restarts.
 *   t=6000  D, leading the next slot, proposes P2 for epoch 1 with content C2 = {X}. Before the lock, L and B backed
 *           it (their P1 had expired) and L, B, D finalized C2 while C had finalized C1: two honest finalizations of
 *           epoch 1 with different tables, no byzantine node involved. With the lock, L and B vote no; P2 fails, and
 *           catch-up from C brings everyone to C1.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ManualClock } from '../../../src/common/clock.js'
import { EventBus } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import { openState, type StateStore } from '../../../src/storage/index.js'
import { consensus, defaultConsensusOptions, type ConsensusEvents, type ConsensusService } from '../../../src/consensus/index.js'
import type { ConsensusComponents } from '../../../src/consensus/service/service.js'
import { openConsensusRecord } from '../../../src/consensus/protocol/verify.js'
import { proposalId, signConsensusRecord } from '../../../src/consensus/protocol/records.js'
import type { Proposal } from '../../../src/consensus/protocol/schemas.js'
import type { EpochBundle } from '../../../src/consensus/service/sync.js'

const NETWORK = 'local'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

interface Node {
  id: string
  key: PrivateKey
  dir: string
  s: ConsensusService
  state: StateStore
  /** What it published since the test last took it. */
  out: Uint8Array[]
  events: Array<{ type: string, data: unknown }>
}

async function boot (n: Pick<Node, 'id' | 'key' | 'dir'>, genesis: ConsensusService['init']['genesis'], clock: ManualClock, mode: 'auto' | 'manual' = 'auto'): Promise<Node> {
  const state = await openState(join(n.dir, 'state'))
  const out: Uint8Array[] = []
  const events: Node['events'] = []
  const bus = new EventBus<ConsensusEvents>(() => clock.now())
  bus.subscribe(e => { events.push({ type: e.type, data: e.data }) })
  // no network: the test carries every message (sync has no peers to ask, so catch-up happens only when the test says)
  const libp2p = {
    handle: async () => {}, unhandle: async () => {}, dialProtocol: async () => { throw new Error('no network in this test') },
    getPeers: () => [], addEventListener: () => {}, removeEventListener: () => {}, hangUp: async () => {}
  } as unknown as ConsensusComponents['libp2p']
  const s = consensus({
    ...defaultConsensusOptions,
    epochIntervalMs: 1000,
    epochTtlMs: 4000,
    finalityDelayMs: 0,
    policies: { 'network-param': { mode } },
    genesis,
    network: NETWORK,
    recordMaxAgeMs: 3600_000,
    recordMaxSkewMs: 500,
    // every vote on gossip: the test carries gossip itself (votes straight to a proposer: direct-votes.test.ts)
    directVoteFallbackMs: 0
  })({ peerId: n.id, privateKey: n.key, libp2p, gossip: { register: () => {}, publish: async (_t, b) => { out.push(b) } }, state, events: bus, logger: silentLogger, clock })
  await s.start()
  clearInterval(s['timer']) // the test beats the chain itself (tick), at the manual clock's times
  const node = { ...n, s, state, out, events }
  // a restarted node's first instance is already stopped and closed by then: stop is a no-op, close may refuse
  cleanups.push(async () => { await node.s.stop(); await node.state.close().catch(() => {}) })
  return node
}

/** Take what a node published since the last take (a proposer's own vote may leave before its proposal). */
const take = (n: Node): Uint8Array[] => n.out.splice(0)
async function takeProposal (n: Node): Promise<[Uint8Array, Uint8Array]> {
  const all = take(n)
  const kinds = await Promise.all(all.map(kindOf))
  const msgs = all.filter((_, i) => kinds[i] !== 'qc') // a QC it gossiped earlier for its own proposal X
  const i = kinds.filter(k => k !== 'qc').findIndex(k => k.startsWith('proposal:'))
  expect(msgs.length).toBe(2)
  return [msgs[i], msgs[1 - i]]
}

/** Deliver messages to nodes, in order (what gossip or the sync stream would hand them). */
async function send (msgs: Uint8Array[], to: Node[]): Promise<void> {
  for (const n of to) for (const m of msgs) await n.s.ingestRecord(m)
}

async function kindOf (bytes: Uint8Array): Promise<string> {
  const o = await openConsensusRecord(bytes, NETWORK)
  return o.type === 'proposal' ? `proposal:${o.record.payload.kind}` : o.type === 'vote' ? `vote:${o.record.payload.choice}` : o.type
}

const epochHash = (n: Node): string | undefined => n.s.chain.epoch >= 1 ? n.s.chain.hash(1) : undefined

describe('epoch safety: a second attempt after expiry plus a late in-time vote', () => {
  it('no two nodes finalize different contents for one epoch; the lock holds across a restart; catch-up converges', async () => {
    const clock = new ManualClock(0)
    const keys = await Promise.all([0, 1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    const ids = keys.map(k => peerIdFromPrivateKey(k).toString())
    const order = ids.map((id, i) => ({ id, key: keys[i] })).sort((a, b) => (a.id < b.id ? -1 : 1))
    const genesis = { params: {}, pretrusted: order.map(o => ({ peerId: o.id, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
    const nodes: Node[] = []
    for (const o of order) {
      const dir = await mkdtemp(join(tmpdir(), 'epoch-safety-'))
      cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
      nodes.push(await boot({ id: o.id, key: o.key, dir }, genesis, clock))
    }
    // the leader of slot s is member s mod 4 in peer id order: slot 1 (t=1000) is L, slot 6 (t=6000) is D
    let [B, L, D, C] = nodes
    expect([1, 6].map(s => L.s.chain.leader(s))).toEqual([L.id, D.id])
    expect(L.s.chain.electorate().total).toBe(4_000_000_000_000n)

    // t=1000: L proposes P1 (nothing to list yet) and B backs it; D hears nothing of it
    clock.set(1000)
    await L.s.tick()
    const [p1, vL1] = await takeProposal(L)
    expect(await kindOf(p1)).toBe('proposal:epoch')
    const P1 = proposalId((await openConsensusRecord(p1, NETWORK)).record.payload as Proposal)
    await send([p1, vL1], [B])
    const [vB1] = take(B)
    expect(await kindOf(vB1)).toBe('vote:yes')

    // t=1100: X is accepted by L, B and D (3 of 4) and awaits the next epoch
    clock.set(1100)
    const { id: X } = await D.s.create({ kind: 'network-param', payload: { name: 'test.x', value: 1 }, ttlSeconds: 60 })
    await send(take(D), [L, B])
    const votesX = [...take(L), ...take(B)]
    await send(votesX, [D, L, B])
    for (const n of [L, B, D]) expect(n.s.get(X).status).toBe('accepted')

    // t=4990: C hears P1 and both yes votes late, backs it 10 ms before expiry, holds a QC and finalizes epoch 1
    clock.set(4990)
    await send([p1, vL1, vB1], [C])
    const [vC1] = take(C)
    expect(await kindOf(vC1)).toBe('vote:yes')
    expect(C.s.chain.epoch).toBe(1)
    expect(C.s.chain.entries[0].proposalId).toBe(P1)

    // t=5000: P1 expires at L and B; C's vote reaches them late (its timestamp is in time, their tallies are closed)
    clock.set(5000)
    for (const n of [L, B, D]) await n.s.tick()
    clock.set(5600)
    await send([vC1], [L, B])
    for (const n of [L, B]) expect(n.s.get(P1).status).toBe('expired')

    // L restarts: its lock is read back from its own stored vote
    await L.s.stop()
    await L.state.close()
    L = await boot({ id: L.id, key: L.key, dir: L.dir }, genesis, clock)

    // t=6000: D (never saw P1) leads and proposes P2 for epoch 1, listing X: other content than C1
    clock.set(6000)
    await D.s.tick()
    const [p2, vD2] = await takeProposal(D)
    expect(await kindOf(p2)).toBe('proposal:epoch')
    const P2 = proposalId((await openConsensusRecord(p2, NETWORK)).record.payload as Proposal)
    expect(D.s.get(P2).payload).toMatchObject({ epoch: 1, accepted: [{ id: X }] })
    await send([p2, vD2], [L, B])
    const replies = [...take(L), ...take(B)]
    // the lock: L (after its restart) and B signed yes on C1 for epoch 1, so they vote no on C2
    expect(await Promise.all(replies.map(kindOf))).toEqual(['vote:no', 'vote:no'])
    await send(replies, [D, L, B])
    for (const n of [L, B, D]) expect(n.s.get(P2).status).not.toBe('accepted')

    // catch-up from C (what /meshnode/consensus-sync/1.0.0 carries): its epoch 1 with P1's QC, checked and applied
    const bundle = C.s['ingest'].catchUp.epochBundle(1) as EpochBundle
    for (const n of [L, B, D]) await n.s['ingest'].catchUp['adoptEpoch'](bundle)

    // every node finalized epoch 1 with the same content and table; nobody applied C2
    expect(nodes.length).toBe(4)
    const all = [B, L, D, C]
    expect(all.map(n => n.s.chain.epoch)).toEqual([1, 1, 1, 1])
    expect(new Set(all.map(epochHash)).size).toBe(1)
    expect(all.map(n => n.s.chain.entries[0].proposalId)).toEqual([P1, P1, P1, P1])
    expect(all.every(n => !n.events.some(e => e.type === 'epoch.conflict'))).toBe(true)

    // beyond the bound: L and B turn byzantine (half the weight) and, with D, sign a QC on C2 for epoch 1. C does not
    // apply it, and reports the pair with the double signers.
    clock.set(7000)
    const p3: Proposal = { ...D.s.get(P2), kind: 'epoch', payload: D.s.get(P2).payload, proposer: L.id, createdAt: 7000, expiresAt: 11_000, snapshot: 0 }
    const P3p: Proposal = { kind: p3.kind, payload: p3.payload, proposer: p3.proposer, createdAt: p3.createdAt, expiresAt: p3.expiresAt, snapshot: p3.snapshot }
    const P3 = proposalId(P3p)
    const forged = [await signConsensusRecord(L.key, NETWORK, 'proposal', 7000, P3p)]
    for (const n of [L, B, D]) forged.push(await signConsensusRecord(n.key, NETWORK, 'vote', 7001, { proposalId: P3, choice: 'yes', voter: n.id, network: NETWORK }))
    await send(forged, [C])
    expect(C.s.get(P3).status).toBe('accepted')
    expect(C.s.chain.entries[0].proposalId).toBe(P1)
    expect(C.s.chain.hash(1)).toBe(epochHash(B))
    expect(C.events.filter(e => e.type === 'epoch.conflict').map(e => e.data)).toEqual([{ epoch: 1, finalized: P1, conflicting: P3, doubleSigners: [B.id, L.id].sort() }])

    // and a QC'd epoch 2 that does not follow C's chain (another previous hash) is accepted as a proposal, never applied
    clock.set(8000)
    const P4p: Proposal = { kind: 'epoch', payload: { epoch: 2, prev: '0'.repeat(64), accepted: [], evidence: [] }, proposer: L.id, createdAt: 8000, expiresAt: 12_000, snapshot: 1 }
    const P4 = proposalId(P4p)
    const forged4 = [await signConsensusRecord(L.key, NETWORK, 'proposal', 8000, P4p)]
    for (const n of [L, B, D]) forged4.push(await signConsensusRecord(n.key, NETWORK, 'vote', 8001, { proposalId: P4, choice: 'yes', voter: n.id, network: NETWORK }))
    await send(forged4, [C])
    await C.s.tick()
    expect(C.s.get(P4).status).toBe('accepted')
    expect(C.s.chain.epoch).toBe(1)
  }, 60_000)

  it('a voter backing two contents of one epoch is caught: the node holding both yes votes gossips them as evidence, once', async () => {
    const clock = new ManualClock(1000)
    const keys = await Promise.all([0, 1].map(async () => await generateKeyPair('Ed25519')))
    const [A, M] = keys.map(k => peerIdFromPrivateKey(k).toString())
    const genesis = { params: {}, pretrusted: [A, M].map(peerId => ({ peerId, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
    const dir = await mkdtemp(join(tmpdir(), 'epoch-safety-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const node = await boot({ id: A, key: keys[0], dir }, genesis, clock, 'manual')
    // M proposes two attempts at epoch 1 with different content (the second lists made-up evidence) and backs both
    const attempt = (evidence: string[]): Proposal => ({ kind: 'epoch', payload: { epoch: 1, prev: node.s.chain.hash(), accepted: [], evidence }, proposer: M, createdAt: 1000, expiresAt: 5000, snapshot: 0 })
    const [p1, p2] = [attempt([]), attempt([proposalId(attempt([]))])]
    const records = [
      await signConsensusRecord(keys[1], NETWORK, 'proposal', 1000, p1),
      await signConsensusRecord(keys[1], NETWORK, 'proposal', 1001, p2),
      await signConsensusRecord(keys[1], NETWORK, 'vote', 1000, { proposalId: proposalId(p1), choice: 'yes', voter: M, network: NETWORK }),
      await signConsensusRecord(keys[1], NETWORK, 'vote', 1001, { proposalId: proposalId(p2), choice: 'yes', voter: M, network: NETWORK })
    ]
    await send(records.slice(0, 3), [node])
    expect((await Promise.all(take(node).map(kindOf))).filter(k => k === 'evidence')).toEqual([]) // one content: no evidence yet
    await send(records.slice(3), [node])
    const sent = take(node)
    expect(await Promise.all(sent.map(kindOf))).toContain('evidence')
    const ev = await openConsensusRecord(sent[(await Promise.all(sent.map(kindOf))).indexOf('evidence')], NETWORK)
    expect(ev.type === 'evidence' && ev.record.payload.proposals?.length).toBe(2)
    // the same double-back seen again (a re-delivered vote) is not reported twice
    await send(records, [node])
    expect((await Promise.all(take(node).map(kindOf))).filter(k => k === 'evidence')).toEqual([])
  }, 30_000)

  it('one vote per proposal at a time: two overlapping decisions cannot sign yes and no', async () => {
    const clock = new ManualClock(1000)
    const keys = await Promise.all([0, 1].map(async () => await generateKeyPair('Ed25519')))
    const genesis = { params: {}, pretrusted: keys.map(k => ({ peerId: peerIdFromPrivateKey(k).toString(), score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
    const [A, B] = await Promise.all(keys.map(async key => {
      const dir = await mkdtemp(join(tmpdir(), 'epoch-safety-'))
      cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
      return await boot({ id: peerIdFromPrivateKey(key).toString(), key, dir }, genesis, clock, 'manual')
    }))
    const { id } = await A.s.create({ kind: 'network-param', payload: { name: 'test.y', value: 2 }, ttlSeconds: 60 })
    await send(take(A), [B])
    expect(take(B)).toEqual([]) // manual: B waits for its operator
    // the operator's yes and a second decision's no start together; the second is refused, not signed
    const [yes, no] = await Promise.allSettled([B.s.vote(id, 'yes'), B.s.vote(id, 'no')])
    expect(yes.status).toBe('fulfilled')
    expect(no).toMatchObject({ status: 'rejected', reason: { code: 'ERR_CLOSED' } })
    expect(await Promise.all(take(B).map(kindOf))).toEqual(['vote:yes'])
    expect(B.s.entry(id).votes.get(B.id)?.map(v => v.choice)).toEqual(['yes'])
  }, 30_000)
})
