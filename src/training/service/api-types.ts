/**
 * What the training service offers the admin API and CLI: request and view types, and the service interface.
 * The HTTP contract (paths and field names) is in the issue; these types mirror it.
 */
import type { JobSpec } from '../protocol/messages.js'

/** Largest dataset upload (the text body of `POST /v1/training/datasets/{name}`). */
export const MAX_DATASET_UPLOAD_BYTES = 64 * 1024 * 1024
/** Seeds are unsigned 32-bit so every RNG in the stack takes them as they are. */
export const MAX_SEED = 0xffff_ffff

/** Body of `POST /v1/training/jobs`. */
export interface CreateJobRequest {
  model: { arch: 'mlp', layers: number[], seed: number } | { arch: 'cnn', seed: number, inputShape: number[], classes: number }
  dataset: string
  rounds: number
  minParticipants: number
  localEpochs: number
  batchSize: number
  learningRate: number
  aggregation: 'fedavg' | 'median' | 'trimmed-mean' | 'krum'
  /** trimmed-mean: beta (default 0.1); krum: f (default 1) and m. */
  aggregationParams?: { beta?: number, f?: number, m?: number }
  compression: 'fp32' | 'fp16' | 'int8' | 'topk'
  /** topk: fraction (default 0.1); int8: blockSize (default 256). */
  compressionParams?: { fraction?: number, blockSize?: number }
  target?: { metric: 'accuracy', value: number }
  /** Round timing overrides (ms); defaults suit a LAN mesh. */
  timing?: { roundTimeoutMs?: number, deadlineK?: number, minWaitMs?: number, capMs?: number, sealTimeoutMs?: number }
}

/** Body of `POST /v1/training/jobs/{id}/join`. */
export interface JoinJobRequest {
  /** `digits`, `mnist`, or a dataset imported with `meshnode train dataset import`. */
  dataset: string
  /** Which share of the dataset this node trains on (simulations); absent: all of it. */
  partition?: { scheme: 'iid' | 'shards' | 'dirichlet', index: number, of: number, seed: number, alpha?: number }
  /** Held-out fraction for evaluation (default 0.2). */
  testFraction?: number
}

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
}

export type JobStatus = 'announced' | 'joined' | 'running' | 'finished' | 'left'

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
}

export interface DatasetInfo { name: string, rows: number, features: number, classes: number, builtin: boolean }

/** The training service as the API sees it. Errors are MeshError subclasses with codes (ERR_NOT_FOUND, ...). */
export interface TrainingApi {
  createJob: (req: CreateJobRequest) => Promise<{ id: string }>
  joinJob: (id: string, req: JoinJobRequest) => Promise<JobView>
  leaveJob: (id: string) => Promise<JobView>
  listJobs: () => JobView[]
  getJob: (id: string) => JobView | undefined
  importDataset: (name: string, text: string, format: 'csv' | 'jsonl', opts?: { labelColumn?: 'first' | 'last' | number, header?: boolean }) => Promise<DatasetInfo>
  listDatasets: () => Promise<DatasetInfo[]>
}
