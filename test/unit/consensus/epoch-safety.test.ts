/**
 * The epoch chain's two-phase rule (core/epoch-lock.ts), replayed message by message on four real consensus services
 * (real Ed25519 keys, real Level state stores, one manual clock; the test carries every gossip message itself, so it
 * decides who hears what, when):
 *
 * - **Safety.** L's P1 gets a polka from L, B, C; all three vote yes, but only C holds the three yes votes: C alone
 *   finalizes P1's content, and P1 expires at L and B. L restarts. D (never saw P1) leads P2 with other content: L and
 *   B are locked on P1's content and neither prevote nor vote on P2, so P2 never passes; catch-up from C brings
 *   everyone to P1. (With yes on first sight and no lock, L, B, D would have finalized P2 while C finalized P1.)
 * - **Liveness after a split.** P1 is prevoted by L, B only and P2 (other content) by D, C only: no polka, so nobody
 *   locks, and once healed P2 gathers every prevote and passes. (With a lock taken at a first-sight yes, L and B would
 *   have locked one content and D and C the other, and the epoch would have waited forever.)
 * - **A lock released.** L alone saw P1's polka and voted yes; a later polka on P2 (B, D, C) lets L vote yes on P2.
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

/** Four members of one weight each (a QC or a polka takes three), booted in peer id order: [B, L, D, C]. */
async function mesh4 (clock: ManualClock): Promise<{ nodes: Node[], genesis: ConsensusService['init']['genesis'] }> {
  const keys = await Promise.all([0, 1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
  const order = keys.map(key => ({ id: peerIdFromPrivateKey(key).toString(), key })).sort((a, b) => (a.id < b.id ? -1 : 1))
  const genesis = { params: {}, pretrusted: order.map(o => ({ peerId: o.id, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
  const nodes: Node[] = []
  for (const o of order) {
    const dir = await mkdtemp(join(tmpdir(), 'epoch-safety-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    nodes.push(await boot({ id: o.id, key: o.key, dir }, genesis, clock))
  }
  // the leader of slot s is member s mod 4 in peer id order: slot 1 (t=1000) is L, slot 6 (t=6000) is D
  expect([1, 6].map(slot => nodes[0].s.chain.leader(slot))).toEqual([nodes[1].id, nodes[2].id])
  return { nodes, genesis }
}

/** Four members (mesh4) at t=1000, where L leads slot 1: its attempt P1 at epoch 1 (nothing to list) and L's prevote. */
async function firstAttempt (): Promise<{ clock: ManualClock, nodes: Node[], genesis: ConsensusService['init']['genesis'], p1: Uint8Array, pvL: Uint8Array }> {
  const clock = new ManualClock(0)
  const { nodes, genesis } = await mesh4(clock)
  clock.set(1000)
  await nodes[1].s.tick()
  const [p1, pvL] = await takeProposal(nodes[1])
  expect(await kinds([p1, pvL])).toEqual(['proposal:epoch', 'vote:prevote'])
  return { clock, nodes, genesis, p1, pvL }
}

/** Gossip without a cut: everything each node publishes reaches every other one, until nobody has more to say. */
async function pump (nodes: Node[]): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const out = nodes.map(take)
    if (out.every(o => o.length === 0)) return
    for (const [k, msgs] of out.entries()) await send(msgs, nodes.filter((_, j) => j !== k))
  }
  throw new Error('gossip did not settle')
}

/** What a node published, by kind (`vote:prevote` for prevotes). */
async function kinds (msgs: Uint8Array[]): Promise<string[]> {
  return await Promise.all(msgs.map(async m => {
    const o = await openConsensusRecord(m, NETWORK)
    return o.type === 'vote' && o.record.payload.phase === 'prevote' ? 'vote:prevote' : await kindOf(m)
  }))
}

/**
 * Create a network-param proposal on `by` that the nodes in `accepting` (with `by`) hold accepted, the others not;
 * returns its id and every record it took, for delivery elsewhere later.
 */
async function acceptOn (by: Node, voters: Node[], accepting: Node[], name: string): Promise<{ id: string, records: Uint8Array[] }> {
  const { id } = await by.s.create({ kind: 'network-param', payload: { name, value: 1 }, ttlSeconds: 60 })
  const created = take(by)
  await send(created, voters)
  const votes = voters.flatMap(take)
  await send(votes, [by])
  await send([...created, ...votes], accepting)
  for (const n of [by, ...accepting]) take(n)
  for (const n of [by, ...accepting]) expect(n.s.get(id).status).toBe('accepted')
  return { id, records: [...created, ...votes] }
}

describe('epoch safety: two phases per attempt (prevote, then yes on a polka)', () => {
  it('no two nodes finalize different contents for one epoch; the lock holds across a restart; catch-up converges', async () => {
    // t=1000: L proposes P1 (nothing to list yet); B and C prevote it; D hears nothing of it
    const { clock, nodes, genesis, p1, pvL } = await firstAttempt()
    let [B, L, D, C] = nodes
    expect(L.s.chain.electorate().total).toBe(4_000_000_000_000n)
    const P1 = proposalId((await openConsensusRecord(p1, NETWORK)).record.payload as Proposal)
    await send([p1, pvL], [B, C])
    const [pvB, pvC] = [...take(B), ...take(C)]
    expect(await kinds([pvB, pvC])).toEqual(['vote:prevote', 'vote:prevote'])
    // three prevotes of four are a polka: L, B and C each vote yes (and are locked on P1's content from now on)
    await send([pvB, pvC], [L])
    await send([pvC], [B])
    await send([pvB], [C])
    const [vL1, vB1, vC1] = [take(L), take(B), take(C)].map(out => { expect(out.length).toBe(1); return out[0] })
    expect(await kinds([vL1, vB1, vC1])).toEqual(['vote:yes', 'vote:yes', 'vote:yes'])
    // C holds three yes votes, a QC, and finalizes epoch 1; L and B see each other's only
    await send([vL1, vB1], [C])
    expect(C.s.chain.epoch).toBe(1)
    expect(C.s.chain.entries[0].proposalId).toBe(P1)
    await send([vB1], [L])
    await send([vL1], [B])

    // t=1100: X is accepted by L, B and D (3 of 4) and awaits the next epoch
    clock.set(1100)
    const { id: X } = await acceptOn(D, [L, B], [L, B], 'test.x')

    // t=5000: P1 expires at L and B; C's yes reaches them late (its timestamp is in time, their tallies are closed)
    clock.set(5000)
    for (const n of [L, B, D]) await n.s.tick()
    clock.set(5600)
    await send([vC1], [L, B])
    for (const n of [L, B]) expect(n.s.get(P1).status).toBe('expired')

    // L restarts: its lock and its rounds are read back from its own stored votes
    await L.s.stop()
    await L.state.close()
    L = await boot({ id: L.id, key: L.key, dir: L.dir }, genesis, clock)

    // t=6000: D (never saw P1, so holds no polka to re-propose) leads P2 for epoch 1, listing X: other content
    clock.set(6000)
    await D.s.tick()
    const [p2, pvD] = await takeProposal(D)
    const P2 = proposalId((await openConsensusRecord(p2, NETWORK)).record.payload as Proposal)
    expect(D.s.get(P2).payload).toMatchObject({ epoch: 1, accepted: [{ id: X }] })
    await send([p2, pvD], [L, B])
    // the lock: L (after its restart) and B voted yes on P1's content and hold no later polka: they neither prevote
    // nor vote; P2 can gather two prevotes at most and never a polka
    expect([...take(L), ...take(B)]).toEqual([])
    for (const n of [L, B, D]) expect(n.s.get(P2).status).toBe('pending')

    // catch-up from C (what /meshnode/consensus-sync/1.0.0 carries): its epoch 1 with P1's QC, checked and applied
    const bundle = await C.s['ingest'].catchUp.epochBundle(1) as EpochBundle
    for (const n of [L, B, D]) await n.s['ingest'].catchUp['adoptEpoch'](bundle)

    // every node finalized epoch 1 with the same content and table; nobody applied P2's
    const all = [B, L, D, C]
    expect(all.map(n => n.s.chain.epoch)).toEqual([1, 1, 1, 1])
    expect(new Set(all.map(epochHash)).size).toBe(1)
    expect(all.map(n => n.s.chain.entries[0].proposalId)).toEqual([P1, P1, P1, P1])
    expect(all.every(n => !n.events.some(e => e.type === 'epoch.conflict'))).toBe(true)

    // beyond the bound: L and B turn byzantine (half the weight) and, with D, sign a QC on P2's content for epoch 1.
    // C does not apply it, and reports the pair with the double signers.
    clock.set(7000)
    const P3p: Proposal = { kind: 'epoch', payload: D.s.get(P2).payload, proposer: L.id, createdAt: 7000, expiresAt: 11_000, snapshot: 0 }
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

  it('a split of two attempts, each prevoted by half the weight, locks nobody: once healed, the next attempt passes', async () => {
    // t=1000: L's P1 (nothing listed) reaches B only: two prevotes, no polka
    const { clock, nodes, p1, pvL } = await firstAttempt()
    const [B, L, D, C] = nodes
    await send([p1, pvL], [B])
    const pvB = take(B)
    expect(await kinds(pvB)).toEqual(['vote:prevote'])
    await send(pvB, [L])
    expect(take(L)).toEqual([])
    // t=1100: X is accepted on D and C (with B's yes vote, which B never learns was the third): other content there
    clock.set(1100)
    const { id: X, records: xRecords } = await acceptOn(D, [B, C], [C], 'test.x')
    expect(B.s.get(X).status).toBe('pending')
    // t=6000: D's P2 (listing X) reaches C only: two prevotes, no polka. Yes on first sight (one phase) would have
    // locked L, B on one content and D, C on another, each half the weight, and epoch 1 would have waited forever.
    clock.set(6000)
    await D.s.tick()
    const [p2, pvD] = await takeProposal(D)
    await send([p2, pvD], [C])
    const pvC = take(C)
    expect(await kinds(pvC)).toEqual(['vote:prevote'])
    await send(pvC, [D])
    expect(take(D)).toEqual([])
    for (const n of nodes) expect(n.s.chain.epoch).toBe(0)
    // healed: everything reaches everyone; P1 expired, P2 gathers all four prevotes, then its QC
    clock.set(7000)
    for (const n of nodes) { await send(n === L ? [] : [p1, pvL], [n]); await send(n === D ? [] : [p2, pvD], [n]) }
    await send([...xRecords, ...pvB, ...pvC], nodes)
    await pump(nodes)
    const P2 = proposalId((await openConsensusRecord(p2, NETWORK)).record.payload as Proposal)
    expect(nodes.map(n => n.s.chain.epoch)).toEqual([1, 1, 1, 1])
    expect(new Set(nodes.map(epochHash)).size).toBe(1)
    expect(nodes.map(n => n.s.chain.entries[0].proposalId)).toEqual([P2, P2, P2, P2])
    expect(D.s.get(P2).payload).toMatchObject({ accepted: [{ id: X }] })
  }, 60_000)

  it('a lock is released by a later polka: the locked member votes yes on the new content, and nobody calls that evidence', async () => {
    // t=1000: everyone prevotes P1, but only L hears the others' prevotes: L alone votes yes and is locked on it
    const { clock, nodes, p1, pvL } = await firstAttempt()
    const [B, L, D, C] = nodes
    await send([p1, pvL], [B, D, C])
    const others = [B, D, C].flatMap(take)
    expect(await kinds(others)).toEqual(['vote:prevote', 'vote:prevote', 'vote:prevote'])
    await send(others, [L])
    expect(await kinds(take(L))).toEqual(['vote:yes'])
    // t=1100: X is accepted on B, D and C; L hears of it only after P1 expired
    clock.set(1100)
    const { id: X, records: xRecords } = await acceptOn(D, [B, C], [B, C], 'test.x')
    // (after 5500: L leads slot 5, and in its first half would re-propose the content of the polka it holds)
    clock.set(5600)
    await send(xRecords, [L])
    take(L) // its own yes on X, too late to matter
    await L.s.tick()
    expect(await kinds(take(L))).toEqual([])
    expect(L.s.get(X).status).toBe('accepted')
    expect(L.s.get(proposalId((await openConsensusRecord(p1, NETWORK)).record.payload as Proposal)).status).toBe('expired')
    // t=6000: D holds no polka (it saw one prevote of P1 besides its own) and proposes P2 listing X. L does not prevote
    // it (locked, no later polka); B, D and C do, and that polka releases L's lock.
    clock.set(6000)
    await D.s.tick()
    const [p2, pvD] = await takeProposal(D)
    expect(D.s.get(proposalId((await openConsensusRecord(p2, NETWORK)).record.payload as Proposal)).payload).toMatchObject({ accepted: [{ id: X }] })
    await send([p2, pvD], [L])
    expect(await kinds(take(L))).toEqual([])
    await send([p2, pvD], [B, C])
    await pump(nodes)
    expect(nodes.map(n => n.s.chain.epoch)).toEqual([1, 1, 1, 1])
    expect(new Set(nodes.map(epochHash)).size).toBe(1)
    const P2 = L.s.chain.entries[0].proposalId
    expect(L.s.entry(P2).votes.get(L.id)?.map(v => v.choice)).toEqual(['yes'])
    expect(L.s.entry(P2).prevotes.has(L.id)).toBe(false)
    // the API view shows an attempt's prevotes beside its votes
    expect(L.s.get(P2).prevotes?.map(p => p.voter).sort()).toEqual([B.id, D.id, C.id].sort())
    expect(nodes.every(n => n.s['ingest'].evidence.size === 0)).toBe(true)
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
    // two prevotes of one round on two contents are caught alike (an honest member prevotes once per round)
    const prevotes = await Promise.all([p1, p2].map(async (p, k) => await signConsensusRecord(keys[1], NETWORK, 'vote', 1002 + k, { proposalId: proposalId(p), choice: 'yes', voter: M, network: NETWORK, phase: 'prevote' })))
    await send(prevotes, [node])
    const out = take(node)
    const evidence = (await Promise.all(out.map(async m => await openConsensusRecord(m, NETWORK)))).flatMap(o => o.type === 'evidence' ? [o.record.payload] : [])
    expect(evidence).toHaveLength(1)
    expect((await openConsensusRecord(evidence[0].first, NETWORK)).record.payload).toMatchObject({ phase: 'prevote' })
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
