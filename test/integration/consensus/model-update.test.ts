/**
 * Seals through consensus (`training.sealVoting: 'consensus'`): 4 in-process nodes, pre-trusted with equal scores,
 * run a 2-round digits job. Each round's seal is a `model-update` proposal to the round's electorate; every node
 * adopts the model its QC accepted; the epoch that lists the seals credits their contributors' work, identically on
 * every node (one reputation hash), and exactly `workUnit` per contribution beyond what decay and bonds give.
 *
 * Round 0's first aggregator (the smallest peer id, all reputations equal) is the 'wrong-seal' adversary: it trains
 * honestly but seals a perturbed aggregate. The electorate votes its proposal down, and the next aggregator's correct
 * seal is the one accepted.
 *
 * One node other than the creator is configured `training.sealVoting: majority`: the job's spec names the creator's
 * mode (consensus), and that node follows the job, not its own setting (it votes in consensus on every seal).
 */
import { describe, it, expect, afterAll } from 'vitest'
import { defaultReputationParams, nextWeights, type EpochPayload, type ProposalView } from '../../../src/consensus/index.js'
import type { JobView } from '../../../src/training/service/api-types.js'
import { waitFor } from '../../harness/index.js'
import { commonHashes, smallDigitsJob, startConsensusMesh, type ConsensusMesh } from './helpers.js'

const NODES = [0, 1, 2, 3]
const THETA = defaultReputationParams.probationThreshold
// large enough that two contributions outweigh an epoch's decay: the contributors' scores visibly rise
const WORK_UNIT = 20_000_000n

const job = smallDigitsJob(4)
/** The node set to `sealVoting: majority`: the largest peer id among the nodes other than node 0 (the job's creator). */
const holdoutOf = (ids: readonly string[]): string => ids.filter((_, k) => k !== 0).sort().at(-1) as string

