/**
 * Sybils: 6 established honest nodes whose weight is earned through verified work, against 14 fresh identities.
 *
 * History. The 6 real nodes run a 2-round digits job with seals through consensus (`training.sealVoting:
 * 'consensus'`): each round's seal is a `model-update` proposal accepted by a QC, the epoch chain lists the accepted
 * seals, and its credit ledger (core/credit.ts) credits each contributor `workUnit` once per (job, round). That credit
 * is what the honest weight the cap is checked against is made of: the test replays node 0's chain with the nodes' own
 * epoch step, checks that the replay hashes like every finalized epoch, and shows each honest node's work in the
 * score parts `GET /v1/reputation/{peerId}` renders (`reputationRows`), and that at the attack's snapshot at least 4/5
 * of each honest score is earned (the same chain replayed without any seal leaves less than a fifth).
 *
 * Genesis is still needed to bootstrap: the epoch chain finalizes epochs by QCs of its members, so a mesh whose genesis
 * names nobody has no electorate for its first epoch, and the seals would never be listed. The 6 honest nodes are
 * pre-trusted with a small bootstrap score (1.25x the probation threshold), kept established with a slow decay (0.3% per
 * epoch) until their work is credited (below the threshold, with the sybils' scores in the table, the chain would fall back
 * to head count, where 14 identities outvote 6).
 *
 * The sybils are identities with no training history. As the worst case for the cap, each is named in genesis with a
 * score just below the probation threshold (as if it had earned a little); together they hold more raw score than
 * the probation pool allows even against the honest nodes' earned weight (a fresh identity outside genesis weighs
 * nothing until its work is accepted; bench/fixtures/sybil-scenario.ts covers sybils that earn through work, 14 and
 * 140). They are lightweight in-process libp2p peers (the node's own libp2p stack, no meshnode services) that join
 * after the job and speak the consensus gossip with their own keys and records signed exactly as the service signs
 * them, so every record goes through the real gossip validation, tally and epoch chain of the 6 real nodes.
 *
 * Checked: the sybils' share of every epoch's voting weight is <= 10% (and > 0: capped, not absent) on every honest
 * node, and no epoch fell back to head count; their proposals (yes from all 14) never pass; an honest proposal they
 * all vote against still passes with a QC; every honest node ends with the same reputation hash and credit ledger.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import {
  CONSENSUS_TOPIC, defaultReputationParams, emptyCreditLedger, epochStep, proposalId, reputationHash, reputationRows, signConsensusRecord,
  type ChainState, type EpochPayload, type EpochRecords, type Proposal, type ScoreParts, type VoteChoice
} from '../../../src/consensus/index.js'
import type { JobView } from '../../../src/training/service/api-types.js'
import { waitFor } from '../../harness/index.js'
import { commonHashes, smallDigitsJob, startConsensusMesh, waitEpoch, type ConsensusMesh } from './helpers.js'

const HONEST = [0, 1, 2, 3, 4, 5]
const SYBILS = 14
const THETA = defaultReputationParams.probationThreshold
const BOOTSTRAP = THETA + THETA / 4n
const SYBIL_SCORE = THETA - THETA / 20n // below the threshold: on probation whatever its age
// one credited contribution is 6 thresholds: two rounds of work outweigh the bootstrap about ten to one
const WORK_UNIT = 6n * THETA

const job = smallDigitsJob(HONEST.length)

interface Sybil { key: PrivateKey, id: string, p2p?: MeshLibp2p, seq: number }

/** Sign a consensus record with the sybil's key (the service's own signing) and publish it from the sybil's peer. */
async function send (s: Sybil, type: 'proposal' | 'vote', payload: Proposal | { proposalId: string, choice: VoteChoice, voter: string, network: string }): Promise<void> {
  s.seq = Math.max(s.seq + 1, Date.now())
  const bytes = type === 'proposal'
    ? await signConsensusRecord(s.key, 'local', 'proposal', s.seq, payload as Proposal)
    : await signConsensusRecord(s.key, 'local', 'vote', s.seq, payload as { proposalId: string, choice: VoteChoice, voter: string, network: string })
  await s.p2p?.services.pubsub.publish(CONSENSUS_TOPIC, bytes)
}

/** The sybils' share of epoch e's voting weight on node i, in basis points. */
function sybilShareBps (cm: ConsensusMesh, i: number, e: number, sybils: Set<string>): bigint {
  const w = cm.service(i).chain.electorate(e)
  let mine = 0n
  for (const [peer, weight] of w.weights) if (sybils.has(peer)) mine += weight
  return w.total === 0n ? 0n : mine * 10_000n / w.total
}

