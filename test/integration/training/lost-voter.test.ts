/**
 * Issue 11: a voter lost for good must not stall a job, with real processes. Nodes 0 (the creator) and 1 start the job
 * alone, so every round's electorate is {0, 1}; node 1 is SIGKILLed and never restarted (or leaves with `train
 * leave`), and node 2 joins. The round then has deltas from 0 and 2 but only one of its two voters: no majority. The
 * creator's electorate record (src/training/round/electorate.ts) names the live half, node 0 seals alone, and the job
 * finishes on nodes 0 and 2 with one model per round.
 *
 * The other case: node 1 delivers its round-1 delta and dies before anyone fetched it. Round 1 closed on the two
 * deltas, the creator's fetch of node 1's times out and is refused, and the closed round is one delta short; node 2,
 * which joined after the close, trains it late (src/training/round/progress.ts train()) and completes it. That case
 * runs with MESHNODE_SLOW_TESTS=1 (it costs as much as the first); in CI the round machine's transitions are covered by
 * test/unit/training/round/late-delta.test.ts (table and simulation).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
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
  // case, a lost voter whose delta is already in the round, is `lostAfterDelivering` below)
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

/** Restart a process node with `training.adversary` set in its config file (same data directory, same identity). */
async function restartAs (n: NodeHandle, adversary: string): Promise<void> {
  const file = joinPath(n.dataDir, 'config.yaml')
  const config = parseYaml(await readFile(file, 'utf8')) as Record<string, unknown>
  await writeFile(file, toYaml({ ...config, training: { ...(config.training as object | undefined), adversary } }))
  await n.restart()
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

/**
 * The victim delivers its round-1 delta, then is SIGKILLed before anyone fetched it. Its bytes are made unfetchable
 * (restarted with the `unfetchable` adversary once round 0 is sealed, before it trains round 1), so the kill always
 * lands first; with an honest delta that is a race the kill mostly loses (2 runs of 7 stalled before the fix). A short
 * fetch timeout keeps the refusal quick (the default is 60 s).
 */
async function lostAfterDelivering (): Promise<void> {
  // round 1 is the one that loses a delta; one round is enough to show the job finishing after it
  const rounds = 2
  mesh = await Mesh.start(3, { mode: 'process', config: { storage: { fetchTimeoutMs: 4000 } } })
  const [creator, victim, late] = mesh.nodes
  const { id } = await creator.api.request<{ id: string }>('POST', '/v1/training/jobs', { json: { ...job, rounds, localEpochs: 20 } })
  await waitFor(async () => (await Promise.all(mesh?.nodes.map(async x => await x.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)) ?? [])).every(Boolean), { what: 'the job on every node' })
  await Promise.all([join(creator, id, 0), join(victim, id, 1)])
  // the victim starts training round 1 as round 0 is sealed (~1 s at 20 epochs): it is killed for the restart first
  await waitFor(async () => (await view(creator, id)).rounds.some(r => r.round === 0) ? true : undefined, { timeoutMs: 60_000, intervalMs: 50, what: 'round 0 sealed' })
  await restartAs(victim, 'unfetchable')
  // round 1 closes on the creator once the victim's delta is in (the two are all its participants)
  const closed = await waitFor(async () => {
    const v = await view(creator, id)
    return v.round === 1 && v.phase === 'sealing' ? v : undefined
  }, { timeoutMs: 60_000, intervalMs: 100, what: 'round 1 closed on the victim\'s delta' })
  expect(closed.participants.sort()).toEqual([creator.peerId, victim.peerId].sort())
  await victim.kill()
  await join(late, id, 2)

  const vs = await waitFor(async () => {
    const v = await Promise.all([view(creator, id), view(late, id)])
    return v.every(x => x.status === 'finished') ? v : undefined
  }, { timeoutMs: 150_000, intervalMs: 500, what: 'the job to finish on the two nodes left' })
  for (let r = 0; r < rounds; r++) {
    const hashes = vs.map(v => v.rounds.find(x => x.round === r)?.modelHash)
    expect(hashes[0], `round ${r}`).toBeDefined()
    expect(new Set(hashes).size, `round ${r}`).toBe(1)
  }
  const [r0, r1] = [0, 1].map(r => vs[0].rounds.find(x => x.round === r))
  expect(r0?.contributors?.sort()).toEqual([creator.peerId, victim.peerId].sort())
  // round 1 dropped the victim's refused delta and took the late joiner's, trained after the round closed
  expect(r1?.contributors?.sort(), JSON.stringify(vs[0].rounds)).toEqual([creator.peerId, late.peerId].sort())
  expect(r1?.aggregator).toBe(creator.peerId)
}

describe('a voter lost for good (real processes, 3 nodes, minParticipants 2)', () => {
  it('SIGKILLed and never restarted: the creator names the live half and the job finishes on the other two', async () => {
    await lostVoter('sigkill')
  }, 240_000)

  it.runIf(SLOW)('leaves with `train leave`: the same', async () => {
    await lostVoter('leave')
  }, 240_000)

  // as long as the case above plus a restart (~70 s on a loaded 2-core box, the case above ~65 s): over CI's budget
  it.runIf(SLOW)('SIGKILLed after delivering a delta nobody fetched: the closed round takes the late joiner\'s delta', async () => {
    await lostAfterDelivering()
  }, 240_000)
})
