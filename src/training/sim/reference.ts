/**
 * The reference federated simulation: the whole FedAvg loop in one process with no network, which the mesh's
 * results are compared with. Clients train on their partition of a train split; the server aggregates their deltas
 * with the core's `aggregate` (weights = local sample counts) and evaluates on a held-out test split every round.
 */
import { TrainingError } from '../errors.js'
import { aggregate, type AggregationSpec, type WeightedUpdate } from '../core/aggregate.js'
import { applyDelta, computeDelta, modelHash } from '../core/delta.js'
import { partition, trainTestSplit, type PartitionSpec } from '../core/partition.js'
import { createRng } from '../core/rng.js'
import { subset, type Dataset } from '../data/dataset.js'
import { buildModel, getFlatWeights, setFlatWeights } from '../model/build.js'
import { deriveSeed } from '../model/seeds.js'
import type { ModelSpec } from '../model/spec.js'
import { evaluate, trainLocal } from '../model/train.js'

/** Options of one simulated federated run. */
export interface SimulationOptions {
  dataset: Dataset
  model: ModelSpec
  /** K: number of clients the train split is partitioned into. */
  clients: number
  partition: Omit<PartitionSpec, 'of'>
  rounds: number
  /** E: local epochs per round. */
  localEpochs: number
  /** B: local minibatch size, or 'all' for full-batch (FedSGD when localEpochs = 1). */
  batchSize: number | 'all'
  learningRate: number
  aggregation: AggregationSpec
  /** Clip each delta to this L2 norm before aggregating. */
  clipNorm?: number
  /** C: fraction of clients picked each round (default 1); at least one client takes part. */
  clientFraction?: number
  targetAccuracy?: number
  /** Stop at the first round reaching `targetAccuracy` (default true when a target is set). */
  stopAtTarget?: boolean
  /** Fraction of the dataset held out as the global test split. */
  testFraction: number
  /** Seeds the train/test split, client selection and local batch order. */
  seed: number
  signal?: AbortSignal
  onRound?: (r: SimulatedRound) => void
}

/** The global model's test metrics after a round (round 1 = after the first aggregation). */
export interface SimulatedRound {
  round: number
  accuracy: number
  loss: number
  f1: number
  participants: number
  durationMs: number
}

/** A simulation's per-round history and the first round reaching the target (null if none did). */
export interface SimulationResult {
  rounds: SimulatedRound[]
  roundsToTarget: number | null
  /** modelHash of the final global weights. */
  finalModelHash: string
  trainSize: number
  testSize: number
  /** Rows held by each client. */
  clientSizes: number[]
}

const SELECT_STREAM = 0x5e1ec7
const LOCAL_STREAM = 0x10ca1

/** Run the reference simulation; see SimulationOptions. */
export async function simulateFederated (opts: SimulationOptions): Promise<SimulationResult> {
  const { dataset, clients, rounds, seed } = opts
  if (!Number.isInteger(clients) || clients < 1) throw new TrainingError('ERR_ARGUMENT', `clients must be a positive integer, got ${clients}`)
  if (!Number.isInteger(rounds) || rounds < 1) throw new TrainingError('ERR_ARGUMENT', `rounds must be a positive integer, got ${rounds}`)
  const fraction = opts.clientFraction ?? 1
  if (!(fraction > 0 && fraction <= 1)) throw new TrainingError('ERR_ARGUMENT', `clientFraction must be in (0, 1], got ${fraction}`)

  const split = trainTestSplit(dataset.y.length, opts.testFraction, seed)
  const train = subset(dataset, split.train, `${dataset.name}-train`)
  const test = subset(dataset, split.test, `${dataset.name}-test`)
  if (test.y.length === 0) throw new TrainingError('ERR_ARGUMENT', 'the test split is empty: raise testFraction')
  const parts = partition(train.y, { ...opts.partition, of: clients })
  const clientData = parts.map((idx, k) => subset(train, idx, `client-${k}`))

  const model = await buildModel(opts.model, dataset)
  try {
    const initial = getFlatWeights(model)
    const manifest = initial.manifest
    let global = initial.flat
    const perRound = Math.max(1, Math.round(fraction * clients))
    const stopAtTarget = opts.stopAtTarget ?? opts.targetAccuracy != null
    const history: SimulatedRound[] = []
    let roundsToTarget: number | null = null

    for (let round = 1; round <= rounds; round++) {
      const started = performance.now()
      const ids = Array.from({ length: clients }, (_, k) => k)
      const chosen = createRng(deriveSeed(seed, SELECT_STREAM, round)).shuffle(ids).slice(0, perRound).sort((a, b) => a - b)
      const updates: WeightedUpdate[] = []
      for (const k of chosen) {
        const data = clientData[k]
        if (data.y.length === 0) continue
        setFlatWeights(model, manifest, global)
        const r = await trainLocal(model, data, {
          epochs: opts.localEpochs,
          batchSize: opts.batchSize,
          learningRate: opts.learningRate,
          seed: deriveSeed(seed, LOCAL_STREAM, round, k),
          signal: opts.signal
        })
        updates.push({ id: `client-${String(k).padStart(6, '0')}`, data: computeDelta(getFlatWeights(model).flat, global), weight: r.samples })
      }
      if (updates.length > 0) {
        const agg = aggregate(opts.aggregation, updates, opts.clipNorm != null ? { clipNorm: opts.clipNorm } : {})
        global = applyDelta(global, agg.result)
      }
      setFlatWeights(model, manifest, global)
      const ev = evaluate(model, test)
      const entry: SimulatedRound = {
        round,
        accuracy: ev.accuracy,
        loss: ev.loss,
        f1: ev.f1,
        participants: updates.length,
        durationMs: Math.round(performance.now() - started)
      }
      history.push(entry)
      opts.onRound?.(entry)
      if (opts.targetAccuracy != null && roundsToTarget == null && ev.accuracy >= opts.targetAccuracy) {
        roundsToTarget = round
        if (stopAtTarget) break
      }
    }
    return {
      rounds: history,
      roundsToTarget,
      finalModelHash: modelHash(global),
      trainSize: train.y.length,
      testSize: test.y.length,
      clientSizes: clientData.map(d => d.y.length)
    }
  } finally {
    model.dispose()
  }
}
