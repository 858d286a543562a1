/**
 * What the training service offers the admin API and CLI: the request and view types, and the service interface.
 * The request schemas are the training protocol's (src/training/protocol/requests.ts).
 */
import type { JobSpec } from '../protocol/job-schema.js'
import type { CreateJobRequest, JoinJobRequest } from '../protocol/requests.js'

/** The request bodies (their schemas are in src/training/protocol/requests.ts). */
export type { CreateJobRequest, JoinJobRequest }
export { MAX_DATASET_UPLOAD_BYTES } from '../protocol/limits.js'
import type { Evaluation, ModelExport, Prediction } from './model-use.js'
import type { NodeEvaluation, PooledEvaluation } from './pooled.js'
import type { HyperparamsView } from './hyperparams-kind.js'
export type { HyperparamsView } from './hyperparams-kind.js'
export type { NodeEvaluation, PooledEvaluation } from './pooled.js'
export type { Evaluation, ModelExport, Prediction, ExportMeta } from './model-use.js'

/** One sealed and accepted round as this node measured it. */
export interface RoundReport {
  round: number
  accuracy: number
  loss: number
  f1: number
  precision: number
  recall: number
  participants: number
  bytesSent: number
  bytesReceived: number
  durationMs: number
  modelCid: string
  modelHash: string
  /** The attempt whose seal was accepted (0 unless an aggregator failed or its seal was refused); absent in reports from before. */
  attempt?: number
  /** Who published the accepted seal ('' when a restart lost it). */
  aggregator?: string
  /** The peers whose deltas the seal aggregated, sorted. */
  contributors?: string[]
  /**
   * The job's accuracy figure for this round: the accepted model's accuracy pooled over the contributors' held-out
   * splits (weighted by rows); null until a contributor's evaluation arrived. `accuracy` above is this node's own.
   */
  pooled?: PooledEvaluation | null
  /** Each contributor's evaluation of the accepted model, as it arrived. */
  evaluations?: NodeEvaluation[]
  /** A rewarded job: what each contributor earned in this round (core/payouts.ts), in wei and FTNS. */
  payouts?: Array<{ peerId: string, wei: string, amount: string }>
}

/** A rewarded job's reward as this node sees it: the spec's total, and the vouchers this node sent or received. */
export interface RewardView {
  total: string
  payer: string
  vouchers: Array<{ round: number, peerId: string, amount: string, wei: string, direction: 'sent' | 'received' }>
}

/** Where this node stands with a job. */
export type JobStatus = 'announced' | 'joined' | 'running' | 'finished' | 'left' | 'stopped'

/** `GET /v1/training/jobs/{id}`. */
export interface JobView {
  id: string
  status: JobStatus
  /** The round being trained now (the number of accepted rounds). */
  round: number
  modelCid: string
  modelHash: string | null
  phase: 'waiting' | 'collecting' | 'sealing' | 'finished'
  participants: string[]
  /** The sealing attempt of the current round, and who seals it in this node's view. */
  attempt: number
  aggregator: string | null
  joined: boolean
  finishedReason: 'rounds' | 'target' | null
  spec: JobSpec
  rounds: RoundReport[]
  /** The hyperparameters in force and the accepted `hyperparams` changes (absent where consensus is not wired). */
  hyperparams?: HyperparamsView
  /** Only on rewarded jobs: the total and the vouchers this node sent or received. */
  reward?: RewardView
}

/**
 * A dataset this node can train on: `labels` names its classes when the file named them, `standardized` says import
 * scaled its features, `warnings` (import only) what may keep it from training well.
 */
export interface DatasetInfo {
  name: string
  rows: number
  features: number
  classes: number
  builtin: boolean
  labels?: string[]
  standardized?: boolean
  warnings?: string[]
}

/** A DatasetInfo from what a dataset or its file header says. */
export function datasetInfoOf (name: string, d: { rows: number, features: number, classes: number, labels?: string[], standardized?: boolean, standardization?: unknown }, builtin: boolean): DatasetInfo {
  return {
    name,
    rows: d.rows,
    features: d.features,
    classes: d.classes,
    builtin,
    ...(d.labels != null ? { labels: d.labels } : {}),
    ...(d.standardized === true || d.standardization != null ? { standardized: true } : {})
  }
}

/**
 * How a dataset is imported: a CSV's label column and header, the class names in index order (labels are names
 * then), and whether to standardise the features (the mean and scale are stored and applied at predict time).
 */
export interface ImportOptions { labelColumn?: 'first' | 'last' | number, header?: boolean, labels?: string[], standardize?: boolean }

/** The training service as the API sees it. Errors are TrainingErrors (ERR_NOT_FOUND, ...); their kind sets the status. */
export interface TrainingApi {
  createJob: (req: CreateJobRequest) => Promise<{ id: string }>
  joinJob: (id: string, req: JoinJobRequest) => Promise<JobView>
  leaveJob: (id: string) => Promise<JobView>
  /** The creator stops its job for the whole mesh (ERR_NOT_CREATOR otherwise). */
  stopJob: (id: string) => Promise<JobView>
  /** Forget a finished or stopped job here (ERR_JOB_ACTIVE otherwise). */
  forgetJob: (id: string) => Promise<void>
  /** The job's current global model as tfjs files, the raw MND1 file and meshnode.json. */
  exportModel: (id: string) => Promise<ModelExport>
  /** Evaluate the current model on a dataset, or on this node's held-out split. */
  evaluateJob: (id: string, req?: { dataset?: string }) => Promise<Evaluation>
  /** Predict a class (and probabilities) for each raw feature row. */
  predict: (id: string, rows: number[][]) => Promise<{ round: number, modelCid: string, predictions: Prediction[] }>
  listJobs: () => JobView[]
  getJob: (id: string) => JobView | undefined
  importDataset: (name: string, text: string, format: 'csv' | 'jsonl', opts?: ImportOptions) => Promise<DatasetInfo>
  listDatasets: () => Promise<DatasetInfo[]>
}
