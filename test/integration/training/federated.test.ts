import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'
import { decodeDelta } from '../../../src/training/core/codec.js'
import { modelHash } from '../../../src/training/core/delta.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

const job = (over: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  model: { arch: 'mlp', layers: [64, 10], seed: 1 }, // 64 inputs (8x8 digits) -> 64 hidden -> 10: the 64-64-10 MLP
  dataset: 'digits',
  rounds: 10,
  minParticipants: 5,
  localEpochs: 5,
  batchSize: 10,
  learningRate: 0.1,
  aggregation: 'fedavg',
  compression: 'fp32',
  ...over
})

async function create (node: NodeHandle, req: CreateJobRequest): Promise<string> {
  return (await node.api.request<{ id: string }>('POST', '/v1/training/jobs', { json: req })).id
}

async function joinAll (nodes: NodeHandle[], id: string, of = nodes.length): Promise<void> {
  await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the job announcement to reach every node' })
  // a join fetches the initial model within storage.fetchTimeoutMs, which a loaded 2-core machine can miss when 10
  // nodes join 3 jobs at once: retry that (as faults.test.ts does); anything else is a real failure
  await Promise.all(nodes.map(async (n, i) => {
    for (let tries = 1; ; tries++) {
      try {
        return await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of, seed: 7 } } })
      } catch (err) {
        if (tries >= 5 || !['ERR_TIMEOUT', 'ERR_NOT_FOUND', 'ERR_FETCH'].includes(String((err as { code?: string }).code))) {
          throw new Error(`node ${n.index} could not join after ${tries} tries: ${(err as Error).message}`)
        }
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    }
  }))
}

async function views (nodes: NodeHandle[], id: string): Promise<JobView[]> {
  return await Promise.all(nodes.map(async n => await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)))
}

/** Mean held-out accuracy over nodes for one round (each node evaluates the same model on its own split). */
function meanAccuracy (vs: JobView[], round: number): number {
  const accs = vs.map(v => v.rounds.find(r => r.round === round)?.accuracy).filter((a): a is number => a != null)
  return accs.reduce((a, b) => a + b, 0) / accs.length
}

/** Every node that reported round r reports the same model hash for it. */
function expectSameModels (vs: JobView[]): void {
  const rounds = new Set(vs.flatMap(v => v.rounds.map(r => r.round)))
  for (const r of rounds) {
    const hashes = new Set(vs.map(v => v.rounds.find(x => x.round === r)?.modelHash).filter(h => h != null))
    expect(hashes.size, `round ${r}`).toBe(1)
  }
}

/**
 * Every node reports every round of the job, holds that round's model in its own store (`local`), and the hash it
 * recomputes here from the bytes it serves (the weights it evaluated and trained on) is the same on all nodes and is
 * the seal's modelHash: for all rounds, not only those the seals name alike.
 */
async function expectIdenticalStoredModels (nodes: NodeHandle[], vs: JobView[]): Promise<void> {
  const rounds = Math.max(...vs.map(v => v.rounds.length))
  for (const v of vs) expect(v.rounds.map(r => r.round)).toEqual([...Array(rounds).keys()])
  for (let r = 0; r < rounds; r++) {
    const own = await Promise.all(nodes.map(async (n, i) => {
      const cid = vs[i].rounds[r].modelCid
      const meta = await n.api.request<{ local: boolean }>('GET', `/v1/artifacts/${cid}/meta`)
      const bytes = new Uint8Array(await (await n.api.fetch('GET', `/v1/artifacts/${cid}`)).arrayBuffer())
      return { local: meta.local, hash: modelHash(decodeDelta(bytes, { maxElements: 1 << 20 })) }
    }))
    expect(own.map(o => o.local), `round ${r}: stored on every node`).toEqual(nodes.map(() => true))
    expect(new Set(own.map(o => o.hash)).size, `round ${r}: one model`).toBe(1)
    expect(own[0].hash, `round ${r}: the seal's hash`).toBe(vs[0].rounds[r].modelHash)
  }
}

