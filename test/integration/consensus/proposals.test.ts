/**
 * Seven in-process nodes, all pre-trusted (four of weight 2, three of weight 1), node 6 a guardian: a network-param
 * proposal passes with a QC and executes identically everywhere; so does a hyperparams proposal (training's kind: the
 * job view shows the new values on all 7); one that misses quorum expires everywhere; a guardian's veto stops one
 * that had a QC; replayed votes are refused (by the validator and through real gossip); equivocation is penalised
 * identically; and after every scenario all reputation tables hash the same. Absence and partitions: partition.test.ts.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { decode, encode } from 'cborg'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { loadIdentity } from '../../../src/node/identity.js'
import { CONSENSUS_TOPIC, proposalId, signConsensusRecord, type Proposal, type ProposalView } from '../../../src/consensus/index.js'
import { cidOf } from '../../../src/consensus/protocol/canonical.js'
import { parseCid } from '../../../src/storage/index.js'
import type { CreateJobRequest, JobView } from '../../../src/training/index.js'
import { waitFor } from '../../harness/index.js'
import { expectSameHashes, startConsensusMesh, waitEpoch, type ConsensusMesh } from './helpers.js'

const T = 1_000_000_000_000n
const ALL = [0, 1, 2, 3, 4, 5, 6]

async function statusEverywhere (cm: ConsensusMesh, id: string, status: ProposalView['status'], executed?: boolean): Promise<void> {
  await waitFor(() => ALL.every(i => {
    try {
      const v = cm.service(i).get(id)
      return v.status === status && (executed === undefined || v.executed === executed)
    } catch { return false }
  }), { timeoutMs: 45_000, what: `${id} ${status} on every node` })
}

/** Refusals of consensus gossip with `code` counted by node i's gossip validator (its metric). */
async function gossipRefusals (cm: ConsensusMesh, i: number, code: string): Promise<number> {
  const m = await cm.node(i).metrics.gossipValidation.get()
  return m.values.filter(v => v.labels.topic === CONSENSUS_TOPIC && v.labels.code === code).reduce((a, v) => a + v.value, 0)
}

/** A small job nobody joins: it stays at round 0 on every node, which is all the hyperparams case needs. */
const JOB: CreateJobRequest = {
  model: { arch: 'mlp', layers: [16, 10], seed: 3 }, dataset: 'digits', rounds: 5, minParticipants: 3, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32',
  hyperparamBounds: { learningRate: { min: 0.01, max: 0.5 } }
}

