/**
 * Issue 11 acceptance: 3 nodes train digits to the target; `meshnode train export` writes a model that a separate
 * plain TensorFlow.js script (no meshnode code: fixtures/score-tfjs.mjs) loads and scores >= 0.95 on the digits rows
 * the job held out (every node's held-out split). Evaluate and predict answer through the same model.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CLI, REPO_ROOT, Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { CreateJobRequest, Evaluation, ExportMeta, JobView, JoinJobRequest, Prediction } from '../../../src/training/service/api-types.js'
import { DatasetStore } from '../../../src/training/data/index.js'
import { localData } from '../../../src/training/service/local-data.js'

const exec = promisify(execFile)
const SCORER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'score-tfjs.mjs')

let mesh: Mesh | undefined
let dir: string | undefined
afterEach(async () => {
  await mesh?.close(); mesh = undefined
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

const REQ: CreateJobRequest = {
  model: { arch: 'mlp', layers: [64, 10], seed: 1 }, dataset: 'digits', rounds: 30, minParticipants: 3, localEpochs: 5,
  batchSize: 10, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32', target: { metric: 'accuracy', value: 0.96 }
}
const joinOf = (i: number): JoinJobRequest => ({ dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 7 } })

async function views (nodes: NodeHandle[], id: string): Promise<JobView[]> {
  return await Promise.all(nodes.map(async n => await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)))
}

/** Join, retrying while the model is not fetchable yet (a busy machine can miss the first provider lookup). */
async function join (n: NodeHandle, id: string, req: JoinJobRequest): Promise<void> {
  for (let tries = 1; ; tries++) {
    try { await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: req }); return } catch (err) {
      if (tries >= 3 || !['ERR_TIMEOUT', 'ERR_NOT_FOUND', 'ERR_FETCH'].includes(String((err as { code?: string }).code))) throw err
    }
  }
}