describe('federated training on the mesh', () => {
  it('5 nodes, digits, MLP 64-64-10, IID, E=5, B=10: >= 95% within 10 rounds, identical models every round', async () => {
    mesh = await Mesh.start(5, { mode: 'process' })
    const nodes = mesh.nodes
    const id = await create(nodes[0], job({ target: { metric: 'accuracy', value: 0.97 } }))
    await joinAll(nodes, id)
    let reached: number | undefined
    const vs = await waitFor(async () => {
      const v = await views(nodes, id)
      const done = Math.min(...v.map(x => x.rounds.length))
      for (let r = 0; r < done; r++) if (reached == null && meanAccuracy(v, r) >= 0.95) reached = r
      return reached != null || v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 240_000, intervalMs: 1000, what: '95% accuracy' })
    expect(reached, JSON.stringify(vs[0].rounds.map(r => r.accuracy))).toBeDefined()
    expect(reached as number).toBeLessThan(10)
    expectSameModels(vs)
    // every round the job ran (it goes on to its 0.97 target or its 10 rounds), on every node, from its own store
    const final = await waitFor(async () => {
      const v = await views(nodes, id)
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 240_000, intervalMs: 1000, what: 'the job to finish' })
    await expectIdenticalStoredModels(nodes, final)
    const r0 = vs[0].rounds[0]
    expect(r0.participants).toBe(5)
    expect(r0.bytesSent).toBeGreaterThan(0)
    expect(r0.f1).toBeGreaterThan(0)
    // the model each node holds is fetchable and identical everywhere: it is the same CID
    expect(new Set(vs.map(v => v.rounds[reached as number].modelCid)).size).toBe(1)
  }, 540_000)

  // 10 CLI nodes x 3 concurrent jobs: 4 minutes on 2 cores (6-7 before reads named a delta's producer and asked it
  // alone; 174-536 s in CI runs before that): hence the long limits
  it('10 nodes with 2 sending sign-flipped x10 deltas: median and trimmed mean stay >= 0.93, FedAvg collapses', async () => {
    mesh = await Mesh.start(8, { mode: 'process' })
    for (let i = 0; i < 2; i++) await mesh.add({ mode: 'process', bootstrap: mesh.nodes[0].addresses, config: { training: { adversary: 'sign-flip', adversaryScale: 10 } } })
    const nodes = mesh.nodes
    const common = { rounds: 8, minParticipants: 10 }
    const ids = {
      median: await create(nodes[0], job({ ...common, aggregation: 'median' })),
      trimmed: await create(nodes[1], job({ ...common, aggregation: 'trimmed-mean', aggregationParams: { beta: 0.2 } })),
      // the control collapses in its first round: two rounds show it, and leave the cores to the robust jobs
      fedavg: await create(nodes[2], job({ ...common, rounds: 2, aggregation: 'fedavg' }))
    }
    for (const id of Object.values(ids)) await joinAll(nodes, id)
    const honest = nodes.slice(0, 8)
    const final = async (id: string): Promise<JobView[]> => await waitFor(async () => {
      const v = await views(honest, id)
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 600_000, intervalMs: 2000, what: `job ${id} to finish` })
    const [median, trimmed, fedavg] = await Promise.all([final(ids.median), final(ids.trimmed), final(ids.fedavg)])
    const last = (vs: JobView[]): number => meanAccuracy(vs, Math.max(...vs[0].rounds.map(r => r.round)))
    expect(last(median)).toBeGreaterThanOrEqual(0.93)
    expect(last(trimmed)).toBeGreaterThanOrEqual(0.93)
    // the control: plain averaging is dragged along by the attackers
    expect(Number.isNaN(last(fedavg)) || last(fedavg) < 0.5).toBe(true)
    for (const vs of [median, trimmed, fedavg]) expectSameModels(vs)
    // operators read stderr: a mesh at ordinary work prints no Node warnings (bitswap once added an abort listener per
    // peer wanting a block to one signal, and every node printed dozens of MaxListenersExceededWarning)
    for (const n of nodes) expect(n.output(), `node ${n.index}`).not.toContain('MaxListenersExceededWarning')
  }, 900_000)
})
