/**
 * Consensus across an absence and partitions, on seven in-process nodes, all pre-trusted (four of weight 2, three of
 * weight 1): a node offline for several epochs syncs; a 4/3 partition of running nodes (each node's connection gater
 * refuses every connection across the cut) leaves the light side (3 of 11 weight units) unable to finalize anything
 * while the heavy side (8 of 11) goes on, and after healing all 7 agree; a cut that leaves neither side 2/3 (6 and 5
 * of 11), with each side attempting the next epoch with other content, locks nobody, and once healed the chain moves on.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadIdentity } from '../../../src/node/identity.js'
import { signConsensusRecord, type EpochAttempt, type ProposalView } from '../../../src/consensus/index.js'
import { cidOf } from '../../../src/consensus/protocol/canonical.js'
import { waitFor } from '../../harness/index.js'
import { expectSameHashes, startConsensusMesh, waitEpoch, type ConsensusMesh } from './helpers.js'

const T = 1_000_000_000_000n
const ALL = [0, 1, 2, 3, 4, 5, 6]

describe('consensus across an absence and a partition', () => {
  let cm: ConsensusMesh
  const HEAVY = [0, 1, 2, 3]
  const LIGHT = [4, 5, 6]
  beforeAll(async () => {
    // QCs of more than 3 voters are BLS aggregates here (gossiped and synced as one signature with the voters' keys):
    // every QC, as 2/3 of 11 weight units takes 4 voters at least; at a threshold of 4, a QC the four heavy nodes
    // reached alone (as the proposer tallied it) was a vote list, and the first case failed now and then
    cm = await startConsensusMesh([2n * T, 2n * T, 2n * T, 2n * T, T, T, T], { consensus: { policies: { 'network-param': { mode: 'auto' } }, blsQcThreshold: 3 } })
    await waitEpoch(cm, ALL, 1)
  }, 180_000)
  afterAll(async () => { await cm?.mesh.close() })

  it('a node offline for several epochs syncs, verifies every QC itself (BLS aggregates) and reaches the same reputation hash', async () => {
    await cm.handle(5).stop()
    const others = ALL.filter(i => i !== 5)
    const { id } = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.offline', value: 7 }, ttlSeconds: 8 })
    const stoppedAt = Math.max(...others.map(i => cm.service(i).chain.epoch))
    const target = cm.service(0).chain.epoch + 3
    await waitEpoch(cm, others, target, 60_000)
    await cm.revive(5, [0, 1])
    await waitFor(() => {
      const s = cm.service(5)
      if (s.chain.epoch >= target) return true
      throw new Error(`node 5 at epoch ${s.chain.epoch} of ${target}; its last sync failure: ${s['ingest'].catchUp.lastFailure ?? 'none'}`)
    }, { timeoutMs: 60_000, what: 'the returning node to sync' })
    // it executed what it missed, from the synced epochs (each QC checked under its own snapshot)
    await waitFor(() => cm.service(5).param('test.offline') === 7, { timeoutMs: 30_000, what: 'the missed proposal executed' })
    expect(cm.service(5).get(id).status).toBe('accepted')
    // what it missed came as aggregate QCs, checked with keys learnt from the voters' own signed votes
    const missed = cm.service(5).epochs().epochs.filter(e => e.epoch > stoppedAt + 1 && e.epoch <= target)
    expect(missed.length).toBeGreaterThan(0)
    // (kept beside a vote list the node tallied itself, from votes gossiped to it as it came back)
    for (const e of missed) expect(cm.service(5).aggregateQc(e.proposalId), `epoch ${e.epoch}: QC of ${cm.service(5).qc(e.proposalId)?.votes.length} votes, no aggregate`).toBeDefined()
    expectSameHashes(cm)
  })

  it('partition 4/3: the side below quorum never finalizes; after healing all nodes agree', async () => {
    const epoch = (i: number): number => cm.service(i).chain.epoch
    const knows = (i: number, id: string): boolean => { try { cm.service(i).get(id); return true } catch { return false } }
    const statusOn = async (nodes: number[], id: string, status: ProposalView['status']): Promise<void> => {
      await waitFor(() => nodes.every(i => knows(i, id) && cm.service(i).get(id).status === status), { timeoutMs: 45_000, what: `${id} ${status} on nodes ${nodes.join(',')}` })
    }
    const linkedAcross = (): string[] => HEAVY.flatMap(h => LIGHT.flatMap(l =>
      cm.node(h).libp2p.getConnections(peerIdFromString(cm.ids[l])).length + cm.node(l).libp2p.getConnections(peerIdFromString(cm.ids[h])).length > 0 ? [`${h}-${l}`] : []))
    // every acceptance on every node, from its own events, for the whole case; and what the light side finalizes while
    // `watching` (from the moment the cut settled to the heal): nothing, if the side below quorum cannot finalize
    const accepted = ALL.map(() => new Set<string>())
    const lightFinal: string[] = []
    let watching = false
    const unsubscribe = ALL.map(i => cm.node(i).events.subscribe(e => {
      if (e.type === 'proposal.accepted') accepted[i].add(e.data.id)
      if (watching && LIGHT.includes(i) && (e.type === 'proposal.accepted' || e.type === 'epoch.finalized')) lightFinal.push(`node ${i} ${e.type}`)
    }))
    try {
      // a real cut between running nodes: connections across hung up, every re-dial across refused by the gaters
      await cm.partition([HEAVY, LIGHT])
      // no node holds epoch head + 2's QC now: its proposal names head + 1, which nobody had finalized
      const headAtCut = Math.max(...ALL.map(epoch))
      const heavyAtCut = Math.max(...HEAVY.map(epoch))
      const cutAt = Date.now()
      const { id: heavyId } = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.partition.heavy', value: 1 }, ttlSeconds: 8 })
      const { id: lightId } = await cm.service(4).create({ kind: 'network-param', payload: { name: 'test.partition.light', value: 1 }, ttlSeconds: 6 })
      // the heavy side (8 of 11 weight units) still reaches 2/3: its proposal passes with a QC of its own voters
      await statusOn(HEAVY, heavyId, 'accepted')
      for (const i of HEAVY) {
        const v = cm.service(i).get(heavyId)
        expect(v.certificate?.voters.every(p => HEAVY.some(h => cm.ids[h] === p))).toBe(true)
        expect(BigInt(v.tally.yes) * 3n).toBeGreaterThanOrEqual(BigInt(v.tally.weightTotal) * 2n)
      }
      // an epoch whose QC reached a light node just before the cut may still finalize there (finality delay, a loaded
      // event loop): let that settle. The heavy side's two epochs below take longer than this anyway
      await new Promise(resolve => setTimeout(resolve, Math.max(0, cutAt + 3000 - Date.now())))
      const lightSettled = LIGHT.map(epoch)
      watching = true
      expect(Math.max(...lightSettled)).toBeLessThanOrEqual(headAtCut + 1)
      // the cut holds while the heavy side finalizes two more epochs and the light side's proposal expires there
      await waitEpoch(cm, HEAVY, heavyAtCut + 2, 60_000)
      await statusOn(LIGHT, lightId, 'expired')
      watching = false
      expect(lightFinal).toEqual([])
      expect(LIGHT.map(epoch)).toEqual(lightSettled)
      expect(linkedAcross()).toEqual([])
      for (const i of LIGHT) expect(knows(i, heavyId)).toBe(false)
      for (const i of HEAVY) expect(knows(i, lightId)).toBe(false)
      const heavyAtHeal = Math.min(...HEAVY.map(epoch))
      expect(heavyAtHeal).toBeGreaterThanOrEqual(heavyAtCut + 2)

      await cm.heal()
      // the light side syncs the heavy side's epochs (each QC checked by itself) and executes its accepted proposal
      await waitEpoch(cm, ALL, heavyAtHeal + 1, 60_000)
      await statusOn(LIGHT, heavyId, 'accepted')
      await waitFor(() => ALL.every(i => cm.service(i).param('test.partition.heavy') === 1), { timeoutMs: 30_000, what: 'the heavy side\'s proposal executed everywhere' })
      await waitFor(() => new Set(ALL.map(epoch)).size === 1, { timeoutMs: 30_000, what: 'one epoch head on all nodes' })
      expectSameHashes(cm)
      // the light side's proposal never passed anywhere, during the cut or after it
      for (const i of ALL) {
        expect(accepted[i].has(lightId)).toBe(false)
        expect(cm.service(i).param('test.partition.light')).toBeUndefined()
        if (knows(i, lightId)) expect(cm.service(i).get(lightId).status).not.toBe('accepted')
      }
      // every node reported the heavy side's acceptance on its events, the light side from what catch-up verified
      await waitFor(() => ALL.every(i => accepted[i].has(heavyId)), { timeoutMs: 10_000, what: 'proposal.accepted of the heavy proposal on every node' })
    } finally {
      for (const u of unsubscribe) u()
    }
  })

  it('a cut leaving neither side 2/3 (6 and 5 of 11), each side attempting the epoch with its own content: nobody locks, and once healed the chain moves on', async () => {
    const A = [0, 1, 2]
    const B = [3, 4, 5, 6]
    const epoch = (i: number): number => cm.service(i).chain.epoch
    await waitFor(() => new Set(ALL.map(epoch)).size === 1, { timeoutMs: 30_000, what: 'one epoch head on all nodes' })
    await cm.partition([A, B])
    // side A alone holds evidence (node 6's two conflicting votes, reported by node 0 and gossiped on side A from the
    // cut on), so its attempts list it and side B's cannot: two contents for one epoch, each backed by less than 2/3
    const [reporter, equivocator] = await Promise.all([loadIdentity(cm.dirs[0]), loadIdentity(cm.dirs[6])])
    const at = Date.now()
    const pid = cidOf({ split: at })
    const [yes, no] = await Promise.all((['yes', 'no'] as const).map(async (choice, k) =>
      await signConsensusRecord(equivocator, 'local', 'vote', at + k, { proposalId: pid, choice, voter: cm.ids[6], network: 'local' })))
    const held = new Set(cm.service(0)['ingest'].evidence.keys())
    const evidence = await signConsensusRecord(reporter, 'local', 'evidence', at, { first: yes, second: no })
    await cm.service(0).ingestRecord(evidence)
    await cm.service(0).publish(evidence)
    const [evId] = [...cm.service(0)['ingest'].evidence.keys()].filter(id => !held.has(id))
    await waitFor(() => A.every(i => cm.service(i)['ingest'].evidence.has(evId)), { timeoutMs: 10_000, what: 'the evidence on side A' })
    // an epoch whose QC was under way at the cut may still finalize on one side: let that settle first
    await new Promise(resolve => setTimeout(resolve, 4000))
    const next = Math.max(...ALL.map(epoch)) + 1
    const finalized: string[] = []
    const unsubscribe = ALL.map(i => cm.node(i).events.subscribe(e => { if (e.type === 'epoch.finalized') finalized.push(`node ${i} epoch ${e.data.epoch}`) }))
    try {
      // each side attempts epoch `next` (leaders rotate over all seven) and prevotes it: side A's listing the evidence
      const attempts = (i: number): EpochAttempt[] => cm.service(i).attempts.of(next)
      const lists = (i: number, a: EpochAttempt): boolean => (cm.service(i).entry(a.id).proposal.payload as { evidence: string[] }).evidence.includes(evId)
      const by = (i: number, a: EpochAttempt, side: number[]): boolean => side.some(j => cm.service(i).entry(a.id).proposal.proposer === cm.ids[j])
      await waitFor(() => attempts(0).some(a => by(0, a, A) && lists(0, a) && a.prevotes.length >= 2) && attempts(3).some(a => by(3, a, B) && !lists(3, a) && a.prevotes.length >= 2),
        { timeoutMs: 45_000, what: `attempts at epoch ${next} of two contents, prevoted on both sides` })
      // no polka on either side, so nobody voted yes: nobody is locked, and nothing was finalized
      for (const i of ALL) expect(attempts(i).every(a => a.yes.length === 0)).toBe(true)
      expect(finalized).toEqual([])
      expect(ALL.map(epoch).every(e => e < next)).toBe(true)

      await cm.heal()
      await waitEpoch(cm, ALL, next, 60_000)
      await waitFor(() => new Set(ALL.map(epoch)).size === 1, { timeoutMs: 30_000, what: 'one epoch head on all nodes' })
      expectSameHashes(cm)
    } finally {
      for (const u of unsubscribe) u()
    }
  })
})