describe('a trained model outside the mesh', () => {
  it('3 nodes train digits to the target; the exported model scores >= 0.95 on the held-out rows in a plain tfjs script', async () => {
    mesh = await Mesh.start(3, { mode: 'inprocess' })
    const nodes = mesh.nodes
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: REQ })
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the announcement' })
    await Promise.all(nodes.map(async (n, i) => { await join(n, id, joinOf(i)) }))
    const done = await waitFor(async () => { const v = await views(nodes, id); return v.every(x => x.status === 'finished') ? v : undefined }, { timeoutMs: 240_000, intervalMs: 1000, what: 'the job to finish' })
    expect(done[0].finishedReason).toBe('target')
    // every node evaluated every accepted model itself (no stand-in figure), and the job's figure pools all three
    for (const v of done) for (const r of v.rounds) expect(r.accuracy, `round ${r.round}`).not.toBeNull()
    const last = done[0].rounds.length - 1
    const pooled = await waitFor(async () => {
      const v = await views(nodes, id)
      return v.every(x => x.rounds[last]?.pooled?.nodes === 3) ? v.map(x => x.rounds[last].pooled) : undefined
    }, { timeoutMs: 15_000, what: 'the contributors\' evaluations of the last model' })
    expect(new Set(pooled.map(p => p?.accuracy)).size).toBe(1)
    expect(pooled[0]?.accuracy).toBeGreaterThanOrEqual(0.95)
    expect(done[0].rounds[last].evaluations?.map(e => e.peerId).sort()).toEqual(nodes.map(n => n.peerId).sort())

    dir = await mkdtemp(path.join(tmpdir(), 'meshnode-export-'))
    const out = path.join(dir, 'model')
    const r = await exec(process.execPath, [...CLI, 'train', 'export', id.slice(0, 12), '-o', out, '--data-dir', nodes[1].dataDir, '--json'], { cwd: REPO_ROOT, timeout: 60_000 })
    const printed = JSON.parse(r.stdout) as { files: string[], meta: ExportMeta }
    expect(printed.files.sort()).toEqual(['meshnode.json', 'model.json', 'model.mnd1', 'weights.bin'])
    const meta = JSON.parse(await readFile(path.join(out, 'meshnode.json'), 'utf8')) as ExportMeta
    expect(meta).toMatchObject({ job: id, round: done[1].round, modelCid: done[1].modelCid, features: 64, classes: 10, standardization: null })
    expect(meta.modelHash).toBe(done[1].rounds.at(-1)?.modelHash)
    expect((await readFile(path.join(out, 'model.mnd1'))).subarray(0, 4).toString()).toBe('MND1')

    // the rows the job held out: every node's held-out split of its share
    const store = new DatasetStore(dir)
    const held = (await Promise.all([0, 1, 2].map(async i => (await localData(joinOf(i), store)).test)))
    const lines = held.flatMap(t => Array.from({ length: t.y.length }, (_, k) => [...t.x.subarray(k * 64, (k + 1) * 64), t.y[k]].join(',')))
    const csv = path.join(dir, 'held-out.csv')
    await writeFile(csv, lines.join('\n') + '\n')
    const scored = JSON.parse((await exec(process.execPath, [SCORER, out, csv], { cwd: REPO_ROOT, timeout: 120_000 })).stdout) as { rows: number, accuracy: number }
    expect(scored.rows).toBe(lines.length)
    expect(scored.accuracy).toBeGreaterThanOrEqual(0.95)

    // evaluate on this node's held-out split, and predict agrees with the exported model's labels
    const e = await nodes[1].api.request<Evaluation>('POST', `/v1/training/jobs/${id}/evaluate`, { json: {} })
    expect(e.rows).toBe(held[1].y.length)
    expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(held[1].y.length)
    expect(e.accuracy).toBeGreaterThanOrEqual(0.9)
    const rows = Array.from({ length: 20 }, (_, k) => Array.from(held[1].x.subarray(k * 64, (k + 1) * 64)))
    const p = await nodes[1].api.request<{ predictions: Prediction[] }>('POST', `/v1/training/jobs/${id}/predict`, { json: { rows } })
    expect(p.predictions).toHaveLength(20)
    expect(p.predictions.filter((q, k) => q.class === held[1].y[k]).length).toBeGreaterThanOrEqual(17)
    for (const q of p.predictions) expect(q.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4)

    // warm start on several nodes: a second job, created on another node from the exported model's CID, continues from
    // it on two nodes. With a learning rate far too small to get anywhere from scratch in one round, its first model
    // is already as good as the exported one (every node checks the announced warm-start hash when it joins).
    const warm = await nodes[1].api.request<{ id: string }>('POST', '/v1/training/jobs', {
      json: { ...REQ, rounds: 2, minParticipants: 2, localEpochs: 1, learningRate: 0.0005, target: undefined, init: { model: meta.modelCid } }
    })
    const pair = [nodes[1], nodes[2]]
    await waitFor(async () => (await Promise.all(pair.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${warm.id}`).then(() => true, () => false)))).every(Boolean), { what: 'the warm-start announcement' })
    await Promise.all(pair.map(async (n, i) => { await join(n, warm.id, joinOf(i + 1)) }))
    const warmed = await waitFor(async () => { const v = await views(pair, warm.id); return v.every(x => x.status === 'finished') ? v : undefined }, { timeoutMs: 120_000, intervalMs: 500, what: 'the warm-started job to finish' })
    expect(warmed[0].spec).toMatchObject({ initialModelCid: meta.modelCid, warmStart: { modelHash: meta.modelHash } })
    for (const v of warmed) {
      expect(v.rounds.map(r => r.round)).toEqual([0, 1])
      expect(v.rounds[0].contributors?.sort()).toEqual(pair.map(n => n.peerId).sort())
      expect(v.rounds[0].accuracy, `node ${v.id}`).toBeGreaterThanOrEqual(0.9)
    }
    expect(new Set(warmed.map(v => v.rounds[1].modelHash)).size).toBe(1)
  }, 360_000)
})