describe('model-update: round seals accepted by QCs, work credited by the epoch chain', () => {
  let cm: ConsensusMesh
  afterAll(async () => { await cm?.mesh.close() })

  const t0 = Date.now()
  it('4 nodes adopt the same QC\'d models and the next epoch raises the contributors\' weights alike', async () => {
    cm = await startConsensusMesh(NODES.map(() => 15n * THETA), {
      genesisParams: { workUnit: String(WORK_UNIT) },
      others: (i, ids) => ({
        training: {
          sealVoting: ids[i] === holdoutOf(ids) ? 'majority' as const : 'consensus' as const,
          ...(ids[i] === [...ids].sort()[0] ? { adversary: 'wrong-seal' as const } : {})
        }
      })
    })
    const liar = [...cm.ids].sort()[0]
    const holdout = holdoutOf(cm.ids)
    const mark = (what: string): void => { if (process.env.MESHNODE_TEST_TIMING === '1') console.log(`${what}: ${Date.now() - t0} ms`) }
    mark('mesh up')
    const api = (i: number): ConsensusMesh['mesh']['nodes'][number]['api'] => cm.handle(i).api
    const { id } = await api(0).request<{ id: string }>('POST', '/v1/training/jobs', { json: job })
    await waitFor(async () => (await Promise.all(NODES.map(async i => await api(i).fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { timeoutMs: 30_000, what: 'the job on every node' })
    await Promise.all(NODES.map(async i => await api(i).request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 4, seed: 3 } } })))

    mark('joined')
    const views = await waitFor(async () => {
      const vs = await Promise.all(NODES.map(async i => await api(i).request<JobView>('GET', `/v1/training/jobs/${id}`)))
      return vs.every(v => v.status === 'finished') ? vs : undefined
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'the job to finish on every node' })
    mark(`job finished (rounds ${views[0].rounds.map(r => r.durationMs).join(', ')} ms)`)
    // one model per round on every node
    for (const r of [0, 1]) expect(new Set(views.map(v => v.rounds.find(x => x.round === r)?.modelCid)).size, `round ${r}`).toBe(1)
    const models = [0, 1].map(r => views[0].rounds.find(x => x.round === r)?.modelCid)
    expect(views.map(v => v.spec.sealVoting)).toEqual(NODES.map(() => 'consensus'))

    // each adopted model is the aggregate of a model-update proposal accepted with a QC of >= 3 of the 4 voters, on
    // every node, naming all 4 as the round's electorate
    const sealOf = (i: number, round: number): ProposalView | undefined => cm.service(i).list({ kind: 'model-update', status: 'accepted' })
      .find(p => (p.payload as { jobId: string, round: number }).jobId === id && (p.payload as { round: number }).round === round)
    for (const i of NODES) {
      for (const r of [0, 1]) {
        const p = sealOf(i, r)
        expect(p, `node ${i} round ${r}`).toBeDefined()
        const payload = p?.payload as { aggregateCid: string, electorate: string[], deltas: Array<{ peerId: string }> }
        expect(payload.aggregateCid).toBe(models[r])
        expect(payload.electorate).toEqual([...cm.ids].sort())
        expect(p?.certificate?.voters.length ?? 0, `node ${i} round ${r} QC`).toBeGreaterThanOrEqual(3)
      }
    }
    const sealIds = [0, 1].map(r => sealOf(0, r)?.id as string)
    // the node set to majority voted on both accepted seals through consensus: it followed the job's mode (its own
    // view: a yes vote goes to the seal's proposer alone, and the QC may have formed without it)
    const own = cm.ids.indexOf(holdout)
    await waitFor(() => sealIds.every(s => cm.service(own).get(s)?.votes.some(v => v.voter === holdout && v.choice === 'yes')) || undefined,
      { timeoutMs: 20_000, what: 'the majority-configured node\'s consensus votes on both seals' })

    // the liar's seal of round 0 was voted down everywhere; a later aggregator's correct seal is the one accepted
    for (const i of NODES) {
      const round0 = cm.service(i).list({ kind: 'model-update' }).filter(p => (p.payload as { jobId: string, round: number }).jobId === id && (p.payload as { round: number }).round === 0)
      const bad = round0.filter(p => p.proposer === liar)
      expect(bad.length, `node ${i}: the liar's proposals`).toBeGreaterThanOrEqual(1)
      for (const p of bad) {
        expect(p.status, `node ${i}`).toBe('rejected')
        expect((p.payload as { aggregateCid: string }).aggregateCid).not.toBe(models[0])
      }
      // attempt 1 unless that aggregator re-proposed the liar's lock before it counted a majority against it
      expect((sealOf(i, 0)?.payload as { attempt: number }).attempt).toBeGreaterThanOrEqual(1)
    }

    // the epochs that list both seals, on every node, with the same hash
    await waitFor(() => NODES.every(i => sealIds.every(s => cm.service(i).chain.entries.some(e => e.accepted.includes(s)))), { timeoutMs: 20_000, what: 'an epoch listing both seals on every node' })
    const upTo = Math.max(...NODES.map(i => Math.max(...sealIds.map(s => cm.service(i).chain.entries.findIndex(e => e.accepted.includes(s)) + 1))))
    await waitFor(() => NODES.every(i => cm.service(i).chain.epoch >= upTo), { timeoutMs: 20_000, what: `epoch ${upTo} on every node` })
    mark('epochs listing the seals')
    const { hashes } = commonHashes(cm, NODES)
    expect(new Set(hashes).size).toBe(1)
    for (const i of NODES) expect(cm.service(i).chain.hash(upTo)).toBe(cm.service(0).chain.hash(upTo))

    // in each epoch that lists seals: each contributor's score is exactly `workUnit` per contribution above the same
    // transition without the seals (decay and bonds alike), and above its score before the epoch
    const chain = cm.service(0).chain
    let credited = 0
    for (let e = 1; e <= upTo; e++) {
      const entry = chain.entries[e - 1]
      const payload = cm.service(0).get(entry.proposalId).payload as EpochPayload
      const seals = payload.seals ?? []
      if (seals.length === 0) continue
      const outcomes = payload.accepted.map(a => ({ proposalId: a.id, outcome: 'accepted' as const, votes: a.voters.map(voter => ({ voter, choice: 'yes' as const })) }))
      const without = nextWeights(chain.table(e - 1), { seals: [], outcomes, evidence: [] }, chain.params(e - 1)).table
      // one credit per peer per job round (two accepted attempts of one round would credit once)
      const rounds = new Map<string, Set<number>>()
      for (const s of seals) {
        expect(s.jobId).toBe(id)
        expect(s.contributors).toEqual([...cm.ids].sort())
        // the electorate travels with the work: the credit rule checks round 1's against round 0's contributors
        expect(s.electorate).toEqual([...cm.ids].sort())
        for (const c of s.contributors) rounds.set(c, new Set([...(rounds.get(c) ?? []), s.round]))
      }
      for (const [peer, set] of rounds) {
        const n = set.size
        const score = chain.table(e).peers.get(peer)?.score ?? 0n
        expect(score - (without.peers.get(peer)?.score ?? 0n), `${peer} in epoch ${e}`).toBe(WORK_UNIT * BigInt(n))
        expect(score).toBeGreaterThan(chain.table(e - 1).peers.get(peer)?.score ?? 0n)
        credited += n
      }
    }
    expect(credited).toBe(2 * NODES.length)
    // the credit ledger (once per (job, round), core/credit.ts) is the same on every node at the same epoch
    await waitFor(() => new Set(NODES.map(i => `${cm.service(i).chain.epoch} ${cm.service(i).chain.creditsHash()}`)).size === 1, { timeoutMs: 20_000, what: 'one credit ledger hash' })
  }, 120_000)
})