describe('consensus on 7 nodes', () => {
  let cm: ConsensusMesh
  /** The replay test's records, replayed through real gossip by the last test. */
  let replays: { id: string, voter: number, vote: Uint8Array, moved: Uint8Array, foreign: Uint8Array } | undefined
  beforeAll(async () => {
    cm = await startConsensusMesh([2n * T, 2n * T, 2n * T, 2n * T, T, T, T], {
      guardians: [6],
      consensus: { policies: { 'network-param': { mode: 'auto' }, hyperparams: { mode: 'auto' } } }
    })
    await waitEpoch(cm, ALL, 1)
  }, 180_000)
  afterAll(async () => { await cm?.mesh.close() })

  it('a network-param proposal passes with a QC and executes identically on every node', async () => {
    const { id } = await cm.handle(0).api.request<{ id: string }>('POST', '/v1/proposals', { json: { kind: 'network-param', payload: { name: 'test.answer', value: 42 }, ttlSeconds: 8 } })
    await statusEverywhere(cm, id, 'accepted', true)
    for (const i of ALL) {
      expect(cm.service(i).param('test.answer')).toBe(42)
      const v = cm.service(i).get(id)
      expect(v.certificate?.voters.length).toBeGreaterThanOrEqual(4)
      expect(BigInt(v.tally.yes) * 3n).toBeGreaterThanOrEqual(BigInt(v.tally.weightTotal) * 2n)
    }
    // the next epoch lists it on every node, with one QC voter set
    await waitFor(() => ALL.every(i => cm.service(i).get(id).epoch != null), { timeoutMs: 45_000, what: 'an epoch listing the proposal' })
    expect(new Set(ALL.map(i => cm.service(i).get(id).epoch)).size).toBe(1)
    await waitEpoch(cm, ALL, (cm.service(0).get(id).epoch ?? 0))
    expectSameHashes(cm)
    const epochs = await cm.handle(3).api.request<{ params: Record<string, unknown> }>('GET', '/v1/consensus/epochs')
    expect(epochs.params['test.answer']).toBe(42)
    // every node put it into Helia under its id: node 3 drops its copy and fetches it back from peers by the id alone
    const cid = parseCid(id)
    await waitFor(async () => await cm.node(0).helia.blockstore.has(cid), { timeoutMs: 10_000, what: 'the proposal in node 0\'s blockstore' })
    await cm.node(3).storage.blockstore.delete(cid)
    const chunks: Uint8Array[] = []
    for await (const c of cm.node(3).helia.blockstore.get(cid, { signal: AbortSignal.timeout(20_000) })) chunks.push(c)
    const block: unknown = decode(Buffer.concat(chunks))
    expect(cidOf(block)).toBe(id)
    expect(block).toMatchObject({ kind: 'network-param', payload: { name: 'test.answer', value: 42 }, proposer: cm.ids[0] })
    // its decision too: node 3's QC linked to the proposal, fetchable by any peer by its CID
    await waitFor(() => cm.service(3).get(id).decision != null, { timeoutMs: 10_000, what: 'node 3\'s decision in its blockstore' })
    const decision = parseCid(cm.service(3).get(id).decision as string)
    const dchunks: Uint8Array[] = []
    for await (const c of cm.node(0).helia.blockstore.get(decision, { signal: AbortSignal.timeout(20_000) })) dchunks.push(c)
    const d = dagCbor.decode<{ proposal: CID, qc: { proposalId: string, votes: Uint8Array[] } }>(Buffer.concat(dchunks))
    expect(d.proposal.toString()).toBe(id)
    expect(d.qc.proposalId).toBe(id)
    expect(d.qc.votes.length).toBe(cm.service(3).get(id).certificate?.votes)
  })

  it('a hyperparams proposal passes with a QC and is executed identically on every node; one outside the job\'s bounds is rejected', async () => {
    const { id: jobId } = await cm.handle(0).api.request<{ id: string }>('POST', '/v1/training/jobs', { json: JOB })
    const views = async (): Promise<JobView[]> => await Promise.all(ALL.map(async i => await cm.handle(i).api.request<JobView>('GET', `/v1/training/jobs/${jobId}`)))
    await waitFor(async () => await views().then(() => true, () => false), { timeoutMs: 45_000, what: 'the job announced to every node' })
    // 1.0 is inside the default bounds (10x) but outside the job's declared ones (0.5): every node votes no
    const { id: bad } = await cm.handle(1).api.request<{ id: string }>('POST', '/v1/proposals', { json: { kind: 'hyperparams', payload: { jobId, changes: { learningRate: 1 } }, ttlSeconds: 8 } })
    const { id } = await cm.handle(2).api.request<{ id: string }>('POST', '/v1/proposals', { json: { kind: 'hyperparams', payload: { jobId, changes: { learningRate: 0.05, localEpochs: 2 } }, ttlSeconds: 8 } })
    await statusEverywhere(cm, id, 'accepted', true)
    await statusEverywhere(cm, bad, 'rejected')
    for (const i of ALL) {
      const v = cm.service(i).get(id)
      expect(BigInt(v.tally.yes) * 3n).toBeGreaterThanOrEqual(BigInt(v.tally.weightTotal) * 2n)
      expect(v.certificate?.voters.length).toBeGreaterThanOrEqual(4)
    }
    // the job view on every node: the new values, from the same round, under the same proposal; the refused one absent
    await waitFor(async () => (await views()).every(v => v.hyperparams?.changes.length === 1), { timeoutMs: 30_000, what: 'the change in every job view' })
    const seen = await views()
    for (const v of seen) {
      expect(v.hyperparams?.latest).toEqual({ learningRate: 0.05, localEpochs: 2, batchSize: 32 })
      expect(v.hyperparams?.current).toEqual({ learningRate: 0.1, localEpochs: 1, batchSize: 32 }) // round 0 keeps the spec's values
      expect(v.hyperparams?.changes).toEqual([{ proposalId: id, fromRound: 1, changes: { learningRate: 0.05, localEpochs: 2 } }])
      expect(v.hyperparams?.bounds.learningRate).toEqual({ min: 0.01, max: 0.5 })
      expect(v.spec.learningRate).toBe(0.1) // the signed spec (and so the job id) is unchanged
    }
    expectSameHashes(cm)
  })

  it('a proposal that misses quorum expires on every node', async () => {
    // ban-peer is `manual` by default: only the proposer's operator votes, 2 of 11 weight units
    const { id } = await cm.service(1).create({ kind: 'ban-peer', payload: { peerId: cm.ids[5], reason: 'test' }, ttlSeconds: 2 })
    await statusEverywhere(cm, id, 'expired')
    for (const i of ALL) expect(cm.service(i).get(id).executed).toBe(false)
    expectSameHashes(cm)
  })

  it('a guardian\'s veto stops a proposal that had a QC; other nodes may not veto', async () => {
    const { id } = await cm.service(2).create({ kind: 'network-param', payload: { name: 'test.vetoed', value: 'x' }, ttlSeconds: 20 })
    await statusEverywhere(cm, id, 'accepted', false)
    const refused = await cm.handle(1).api.fetch('POST', `/v1/proposals/${id}/veto`, { json: { reason: 'not a guardian' } }).catch((err: { status?: number }) => err)
    expect((refused as { status?: number }).status).toBe(403)
    await cm.handle(6).api.request('POST', `/v1/proposals/${id}/veto`, { json: { reason: 'guardian says no' } })
    await statusEverywhere(cm, id, 'vetoed', false)
    for (const i of ALL) expect(cm.service(i).param('test.vetoed')).toBeUndefined()
    // its decision in Helia: the guardian's signed veto linked to the proposal
    await waitFor(() => cm.service(0).get(id).decision != null, { timeoutMs: 10_000, what: 'the vetoed decision in node 0\'s blockstore' })
    const chunks: Uint8Array[] = []
    for await (const c of cm.node(0).helia.blockstore.get(parseCid(cm.service(0).get(id).decision as string))) chunks.push(c)
    const d = dagCbor.decode<{ proposal: CID, vetoes: Uint8Array[] }>(Buffer.concat(chunks))
    expect(d.proposal.toString()).toBe(id)
    expect(d.vetoes.length).toBe(1)
    expectSameHashes(cm)
  })

  it('replayed votes are refused: again, after a restart, moved onto another proposal, signed for another network', async () => {
    const { id } = await cm.service(0).create({ kind: 'network-param', payload: { name: 'test.replay', value: true }, ttlSeconds: 8 })
    await statusEverywhere(cm, id, 'accepted')
    // a QC can form without any one voter (weights 2,2,2,2,1,1,1 of 11), so take the first of these whose vote the QC
    // carries (every node has seen those; a yes vote that reached the proposer after its QC stays with the proposer):
    // not 0 (the proposer), 2 (restarted below), 5 (equivocates later) or 6 (publishes the foreign vote later)
    const holder = await waitFor(() => [1, 4, 3].find(i => cm.service(0).entry(id).qcVoters?.includes(cm.ids[i]) === true && (cm.service(0).entry(id).votes.get(cm.ids[i]) ?? []).length > 0),
      { timeoutMs: 15_000, what: "node 0's QC to carry the vote of node 1, 4 or 3" })
    const voter = cm.ids[holder]
    const vote = (cm.service(0).entry(id).votes.get(voter) ?? [])[0]
    expect(vote).toBeDefined()
    await expect(cm.service(2).validateGossip(vote.bytes, voter)).rejects.toMatchObject({ code: 'ERR_REPLAY' })
    await cm.handle(2).restart()
    await expect(cm.service(2).validateGossip(vote.bytes, voter)).rejects.toMatchObject({ code: 'ERR_REPLAY' })
    // moved onto another proposal: the signature covers the payload
    const env = decode(vote.bytes) as Record<string, unknown>
    const payload = decode(env.p as Uint8Array) as Record<string, unknown>
    const other = cm.service(0).list({ kind: 'ban-peer' })[0].id
    const moved = encode({ ...env, p: encode({ ...payload, proposalId: other }) })
    await expect(cm.service(3).validateGossip(moved, voter)).rejects.toMatchObject({ code: 'ERR_RECORD_SIGNATURE' })
    // signed by the same key for another network: its domain is not one of ours
    const key = await loadIdentity(cm.dirs[holder])
    const foreign = await signConsensusRecord(key, 'amoy', 'vote', Date.now(), { proposalId: id, choice: 'yes', voter, network: 'amoy' })
    await expect(cm.service(3).validateGossip(foreign, voter)).rejects.toMatchObject({ code: 'ERR_DOMAIN' })
    replays = { id, voter: holder, vote: vote.bytes, moved, foreign }
    await waitFor(() => cm.service(2).chain.epoch >= cm.service(0).chain.epoch, { timeoutMs: 45_000, what: 'the restarted node to catch up' })
    expectSameHashes(cm)
  })

  it('equivocation is detected, gossiped and penalised identically on every node at the next epoch', async () => {
    const { id } = await cm.service(0).create({ kind: 'ban-peer', payload: { peerId: cm.ids[4], reason: 'equivocation test' }, ttlSeconds: 30 })
    await waitFor(() => ALL.every(i => { try { cm.service(i).get(id); return true } catch { return false } }), { timeoutMs: 45_000, what: 'the proposal everywhere' })
    const key = await loadIdentity(cm.dirs[5])
    const voter = cm.ids[5]
    const yes = await signConsensusRecord(key, 'local', 'vote', Date.now(), { proposalId: id, choice: 'yes', voter, network: 'local' })
    const no = await signConsensusRecord(key, 'local', 'vote', Date.now() + 1, { proposalId: id, choice: 'no', voter, network: 'local' })
    await cm.service(0).ingestRecord(yes)
    await cm.service(0).ingestRecord(no)
    // node 0 turns the pair into evidence and gossips it; the next epoch lists it and every node slashes node 5
    await waitFor(() => ALL.every(i => (cm.service(i).reputation().peers.find(p => p.peerId === voter)?.parts?.evidence ?? 0) > 0 ||
      cm.service(i).epochs().epochs.some(e => e.evidence.length > 0)), { timeoutMs: 45_000, what: 'an epoch listing the evidence on every node' })
    const listed = cm.service(0).epochs().epochs.find(e => e.evidence.length > 0)
    expect(listed).toBeDefined()
    // the evidence is in Helia under its id, as the pair that proves it
    const evidenceCid = parseCid(listed?.evidence[0] as string)
    await waitFor(async () => await cm.node(0).helia.blockstore.has(evidenceCid), { timeoutMs: 10_000, what: 'the evidence in node 0\'s blockstore' })
    await waitEpoch(cm, ALL, listed?.epoch ?? 0)
    for (const i of ALL) {
      const table = cm.service(i).chain.table(listed?.epoch ?? 0)
      const before = cm.service(i).chain.table((listed?.epoch ?? 1) - 1)
      const peer5 = table.peers.get(voter)?.score ?? 0n
      const peer4 = table.peers.get(cm.ids[4])?.score ?? 0n
      const before5 = before.peers.get(voter)?.score ?? 0n
      const before4 = before.peers.get(cm.ids[4])?.score ?? 0n
      // node 5 was slashed (half its score, no bonds), node 4 (same genesis weight, honest) only decayed and earned
      // bonds; their scores before may differ slightly (which yes votes made each QC decides who earns bonds), so
      // compare what each kept: node 5 under 60%, node 4 over 85%
      expect(peer5 * 100n < before5 * 60n).toBe(true)
      expect(peer4 * 100n > before4 * 85n).toBe(true)
    }
    expectSameHashes(cm)
  })

  it('a double-back (yes on two contents in one round of one epoch) is evidence: listed and slashed identically at the next epoch', async () => {
    // two attempts at a later epoch with different content in one round, and node 6 signing yes on each; node 0 takes
    // them in, finds the once-per-round rule broken and gossips the evidence. At epoch e+3 (snapshot e+2), so that nodes judge them only once
    // epoch e+2 is final, after the double-back is listed: they vote no (wrong previous hashes), node 6 too, and its
    // own no beside the yes signed with its key is an equivocation, which a later epoch lists (once per offence).
    const listed = new Set(cm.service(0).epochs().epochs.flatMap(e => e.evidence))
    const epoch = cm.service(0).chain.epoch + 3
    const now = Date.now()
    const attempt = (prev: string): Proposal => ({ kind: 'epoch', payload: { epoch, prev, accepted: [], evidence: [] }, proposer: cm.ids[2], createdAt: now, expiresAt: now + 10_000, snapshot: epoch - 1 })
    const [a, b] = [attempt('a'.repeat(64)), attempt('b'.repeat(64))]
    const proposer = await loadIdentity(cm.dirs[2])
    const key = await loadIdentity(cm.dirs[6])
    const voter = cm.ids[6]
    const records = [
      await signConsensusRecord(proposer, 'local', 'proposal', now, a),
      await signConsensusRecord(proposer, 'local', 'proposal', now + 1, b),
      await signConsensusRecord(key, 'local', 'vote', now, { proposalId: proposalId(a), choice: 'yes', voter, network: 'local' }),
      await signConsensusRecord(key, 'local', 'vote', now + 1, { proposalId: proposalId(b), choice: 'yes', voter, network: 'local' })
    ]
    for (const r of records) await cm.service(0).ingestRecord(r)
    const fresh = (i: number): Array<{ epoch: number, id: string }> => cm.service(i).epochs().epochs.flatMap(e => e.evidence.filter(id => !listed.has(id)).map(id => ({ epoch: e.epoch, id })))
    await waitFor(() => ALL.every(i => fresh(i).length > 0), { timeoutMs: 45_000, what: 'an epoch listing the double-back on every node' })
    const [{ epoch: at, id }] = fresh(0)
    expect(at).toBeLessThan(epoch)
    expect(fresh(0).filter(f => f.epoch === at)).toHaveLength(1)
    expect(new Set(ALL.map(i => JSON.stringify(fresh(i))))).toEqual(new Set([JSON.stringify(fresh(0))]))
    // the evidence in Helia under its id: the two votes with the two proposals they back
    await waitFor(async () => await cm.node(0).helia.blockstore.has(parseCid(id)), { timeoutMs: 10_000, what: 'the double-back evidence in node 0\'s blockstore' })
    const chunks: Uint8Array[] = []
    for await (const c of cm.node(0).helia.blockstore.get(parseCid(id), { signal: AbortSignal.timeout(5000) })) chunks.push(c)
    expect((dagCbor.decode<{ proposals?: Uint8Array[] }>(Buffer.concat(chunks)).proposals ?? []).length).toBe(2)
    await waitEpoch(cm, ALL, at)
    for (const i of ALL) {
      const kept = cm.service(i).chain.table(at).peers.get(voter)?.score ?? 0n
      const before = cm.service(i).chain.table(at - 1).peers.get(voter)?.score ?? 0n
      expect(kept * 100n < before * 60n).toBe(true) // slashed: half its score, no bonds
    }
    expectSameHashes(cm)
  })

  // last in this mesh: the refusals cost the replaying node its gossipsub standing (invalid deliveries)
  it('replayed votes sent through real gossip once every seen-cache expired are refused and counted once', async () => {
    expect(replays).toBeDefined()
    if (replays == null) return
    const { id, voter, vote, moved, foreign } = replays
    // each record from its own publisher: a refusal costs the node that delivered it gossipsub standing (invalid
    // deliveries count squared), so three from one node could meet a graylist before the third (it failed so twice).
    // The replayed vote comes from the voter's node (a replay costs its signer, not a relay); the moved and foreign ones
    // fail their signature or domain first. Node 5 is left out: it equivocated above.
    const sends = [{ from: voter, bytes: vote, code: 'ERR_REPLAY' }, { from: 0, bytes: moved, code: 'ERR_RECORD_SIGNATURE' }, { from: 6, bytes: foreign, code: 'ERR_DOMAIN' }]
    const subscribed = (from: number): number[] => {
      const subs = cm.node(from).libp2p.services.pubsub.getSubscribers(CONSENSUS_TOPIC).map(p => p.toString())
      return ALL.filter(i => i !== from && i !== voter && subs.includes(cm.ids[i]))
    }
    await waitFor(() => sends.every(s => subscribed(s.from).length >= 3), { timeoutMs: 30_000, what: 'every publisher to see 3 others subscribed' })
    const direct = sends.map(s => subscribed(s.from))
    const before = await Promise.all(sends.map(async (s, k) => await Promise.all(direct[k].map(async i => await gossipRefusals(cm, i, s.code)))))
    // gossip messages are named by their content: expire every node's seen-cache (what 2 minutes would do), so the
    // replayed bytes travel again and reach the validators
    for (const i of ALL) (cm.node(i).libp2p.services.pubsub as unknown as { seenCache: { clear: () => void } }).seenCache.clear()
    await Promise.all(sends.map(async s => { await cm.node(s.from).gossip.publish(CONSENSUS_TOPIC, s.bytes) }))
    await waitFor(async () => {
      const now = await Promise.all(sends.map(async (s, k) => await Promise.all(direct[k].map(async i => await gossipRefusals(cm, i, s.code)))))
      // each record refused by at least 3 of the nodes it was sent to: a receiver may miss one altogether (the
      // publisher's flood publish skips a peer it scores below its publish threshold, and a refused record is never
      // forwarded); the restarted node's own refusal of the replay is checked directly in the test before this one
      const short = sends.flatMap((s, k) => {
        const refused = direct[k].filter((_, j) => now[k][j] > before[k][j])
        return refused.length >= 3 ? [] : [`${s.code} (from ${s.from}) refused by ${refused.join(',') || 'none'} of ${direct[k].join(',')}`]
      })
      if (short.length > 0) throw new Error(`not refused yet: ${short.join('; ')}`)
      return true
    }, { timeoutMs: 30_000, what: `nodes ${direct.map(d => d.join(',')).join(' / ')} to refuse the replayed, moved and foreign votes` })
    // nothing was counted twice: every node holds the voter's one vote on the replayed proposal
    for (const i of ALL) expect(cm.service(i).entry(id).votes.get(cm.ids[voter])?.length).toBe(1)
  })
})