/** Honest node h dials the sybil, a few times if a loaded machine drops the opening. */
async function dialRetrying (cm: ConsensusMesh, h: number, p2p: MeshLibp2p): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await cm.node(h).libp2p.dial(multiaddr(p2p.getMultiaddrs()[0]))
      return
    } catch {
      await new Promise(resolve => setTimeout(resolve, 500 * (attempt + 1)))
    }
  }
}

/**
 * Node i's chain replayed from genesis with the nodes' own epoch step (the credit ledger, then the transition), from
 * the finalized epoch payloads; with `seals: false`, the same chain with no work at all. Per epoch: the table's hash
 * and every peer's score parts.
 */
const t0 = Date.now()
/** With MESHNODE_TEST_TIMING=1, print how long each phase took and the figures checked. */
const mark = (what: string): void => { if (process.env.MESHNODE_TEST_TIMING === '1') console.log(`${what}: ${Date.now() - t0} ms`) }

function replay (cm: ConsensusMesh, i: number, upTo: number, seals: boolean): Array<{ hash: string, scores: Map<string, bigint>, parts: Map<string, ScoreParts>, state: ChainState }> {
  const chain = cm.service(i).chain
  let state: ChainState = { table: chain.table(0), credits: emptyCreditLedger }
  const out = []
  for (let e = 1; e <= upTo; e++) {
    const p = cm.service(i).get(chain.entries[e - 1].proposalId).payload as EpochPayload
    expect(p.evidence, `epoch ${e} lists no evidence`).toEqual([])
    const records: EpochRecords = {
      seals: seals ? (p.seals ?? []).map(x => ({ jobId: x.jobId, round: x.round, contributors: x.contributors, ...(x.electorate != null ? { electorate: x.electorate } : {}) })) : [],
      outcomes: p.accepted.map(a => ({ proposalId: a.id, outcome: 'accepted' as const, votes: a.voters.map(voter => ({ voter, choice: 'yes' as const })) })),
      evidence: []
    }
    const step = epochStep(state, records, chain.params(e - 1))
    state = { table: step.table, credits: step.credits }
    out.push({ hash: reputationHash(step.table), scores: new Map([...step.table.peers].map(([p, x]) => [p, x.score])), parts: step.parts, state })
  }
  return out
}

