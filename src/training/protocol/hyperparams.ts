/**
 * Hyperparameter changes by consensus (the `hyperparams` proposal kind, registered by the training service): the
 * payload, the bounds a job declares (or the defaults below), and the pure rules every node applies identically:
 * which changes hold from which round, and when a change has cost enough accuracy to be rolled back.
 */
import { Type, type Static } from '@sinclair/typebox'
import { BatchSizeSchema, JobIdSchema, LearningRateSchema, LocalEpochsSchema, closed, type HyperparamBounds, type JobSpec } from './job-schema.js'
import { TRAINING_LIMITS as L } from './limits.js'

/** The hyperparameters a `hyperparams` proposal may change: what each participant's local training reads. */
export interface Hyperparams { learningRate: number, localEpochs: number, batchSize: number }
/** Their names, in the order views list them. */
export const HYPERPARAM_NAMES = ['learningRate', 'localEpochs', 'batchSize'] as const

/** One inclusive range. */
export interface Range { min: number, max: number }

/** What a `hyperparams` proposal changes: at least one name. */
export const HyperparamChangesSchema = closed({
  learningRate: Type.Optional(LearningRateSchema),
  localEpochs: Type.Optional(LocalEpochsSchema),
  batchSize: Type.Optional(BatchSizeSchema)
}, { description: 'the new values (at least one)' })
/** The changed values. */
export type HyperparamChanges = Static<typeof HyperparamChangesSchema>

/** The `hyperparams` proposal's payload. */
export const HyperparamsPayloadSchema = closed({
  jobId: JobIdSchema,
  changes: { ...HyperparamChangesSchema, minProperties: 1 },
  fromRound: Type.Optional(Type.Integer({ minimum: 1, maximum: L.maxRounds, description: 'the first round trained with the new values (default: the round after the one in progress when it is executed)' })),
  rollbackOf: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the hyperparams proposal this one undoes (raised automatically when accuracy dropped)' }))
}, { description: 'change a job\'s hyperparameters within its declared bounds' })
/** A `hyperparams` payload. */
export type HyperparamsPayload = Static<typeof HyperparamsPayloadSchema>

/** An executed change as every node records it: which proposal, from which round, what. */
export interface HyperparamChange {
  proposalId: string
  fromRound: number
  changes: HyperparamChanges
  rollbackOf?: string
  /** The job's creator is done with it (a rollback passed, or none was due or could pass): not judged again. */
  judged?: boolean
  /** The job's creator's bookkeeping: the rollback it raised last for this change, and how many it raised. */
  rollback?: RollbackAttempt
}

/** A rollback the job's creator raised: the proposal's id, and how many it raised for the change so far. */
export interface RollbackAttempt { id: string, tries: number }

/** The spec's own values. */
export function specHyperparams (spec: Pick<JobSpec, 'learningRate' | 'localEpochs' | 'batchSize'>): Hyperparams {
  return { learningRate: spec.learningRate, localEpochs: spec.localEpochs, batchSize: spec.batchSize }
}

/** The bounds a job takes where it declares none: around its announced values, inside the contract's limits. */
export function defaultHyperparamBounds (spec: Pick<JobSpec, 'learningRate' | 'localEpochs' | 'batchSize'>): Record<keyof Hyperparams, Range> {
  return {
    learningRate: { min: spec.learningRate / 10, max: Math.min(L.maxLearningRate, spec.learningRate * 10) },
    localEpochs: { min: 1, max: Math.min(L.maxLocalEpochs, spec.localEpochs * 4) },
    batchSize: { min: Math.max(1, Math.floor(spec.batchSize / 8)), max: Math.min(L.maxBatchSize, spec.batchSize * 8) }
  }
}

/** The job's effective bounds: declared ones over the defaults. */
export function hyperparamBoundsOf (spec: Pick<JobSpec, 'learningRate' | 'localEpochs' | 'batchSize'> & { hyperparamBounds?: HyperparamBounds }): Record<keyof Hyperparams, Range> {
  const d = defaultHyperparamBounds(spec)
  const b = spec.hyperparamBounds ?? {}
  return {
    learningRate: b.learningRate ?? d.learningRate,
    localEpochs: b.localEpochs ?? d.localEpochs,
    batchSize: b.batchSize ?? d.batchSize
  }
}

/** A declared bound whose min exceeds its max (a job spec rule). */
export function hyperparamBoundsIssue (bounds: HyperparamBounds | undefined): { path: string, message: string } | undefined {
  for (const name of HYPERPARAM_NAMES) {
    const r: Range | undefined = bounds?.[name]
    if (r != null && r.min > r.max) return { path: `hyperparamBounds.${name}`, message: `hyperparamBounds.${name}.min must be <= its max` }
  }
  return undefined
}

/** Why `changes` may not apply to the job (outside its bounds, or nothing changed), or undefined. */
export function hyperparamsIssue (spec: Parameters<typeof hyperparamBoundsOf>[0], changes: HyperparamChanges): string | undefined {
  const bounds = hyperparamBoundsOf(spec)
  let any = false
  for (const name of HYPERPARAM_NAMES) {
    const v = changes[name]
    if (v === undefined) continue
    any = true
    const r = bounds[name]
    if (!(v >= r.min && v <= r.max)) return `${name} ${v} is outside the job's bounds [${r.min}, ${r.max}]`
  }
  return any ? undefined : 'the proposal changes nothing'
}

