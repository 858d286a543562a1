import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

/** Short timings so a round with a dead peer closes in seconds. */
const FAST = { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 2000, capMs: 6000, sealTimeoutMs: 5000 }

const job = (over: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  model: { arch: 'mlp', layers: [64, 10], seed: 3 },
  dataset: 'digits',
  rounds: 40,
  minParticipants: 3,
  localEpochs: 2,
  batchSize: 10,
  learningRate: 0.1,
  aggregation: 'fedavg',
  compression: 'int8',
  timing: FAST,
  ...over
})

async function view (n: NodeHandle, id: string): Promise<JobView> {
  return await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)
}

async function start (nodes: NodeHandle[], req: CreateJobRequest): Promise<string> {
  const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: req })
  await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the job on every node' })
  await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: nodes.length, seed: 5 } } })))
  return id
}

/** Wait until every given node has accepted round `round`; returns their views. */
async function accepted (nodes: NodeHandle[], id: string, round: number, timeoutMs = 90_000): Promise<JobView[]> {
  return await waitFor(async () => {
    const vs = await Promise.all(nodes.map(async n => await view(n, id)))
    return vs.every(v => v.rounds.some(r => r.round === round)) ? vs : undefined
  }, { timeoutMs, intervalMs: 300, what: `round ${round} accepted on ${nodes.length} nodes` })
}

const hashOf = (v: JobView, round: number): string | undefined => v.rounds.find(r => r.round === round)?.modelHash

/**
 * A restarted node catches up within one round: once it reports a round at least as far as the others were when it
 * came back, with the others' model hash, the others have moved on by at most one round (plus one of polling slack).
 */
async function expectCaughtUp (node: NodeHandle, others: NodeHandle[], id: string): Promise<void> {
  const from = (await view(others[0], id)).round
  const last = (v: JobView): number => Math.max(-1, ...v.rounds.map(r => r.round))
  const [mine, theirs] = await waitFor(async () => {
    const [vn, vo] = await Promise.all([view(node, id), view(others[0], id)])
    const m = last(vn)
    return m >= Math.min(from, vo.spec.rounds - 1) && hashOf(vn, m) === hashOf(vo, m) ? [vn, vo] as const : undefined
  }, { timeoutMs: 120_000, intervalMs: 250, what: 'the restarted node to catch up' })
  expect(last(theirs) - last(mine)).toBeLessThanOrEqual(2)
}

describe('faults during training', () => {
  it('a SIGKILLed aggregator is replaced by the next one, a SIGKILLed participant is left out, and both catch up after restart', async () => {
    mesh = await Mesh.start(5, { mode: 'process' })
    const nodes = mesh.nodes
    const id = await start(nodes, job())
    await accepted(nodes, id, 0)

    // round 1: kill the node that seals attempt 0, right away (before the round can close)
    const v1 = await view(nodes[0], id)
    const aggregator = nodes.find(n => n.peerId === v1.aggregator) as NodeHandle
    expect(aggregator).toBeDefined()
    await aggregator.kill()
    const alive = nodes.filter(n => n !== aggregator)
    const after = await accepted(alive, id, v1.round)
    // its delta counts only if peers fetched it (they prefetch on announce) before it died: 4 or 5 participants
    const sealed = after[0].rounds.find(r => r.round === v1.round)
    expect(sealed?.participants).toBeGreaterThanOrEqual(4)
    expect(new Set(after.map(v => hashOf(v, v1.round))).size).toBe(1)
    // somebody else sealed it, after attempt 0 timed out
    const next = await view(alive[0], id)
    expect(next.round).toBeGreaterThan(v1.round)

    // restarted, it catches up: within one round it holds the same model as the others
    await aggregator.restart()
    await expectCaughtUp(aggregator, alive, id)

    // a participant (not the aggregator) dies mid-round: the round completes without it
    const v2 = await view(alive[0], id)
    const victim = alive.find(n => n.peerId !== v2.aggregator) as NodeHandle
    await victim.kill()
    const rest = nodes.filter(n => n !== victim)
    const done = await accepted(rest, id, v2.round)
    expect(new Set(done.map(v => hashOf(v, v2.round))).size).toBe(1)
    await victim.restart()
    await expectCaughtUp(victim, rest, id)
  }, 400_000)

  it('rejects and counts every kind of malformed delta, penalises the senders, and keeps training', async () => {
    mesh = await Mesh.start(3, { mode: 'process', config: { storage: { fetchTimeoutMs: 3000 } } })
    const kinds = ['nan', 'wrong-shape', 'oversized', 'garbage', 'unfetchable'] as const
    for (const adversary of kinds) {
      await mesh.add({ mode: 'process', bootstrap: mesh.nodes[0].addresses, config: { storage: { fetchTimeoutMs: 3000 }, training: { adversary } } })
    }
    const honest = mesh.nodes.slice(0, 3)
    const id = await start(mesh.nodes, job({ rounds: 2, minParticipants: 3 }))
    const vs = await waitFor(async () => {
      const v = await Promise.all(honest.map(async n => await view(n, id)))
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 180_000, intervalMs: 1000, what: 'the job to finish on the honest nodes' })
    // every honest node holds the final model; any round two nodes both report, they report identically
    expect(vs.every(v => hashOf(v, 1) != null)).toBe(true)
    for (const r of [0, 1]) expect(new Set(vs.map(v => hashOf(v, r)).filter(h => h != null)).size, JSON.stringify(vs.map(v => v.rounds))).toBe(1)
    // only honest deltas made it into the models
    expect(vs[0].rounds.every(r => r.participants === 3)).toBe(true)
    // deltas are screened by whoever aggregates (any node, adversaries run the honest screening code too):
    // collect the rejection counters of the whole mesh
    const texts = await Promise.all(mesh.nodes.map(async n => await (await n.api.fetch('GET', '/metrics')).text()))
    const rejected = [...new Set(texts.flatMap(t => [...t.matchAll(/meshnode_training_deltas_rejected_total\{code="([A-Z_]+)"\} (\d+)/g)].map(m => m[1])))]
    // NaN/Inf, wrong shape, undecodable, over the size limit, not fetchable in time: one code each
    expect(rejected.sort()).toEqual(['ERR_CODEC', 'ERR_NONFINITE', 'ERR_NOT_FOUND', 'ERR_SHAPE', 'ERR_TOO_LARGE'])
    const penalties = texts.flatMap(t => [...t.matchAll(/meshnode_training_penalties_total\{reason="invalid-delta"\} (\d+)/g)].map(m => Number(m[1])))
    expect(penalties.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(kinds.length)
    for (const n of mesh.nodes) expect(await n.api.request('GET', '/v1/health')).toEqual({ status: 'ok' })
  }, 300_000)
})