describe('6 honest nodes that earned their weight by training, against 14 fresh identities', () => {
  let cm: ConsensusMesh
  const sybils: Sybil[] = []
  let jobId = ''
  let sealIds: string[] = []
  beforeAll(async () => {
    for (let k = 0; k < SYBILS; k++) {
      const key = await generateKeyPair('Ed25519')
      sybils.push({ key, id: peerIdFromPrivateKey(key).toString(), seq: 0 })
    }
    cm = await startConsensusMesh(HONEST.map(() => BOOTSTRAP), {
      extraPretrusted: sybils.map(s => ({ peerId: s.id, score: SYBIL_SCORE })),
      genesisParams: { workUnit: String(WORK_UNIT), decayBps: '30', bondBps: '15' },
      consensus: { policies: { 'network-param': { mode: 'auto' } } },
      others: () => ({ training: { sealVoting: 'consensus' } })
    })
    // generous: 6 nodes starting together on a loaded 2-core machine
    await waitEpoch(cm, HONEST, 1, 90_000)
    mark('mesh up, epoch 1')

    // the history: a real 2-round job on all 6, its seals accepted by QCs
    const api = (i: number): ConsensusMesh['mesh']['nodes'][number]['api'] => cm.handle(i).api
    jobId = (await api(0).request<{ id: string }>('POST', '/v1/training/jobs', { json: job })).id
    await waitFor(async () => (await Promise.all(HONEST.map(async i => await api(i).fetch('GET', `/v1/training/jobs/${jobId}`).then(() => true, () => false)))).every(Boolean), { timeoutMs: 30_000, what: 'the job on every node' })
    await Promise.all(HONEST.map(async i => await api(i).request('POST', `/v1/training/jobs/${jobId}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: HONEST.length, seed: 3 } } })))
    await waitFor(async () => (await Promise.all(HONEST.map(async i => await api(i).request<JobView>('GET', `/v1/training/jobs/${jobId}`)))).every(v => v.status === 'finished'),
      { timeoutMs: 150_000, intervalMs: 500, what: 'the job to finish on every node' })
    mark('job finished')
    const sealOf = (i: number, round: number): string | undefined => cm.service(i).list({ kind: 'model-update', status: 'accepted' })
      .find(p => (p.payload as { jobId: string }).jobId === jobId && (p.payload as { round: number }).round === round)?.id
    sealIds = [0, 1].map(r => sealOf(0, r) ?? '')
    expect(sealIds.every(s => s !== '')).toBe(true)
    // ...and listed by the epoch chain on every node: the work is credited
    await waitFor(() => HONEST.every(i => sealIds.every(s => cm.service(i).chain.entries.some(e => e.accepted.includes(s)))), { timeoutMs: 45_000, what: 'an epoch listing both seals on every node' })
    mark(`seals credited by epoch ${cm.service(0).chain.epoch}`)

    // then the sybils join: each is dialled by two honest nodes (dialling out keeps clear of the 5-per-second inbound guard)
    for (const [k, s] of sybils.entries()) {
      const p2p = s.p2p = await createMeshLibp2p({ privateKey: s.key, listen: ['/ip4/127.0.0.1/tcp/0'], ipColocationThreshold: 1000 })
      cm.mesh.defer(async () => { await p2p.stop() })
      p2p.services.pubsub.subscribe(CONSENSUS_TOPIC)
      for (const h of [k % 6, (k + 3) % 6]) void dialRetrying(cm, h, p2p)
    }
    // gossip carries a sybil's records to every honest node from the first honest peer it has
    await waitFor(() => sybils.every(s => (s.p2p?.services.pubsub.getSubscribers(CONSENSUS_TOPIC).length ?? 0) >= 1), { timeoutMs: 60_000, what: 'every sybil to see an honest subscriber' })
    mark('sybils joined')
  }, 330_000)
  afterAll(async () => { await cm?.mesh.close() })

  it('their share stays <= 10% in every epoch, none of their proposals passes, an honest one they oppose passes', async () => {
    const ids = new Set(sybils.map(s => s.id))
    const honestIds = HONEST.map(i => cm.ids[i])

    // three sybil proposals: ban an honest node; all 14 sybils vote yes on each
    const epoch = cm.service(0).chain.epoch
    const now = Date.now()
    const theirs = await Promise.all([0, 1, 2].map(async k => {
      const p: Proposal = { kind: 'ban-peer', payload: { peerId: cm.ids[k], reason: 'sybil attack' }, proposer: sybils[k].id, createdAt: now, expiresAt: now + 8000, snapshot: epoch }
      await send(sybils[k], 'proposal', p)
      return proposalId(p)
    }))
    // an honest proposal (ban-peer is `manual`: the honest operators vote by hand, after the sybils voted against it)
    const { id: honest } = await cm.service(0).create({ kind: 'ban-peer', payload: { peerId: sybils[13].id, reason: 'sybil' }, ttlSeconds: 20 })
    const known = (id: string): boolean => HONEST.every(i => { try { cm.service(i).get(id); return true } catch { return false } })
    await waitFor(() => [...theirs, honest].every(known), { timeoutMs: 30_000, what: 'every proposal on every honest node' })
    const snapshot = cm.service(0).get(honest).snapshot
    for (const s of sybils) {
      for (const id of theirs) await send(s, 'vote', { proposalId: id, choice: 'yes', voter: s.id, network: 'local' })
      await send(s, 'vote', { proposalId: honest, choice: 'no', voter: s.id, network: 'local' })
    }
    // every honest node counted the sybils' votes (they passed the real validation)...
    const sybilVotes = (i: number, id: string): number => [...cm.service(i).entry(id).votes.keys()].filter(v => ids.has(v)).length
    await waitFor(() => HONEST.every(i => [...theirs, honest].every(id => sybilVotes(i, id) === SYBILS)), { timeoutMs: 30_000, what: 'the sybils\' votes on every honest node' })
    // 5 of the 6 honest operators: 75% of the weight with the sybils' 10% against (4 of 6 would be 60%, short of 2/3)
    for (const i of [1, 2, 3, 4]) await cm.service(i).vote(honest, 'yes')
    // ...and still: the honest proposal passes with a QC, theirs expire everywhere
    await waitFor(() => HONEST.every(i => cm.service(i).get(honest).status === 'accepted'), { timeoutMs: 30_000, what: 'the honest proposal accepted everywhere' })
    await waitFor(() => HONEST.every(i => theirs.every(id => cm.service(i).get(id).status === 'expired')), { timeoutMs: 30_000, what: 'the sybil proposals expired everywhere' })
    for (const i of HONEST) {
      const v = cm.service(i).get(honest)
      expect(BigInt(v.tally.no)).toBeGreaterThan(0n)
      expect(v.certificate?.voters.every(p => !ids.has(p))).toBe(true)
      for (const id of theirs) {
        const t = cm.service(i).get(id).tally
        expect(BigInt(t.yes)).toBeGreaterThan(0n)
        expect(BigInt(t.yes) * 10n).toBeLessThanOrEqual(BigInt(t.weightTotal))
        expect(cm.service(i).get(id).executed).toBe(false)
      }
    }
    // an epoch that lists the outcome, then: <= 10% in every epoch, on every honest node, and one hash
    await waitFor(() => HONEST.every(i => cm.service(i).get(honest).epoch != null), { timeoutMs: 45_000, what: 'an epoch listing the honest proposal' })
    await waitEpoch(cm, HONEST, cm.service(0).get(honest).epoch ?? 0)
    const { epoch: top, hashes } = commonHashes(cm, HONEST)
    expect(new Set(hashes).size).toBe(1)
    await waitFor(() => new Set(HONEST.map(i => `${cm.service(i).chain.epoch} ${cm.service(i).chain.creditsHash()}`)).size === 1, { timeoutMs: 20_000, what: 'one credit ledger hash' })
    mark(`honest proposal listed, epoch ${top}; sybil share per epoch (bps, node 0): ${Array.from({ length: top + 1 }, (_, e) => sybilShareBps(cm, 0, e, ids)).join(',')}`)
    for (const i of HONEST) {
      for (let e = 0; e <= top; e++) {
        const share = sybilShareBps(cm, i, e, ids)
        expect(share, `node ${i} epoch ${e}`).toBeLessThanOrEqual(1000n)
        expect(share, `node ${i} epoch ${e}`).toBeGreaterThan(0n) // still there, still capped
        expect(cm.service(i).chain.electorate(e).headCount, `node ${i} epoch ${e}`).toBe(false)
      }
    }

    // the honest weight is earned: node 0's chain replayed with the nodes' own epoch step hashes like every
    // finalized epoch, and credits each honest node both rounds of the job
    const withWork = replay(cm, 0, top, true)
    withWork.forEach((x, k) => expect(x.hash, `replayed epoch ${k + 1}`).toBe(cm.service(0).chain.hash(k + 1)))
    const chain = cm.service(0).chain
    for (const id of honestIds) {
      let contributions = 0
      for (let e = 1; e <= top; e++) {
        // the parts as GET /v1/reputation/{peerId} renders them at epoch e
        const row = reputationRows(chain.table(e), chain.params(e), withWork[e - 1].parts).find(r => r.peerId === id)
        if ((row?.parts?.contributions ?? 0) > 0) {
          expect(row?.parts?.work).toBe(WORK_UNIT * BigInt(row?.parts?.contributions ?? 0))
          contributions += row?.parts?.contributions ?? 0
        }
      }
      expect(contributions, `${id}: one credit per round of the job`).toBe(2)
      expect(cm.service(0).reputationOf(id).peer.probation).toBe(false)
    }
    // ...and makes most of it: without the seals, at the attack's snapshot each honest score would be under a fifth
    const noWork = replay(cm, 0, snapshot, false)
    const at = withWork[snapshot - 1].scores
    for (const id of honestIds) {
      const earned = (at.get(id) ?? 0n) - (noWork[snapshot - 1].scores.get(id) ?? 0n)
      mark(`${id.slice(-6)} at epoch ${snapshot}: earned ${earned * 100n / (at.get(id) ?? 1n)}% of its score`)
      expect(earned * 5n, `${id} at epoch ${snapshot}`).toBeGreaterThanOrEqual(4n * (at.get(id) ?? 0n))
    }
    // the cap binds against that earned weight: raw, the sybils hold more than 10% of the attack snapshot's scores
    let raw = 0n; let all = 0n
    for (const [peer, score] of at) { all += score; if (ids.has(peer)) raw += score }
    mark(`sybils' raw share at epoch ${snapshot}: ${raw * 10_000n / all} bps`)
    expect(raw * 10_000n / all).toBeGreaterThan(1000n)
  }, 180_000)
})
