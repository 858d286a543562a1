/**
 * Federated training on the mesh versus an in-process FedAvg reference (issue [training]).
 *
 * For each delta codec (fp32, fp16, int8, top-k) a 5-node mesh of real CLI processes trains the 64-64-10 MLP on the
 * digits data (IID, E=5, B=10, lr 0.1) until the mean held-out accuracy reaches 95%; we report the rounds and the
 * delta bytes stored for peers up to that round. The baseline, measured in the same run: `simulateFederated` with
 * the same data, model, seeds and hyper-parameters, no network, no compression.
 * Prints one JSON object. `--quick`: fp32 and int8 only, 12 rounds at most.
 */
import '../src/node/polyfills.js'
import { Mesh, waitFor } from '../test/harness/index.js'
import { loadBuiltin } from '../src/training/data/index.js'
import { simulateFederated } from '../src/training/sim/index.js'
import { encodedSize } from '../src/training/core/codec.js'
import type { JobView } from '../src/training/index.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/training-mesh.ts [--quick]\n  5-node mesh per delta codec versus the in-process FedAvg reference, one JSON object\n')
  process.exit(0)
}
const quick = process.argv.includes('--quick')
const TARGET = 0.95
const CLIENTS = 5
const MAX_ROUNDS = quick ? 12 : 20
const PARAMS = 64 * 64 + 64 + 64 * 10 + 10
const codecs = quick ? ['fp32', 'int8'] as const : ['fp32', 'fp16', 'int8', 'topk'] as const

async function meshRun (compression: typeof codecs[number]): Promise<Record<string, unknown>> {
  const mesh = await Mesh.start(CLIENTS, { mode: 'process' })
  const t0 = Date.now()
  try {
    const nodes = mesh.nodes
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', {
      json: {
        model: { arch: 'mlp', layers: [64, 10], seed: 1 }, dataset: 'digits', rounds: MAX_ROUNDS, minParticipants: CLIENTS,
        localEpochs: 5, batchSize: 10, learningRate: 0.1, aggregation: 'fedavg', compression,
        ...(compression === 'topk' ? { compressionParams: { fraction: 0.1 } } : {})
      }
    })
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'job' })
    await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: CLIENTS, seed: 1 } } })))
    let reached: number | null = null
    let views: JobView[] = []
    await waitFor(async () => {
      views = await Promise.all(nodes.map(async n => await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)))
      const done = Math.min(...views.map(v => v.rounds.length))
      for (let r = 0; r < done && reached == null; r++) {
        const mean = views.reduce((a, v) => a + (v.rounds[r]?.accuracy ?? 0), 0) / views.length
        if (mean >= TARGET) reached = r + 1
      }
      return reached != null || views.every(v => v.status === 'finished')
    }, { timeoutMs: 600_000, intervalMs: 1000, what: `${compression} to reach ${TARGET}` })
    const upTo = reached ?? MAX_ROUNDS
    const bytes = views.reduce((a, v) => a + v.rounds.slice(0, upTo).reduce((b, r) => b + r.bytesSent, 0), 0)
    const accs = views[0].rounds.slice(0, upTo).map(r => Math.round(r.accuracy * 1000) / 1000)
    return { compression, roundsToTarget: reached, deltaBytesToTarget: bytes, accuracyNode0: accs, wallSeconds: Math.round((Date.now() - t0) / 1000) }
  } finally {
    await mesh.close()
  }
}

const dataset = await loadBuiltin('digits')
const ref = await simulateFederated({
  dataset, model: { arch: 'mlp', layers: [64, 10], seed: 1 }, clients: CLIENTS, partition: { scheme: 'iid', seed: 1 },
  rounds: MAX_ROUNDS, localEpochs: 5, batchSize: 10, learningRate: 0.1, aggregation: { kind: 'fedavg' },
  targetAccuracy: TARGET, testFraction: 0.2, seed: 1
})
const refRounds = ref.roundsToTarget
const reference = {
  kind: 'in-process FedAvg (simulateFederated): same data, model, seeds; no network, no compression',
  roundsToTarget: refRounds,
  deltaBytesToTarget: refRounds == null ? null : refRounds * CLIENTS * encodedSize(PARAMS, { kind: 'fp32' }),
  accuracy: ref.rounds.map(r => Math.round(r.accuracy * 1000) / 1000)
}
const mesh: Array<Record<string, unknown>> = []
for (const c of codecs) mesh.push(await meshRun(c))
const fp32 = mesh.find(m => m.compression === 'fp32')
const summary = mesh.map(m => ({
  compression: m.compression,
  roundsVsReference: refRounds == null || m.roundsToTarget == null ? null : Math.round((m.roundsToTarget as number) / refRounds * 100) / 100,
  bytesReductionVsFp32: fp32 == null || m.deltaBytesToTarget === 0 ? null : Math.round((fp32.deltaBytesToTarget as number) / (m.deltaBytesToTarget as number) * 100) / 100
}))
process.stdout.write(JSON.stringify({
  bench: 'training-mesh', target: TARGET, clients: CLIENTS, model: 'mlp 64-64-10', dataset: 'digits (IID)', hyper: { E: 5, B: 10, lr: 0.1 },
  baseline: reference, mesh, summary, targets: { roundsVsReference: '<= 1.5', int8BytesReduction: '>= 3.9 with <= 0.5 point accuracy loss' }
}, null, 2) + '\n')
process.exit(0)
