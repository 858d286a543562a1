/**
 * Issue 11: a voter lost for good must not stall a job, with real processes. Nodes 0 (the creator) and 1 start the job
 * alone, so every round's electorate is {0, 1}; node 1 is SIGKILLed and never restarted (or leaves with `train
 * leave`), and node 2 joins. The round then has deltas from 0 and 2 but only one of its two voters: no majority. The
 * creator's electorate record (src/training/round/electorate.ts) names the live half, node 0 seals alone, and the job
 * finishes on nodes 0 and 2 with one model per round.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

const SLOW = process.env.MESHNODE_SLOW_TESTS === '1'
const FAST = { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 1000, capMs: 4000, sealTimeoutMs: 2500 }
const ROUNDS = 5

const job: CreateJobRequest = {
  model: { arch: 'mlp', layers: [32, 10], seed: 11 },
  dataset: 'digits',
  rounds: ROUNDS,
  minParticipants: 2,
  // ~0.5 s of local training per round: the victim, killed right after round 0 is seen sealed, must not have
  // delivered its round-1 delta yet (with 1 epoch it trained round 1 in ~50 ms, before the kill landed; that other
  // case, a lost voter whose delta is already in the round, is not what this test is about)
  localEpochs: 10,
  batchSize: 20,
  learningRate: 0.1,
  aggregation: 'fedavg',
  compression: 'fp32',
  timing: FAST
}

async function view (n: NodeHandle, id: string): Promise<JobView> {
  return await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)
}

async function join (n: NodeHandle, id: string, index: number): Promise<void> {
  await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index, of: 3, seed: 5 } } })
}

async function lostVoter (how: 'sigkill' | 'leave'): Promise<void> {
  mesh = await Mesh.start(3, { mode: 'process' })
  const [creator, victim, late] = mesh.nodes
  const { id } = await creator.api.request<{ id: string }>('POST', '/v1/training/jobs', { json: job })
  await waitFor(async () => (await Promise.all(mesh?.nodes.map(async x => await x.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)) ?? [])).every(Boolean), { what: 'the job on every node' })
  await Promise.all([join(creator, id, 0), join(victim, id, 1)])
  // round 0 sealed by the two of them: round 1's electorate is exactly {creator, victim}
  const r0 = await waitFor(async () => {
    const v = await view(creator, id)
    return v.rounds.some(r => r.round === 0) ? v : undefined
  }, { timeoutMs: 60_000, intervalMs: 100, what: 'round 0 sealed' })
  expect(r0.rounds[0].contributors?.sort()).toEqual([creator.peerId, victim.peerId].sort())
  if (how === 'sigkill') await victim.kill()
  else await victim.api.request('POST', `/v1/training/jobs/${id}/leave`)
  await join(late, id, 2)

  const vs = await waitFor(async () => {
    const v = await Promise.all([view(creator, id), view(late, id)])
    return v.every(x => x.status === 'finished') ? v : undefined
  }, { timeoutMs: 150_000, intervalMs: 500, what: 'the job to finish on the two nodes left' })
  for (let r = 0; r < ROUNDS; r++) {
    const hashes = vs.map(v => v.rounds.find(x => x.round === r)?.modelHash)
    expect(hashes[0], `round ${r}`).toBeDefined()
    expect(new Set(hashes).size, `round ${r}`).toBe(1)
  }
  // the first round without the victim had it and the creator as its only voters (the round before lists just them):
  // no majority was possible, so the creator sealed it alone after its electorate record, from the live nodes' deltas
  const first = vs[0].rounds.find(r => r.contributors?.includes(victim.peerId) !== true)
  expect(first, JSON.stringify(vs[0].rounds)).toBeDefined()
  const before = vs[0].rounds.find(r => r.round === (first?.round ?? 0) - 1)
  expect(before?.contributors?.sort()).toEqual([creator.peerId, victim.peerId].sort())
  expect(first?.aggregator).toBe(creator.peerId)
  expect(first?.attempt).toBeGreaterThanOrEqual(4)
  expect(first?.contributors?.sort()).toEqual([creator.peerId, late.peerId].sort())
}

describe('a voter lost for good (real processes, 3 nodes, minParticipants 2)', () => {
  it('SIGKILLed and never restarted: the creator names the live half and the job finishes on the other two', async () => {
    await lostVoter('sigkill')
  }, 240_000)

  it.runIf(SLOW)('leaves with `train leave`: the same', async () => {
    await lostVoter('leave')
  }, 240_000)
})
