/**
 * Issue 11, defect 7: the creator stops a job for the whole mesh. After `POST /stop` on the creator, every node shows
 * `stopped` within 10 s and accepts no further round; a node that did not create the job gets 403; a stopped job can
 * be forgotten (DELETE) and stays gone.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

const REQ: CreateJobRequest = {
  model: { arch: 'mlp', layers: [32, 10], seed: 3 }, dataset: 'digits', rounds: 500, minParticipants: 3, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
}

async function views (nodes: NodeHandle[], id: string): Promise<JobView[]> {
  return await Promise.all(nodes.map(async n => await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)))
}

describe('stopping a job', () => {
  it('the creator stops it everywhere within 10 s; no node trains a further round; others get 403; then it can be forgotten', async () => {
    mesh = await Mesh.start(3, { mode: 'inprocess' })
    const nodes = mesh.nodes
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: REQ })
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the announcement to reach every node' })
    await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 7 } } })))
    await waitFor(async () => (await views(nodes, id)).every(v => v.rounds.length >= 2) ? true : undefined, { timeoutMs: 90_000, what: 'two accepted rounds on every node' })

    // a participant that did not create the job cannot stop it for everyone
    const refused = await nodes[1].api.fetch('POST', `/v1/training/jobs/${id}/stop`).then(() => undefined, (e: unknown) => e as { status?: number, code?: string })
    expect(refused?.status).toBe(403)
    expect(refused?.code).toBe('ERR_NOT_CREATOR')
    // nor can a running job be forgotten
    const busy = await nodes[1].api.fetch('DELETE', `/v1/training/jobs/${id}`).then(() => undefined, (e: unknown) => e as { status?: number })
    expect(busy?.status).toBe(409)

    const stoppedAt = Date.now()
    const view = await nodes[0].api.request<JobView>('POST', `/v1/training/jobs/${id}/stop`)
    expect(view.status).toBe('stopped')
    const all = await waitFor(async () => { const v = await views(nodes, id); return v.every(x => x.status === 'stopped') ? v : undefined }, { timeoutMs: 10_000, intervalMs: 200, what: 'every node to show stopped' })
    expect(Date.now() - stoppedAt).toBeLessThan(10_000)

    // no further round anywhere: watch for longer than a round takes here (the last rounds' durations), by deadline
    const lastRound = Math.max(...all.flatMap(v => v.rounds.map(r => r.round)))
    const longest = Math.max(...all.flatMap(v => v.rounds.map(r => r.durationMs)))
    const watchUntil = Date.now() + Math.min(20_000, Math.max(4000, 3 * longest))
    await waitFor(async () => {
      const v = await views(nodes, id)
      for (const x of v) {
        expect(x.status).toBe('stopped')
        expect(Math.max(...x.rounds.map(r => r.round))).toBeLessThanOrEqual(lastRound)
      }
      return Date.now() >= watchUntil ? true : undefined
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'the watch window' })

    // a stopped job can be forgotten, and the creator's repeated stop does not bring it back
    expect(await nodes[2].api.request('DELETE', `/v1/training/jobs/${id}`)).toEqual({ forgotten: id })
    const gone = await nodes[2].api.fetch('GET', `/v1/training/jobs/${id}`).then(() => undefined, (e: unknown) => e as { status?: number })
    expect(gone?.status).toBe(404)
    const { jobs } = await nodes[2].api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')
    expect(jobs.map(j => j.id)).not.toContain(id)
  }, 180_000)
})
