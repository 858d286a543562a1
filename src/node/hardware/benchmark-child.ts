/**
 * The start-up training micro-benchmark, run in a short-lived child process (`runBenchmarkChild`): TensorFlow.js and
 * its wasm heap then leave with the child, and an idle daemon that trains nothing never carries them (about 60 MB).
 * Run directly, it prints one JSON line: `{ backend, bench }`. Arguments: `<threads> <durationMs>`.
 */
import { spawn } from 'node:child_process'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { BackendInfo } from '../../training/model/backend.js'
import type { TrainingSpeed } from '../../training/model/benchmark.js'
import type { MeasuredBackend } from './service.js'

/** What the child prints: the backend in use and, unless only the backend was probed, the measured speed. */
export interface BenchmarkChildResult { backend: BackendInfo, bench: Pick<TrainingSpeed, 'samplesPerSec' | 'model' | 'batchSize'> | null }

/** How to run the benchmark child. */
export interface BenchmarkChildOptions {
  threads: number
  /** 0 probes the backend only. */
  durationMs: number
  timeoutMs?: number
}

const SELF = fileURLToPath(import.meta.url)

/** Run the benchmark (or, with `durationMs` 0, only the backend probe) in a child process; rejects on failure. */
export async function runBenchmarkChild (opts: BenchmarkChildOptions): Promise<BenchmarkChildResult> {
  // compiled: plain node; from source (tests, tsx): load tsx in the child too
  const loader = SELF.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, SELF, String(opts.threads), String(opts.durationMs)], { stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000 })
  let out = ''
  let err = ''
  child.stdout.on('data', d => { out += String(d) })
  child.stderr.on('data', d => { err += String(d) })
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('close', resolve) })
  const line = out.trim().split('\n').at(-1) ?? ''
  if (code !== 0 || line === '') throw new Error(`training benchmark exited with ${code}: ${err.trim().slice(-300)}`)
  return JSON.parse(line) as BenchmarkChildResult
}

/** Backend-only probes by thread count: the answer cannot change within a process (several in-process nodes ask once). */
const probed = new Map<number, Promise<BenchmarkChildResult>>()

/** The benchmark child's result as the hardware record's `tfjs` and `bench` fields. */
export async function measureTrainingBackend (opts: BenchmarkChildOptions): Promise<MeasuredBackend> {
  let run: Promise<BenchmarkChildResult>
  if (opts.durationMs > 0) run = runBenchmarkChild(opts)
  else {
    run = probed.get(opts.threads) ?? runBenchmarkChild(opts)
    probed.set(opts.threads, run)
    run.catch(() => { probed.delete(opts.threads) }) // a failed probe is tried again by the next node
  }
  const { backend, bench } = await run
  return { tfjs: { backend: backend.name, version: backend.version }, bench }
}

async function main (threads: number, durationMs: number): Promise<void> {
  // the composition root may reach training's internals: loading only the tfjs shell keeps this child light
  // (the training index would pull in the whole service graph: libp2p crypto, schemas, metrics)
  const { initBackend, setThreads } = await import('../../training/model/backend.js')
  setThreads(threads)
  const backend = await initBackend('auto')
  let bench: BenchmarkChildResult['bench'] = null
  if (durationMs > 0) {
    const { measureTrainingSpeed } = await import('../../training/model/benchmark.js')
    const r = await measureTrainingSpeed({ durationMs })
    bench = { samplesPerSec: r.samplesPerSec, model: r.model, batchSize: r.batchSize }
  }
  process.stdout.write(JSON.stringify({ backend, bench } satisfies BenchmarkChildResult) + '\n')
}

/**
 * The child's scheduling niceness: the benchmark runs while the node joins the mesh, and a start-up measurement must
 * not take the CPU from the node (nor from other nodes on the machine: ten nodes starting at once on 2 cores spent
 * half their CPU in benchmark children, and their first DHT walks timed out). On an idle machine it changes nothing.
 */
export const BENCHMARK_NICENESS = 10

if (process.argv[1] === SELF) {
  // first, before TF.js starts its threads (they inherit it); a platform that refuses just runs at normal priority
  try { setPriority(BENCHMARK_NICENESS) } catch { /* not permitted here */ }
  main(Number(process.argv[2]), Number(process.argv[3])).then(() => process.exit(0), err => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
