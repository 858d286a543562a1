/**
 * Training throughput of each TensorFlow.js backend available on this machine, on the reference 64-64-10 MLP with
 * synthetic data (the same probe the node runs at start). Baseline: the pure-JS cpu backend.
 *
 *   npx tsx bench/training-speed.ts [--duration-ms 1500] [--batch-size 32]
 *
 * Prints one JSON object: { backends: [{ name, version, samplesPerSec, speedupVsCpu }], baseline: 'cpu', ... }.
 * The native `tensorflow` backend is measured only when @tensorflow/tfjs-node(-gpu) is installed.
 */
import { parseArgs } from 'node:util'
import { initBackend, type BackendPreference } from '../src/training/model/backend.js'
import { measureTrainingSpeed } from '../src/training/model/benchmark.js'

const { values: args } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '1500' },
    'batch-size': { type: 'string', default: '32' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help === true) {
  process.stdout.write('usage: npx tsx bench/training-speed.ts [--duration-ms 1500] [--batch-size 32]\n')
  process.exit(0)
}
const durationMs = Number(args['duration-ms'])
const batchSize = Number(args['batch-size'])

interface Row { name: string, version: string, threads?: number, samplesPerSec: number, steps: number, speedupVsCpu?: number }
const rows: Row[] = []
const skipped: { name: string, reason: string }[] = []

// cpu first: it is the baseline the others are compared with
for (const pref of ['cpu', 'wasm', 'tensorflow'] as BackendPreference[]) {
  let info
  try {
    info = await initBackend(pref)
  } catch (err) {
    skipped.push({ name: pref, reason: (err as Error).message })
    continue
  }
  const r = await measureTrainingSpeed({ durationMs, batchSize })
  rows.push({ name: info.name, version: info.version, ...(info.threads != null ? { threads: info.threads } : {}), samplesPerSec: r.samplesPerSec, steps: r.steps })
}

const cpu = rows.find(r => r.name === 'cpu')
for (const r of rows) if (cpu != null) r.speedupVsCpu = Math.round(r.samplesPerSec / cpu.samplesPerSec * 100) / 100

console.log(JSON.stringify({
  benchmark: 'training-speed',
  model: 'mlp-64-64-10',
  task: 'SGD steps on synthetic 64-feature, 10-class batches',
  batchSize,
  durationMs,
  baseline: 'cpu',
  backends: rows,
  skipped
}, null, 2))