/** Changes in the one order every node applies them: by first round, then by proposal id. */
export function sortChanges (changes: readonly HyperparamChange[]): HyperparamChange[] {
  return [...changes].sort((a, b) => a.fromRound - b.fromRound || (a.proposalId < b.proposalId ? -1 : a.proposalId > b.proposalId ? 1 : 0))
}

/**
 * The hyperparameters round `round` trains with: the spec's, then every executed change whose first round is at or
 * before `round`, in `sortChanges` order. A change outside the job's bounds (it cannot have passed honest nodes, but
 * a node must not trust that) is skipped, identically everywhere.
 */
export function effectiveHyperparams (spec: Parameters<typeof hyperparamBoundsOf>[0], changes: readonly HyperparamChange[], round: number): Hyperparams {
  const out = specHyperparams(spec)
  for (const c of sortChanges(changes)) {
    if (c.fromRound > round || hyperparamsIssue(spec, c.changes) !== undefined) continue
    Object.assign(out, stripUndefined(c.changes))
  }
  return out
}

function stripUndefined (c: HyperparamChanges): Partial<Hyperparams> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined))
}

/** What the rollback rule reads of a round's report. */
export interface AccuracyRound { round: number, accuracy: number, pooled?: { accuracy: number } | null }

/** A round's accuracy figure: the pooled one when it arrived, else this node's own; undefined when neither is finite. */
function accuracyOf (r: AccuracyRound | undefined): number | undefined {
  const a = r?.pooled?.accuracy ?? r?.accuracy
  return a !== undefined && Number.isFinite(a) ? a : undefined
}

/**
 * The rollback rule: the change's first round (trained with the new values) against the round before it (the old
 * values). `due` when accuracy dropped by more than `margin` (absolute); undefined while either round is unreported.
 * Rollback proposals themselves are never rolled back.
 */
export function rollbackVerdict (change: Pick<HyperparamChange, 'fromRound' | 'rollbackOf'>, reports: readonly AccuracyRound[], margin: number): { due: boolean, before: number, after: number } | undefined {
  if (change.rollbackOf != null || change.fromRound < 1) return undefined
  const before = accuracyOf(reports.find(r => r.round === change.fromRound - 1))
  const after = accuracyOf(reports.find(r => r.round === change.fromRound))
  if (before === undefined || after === undefined) return undefined
  return { due: before - after > margin, before, after }
}

/** How many rollback proposals the job's creator raises for one change, each after the last was rejected or expired. */
export const ROLLBACK_TRIES = 3

/**
 * The job creator's next step for one executed change (`due`: `rollbackVerdict`'s; `status`: its last rollback
 * proposal's, undefined when unknown here; `active`: the job still trains): `raise` a rollback (the first, or another
 * after one that was rejected or expired, while tries remain), `wait` (its rounds unreported, or its rollback open), or
 * `done` (no drop, a rollback accepted or vetoed or forgotten, tries spent, the job over, or itself a rollback).
 */
export function rollbackStep (o: { change: Pick<HyperparamChange, 'rollbackOf' | 'rollback'>, due: boolean | undefined, status: string | undefined, active: boolean }): 'raise' | 'wait' | 'done' {
  if (o.change.rollbackOf != null) return 'done'
  const last = o.change.rollback
  if (last == null) return o.due === undefined ? 'wait' : o.due && o.active ? 'raise' : 'done'
  if (o.status === 'pending') return 'wait'
  if (o.status === 'rejected' || o.status === 'expired') return last.tries < ROLLBACK_TRIES && o.active ? 'raise' : 'done'
  return 'done'
}

/**
 * How far ahead of the round in progress an automatic rollback's first round lies. The proposal pins it (`fromRound`),
 * so every node records the same round, whatever round each is in when it executes the proposal; two rounds ahead, so
 * no voter has begun that round while the proposal is open (a voter refuses a first round already under way), even
 * when the creator lags its peers by a round.
 */
export const ROLLBACK_LEAD_ROUNDS = 2

/** The round `lead` rounds after `roundInProgress`, within the schema's range of first rounds ([1, maxRounds]). */
export function roundAhead (roundInProgress: number, lead = 1): number {
  return Math.min(L.maxRounds, Math.max(1, roundInProgress + lead))
}

/** The first round of a rollback raised while `roundInProgress` runs. */
export function rollbackFromRound (roundInProgress: number): number { return roundAhead(roundInProgress, ROLLBACK_LEAD_ROUNDS) }

/**
 * The changes that undo `change`: for each name it changed, the value in force just before its first round
 * (the spec's plus the other changes of earlier rounds).
 */
export function rollbackChanges (spec: Parameters<typeof hyperparamBoundsOf>[0], all: readonly HyperparamChange[], change: HyperparamChange): HyperparamChanges {
  const prior = effectiveHyperparams(spec, all.filter(c => c.proposalId !== change.proposalId), change.fromRound - 1)
  const out: HyperparamChanges = {}
  for (const name of HYPERPARAM_NAMES) if (change.changes[name] !== undefined) out[name] = prior[name]
  return out
}
