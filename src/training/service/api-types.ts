/**
 * What the training service offers the admin API and CLI: the request and view types, and the service interface.
 * The request schemas are the training protocol's (src/training/protocol/requests.ts).
 */
import type { JobSpec } from '../protocol/job-schema.js'
import type { CreateJobRequest, JoinJobRequest } from '../protocol/requests.js'

/** The request bodies (their schemas are in src/training/protocol/requests.ts). */
export type { CreateJobRequest, JoinJobRequest }
export { MAX_DATASET_UPLOAD_BYTES } from '../protocol/limits.js'

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

/** Where this node stands with a job. */
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

/** A dataset this node can train on. */
export interface DatasetInfo { name: string, rows: number, features: number, classes: number, builtin: boolean }

/** How an imported CSV names its label column and header. */
export interface ImportOptions { labelColumn?: 'first' | 'last' | number, header?: boolean }

/** The training service as the API sees it. Errors are TrainingErrors (ERR_NOT_FOUND, ...); their kind sets the status. */
export interface TrainingApi {
  createJob: (req: CreateJobRequest) => Promise<{ id: string }>
  joinJob: (id: string, req: JoinJobRequest) => Promise<JobView>
  leaveJob: (id: string) => Promise<JobView>
  listJobs: () => JobView[]
  getJob: (id: string) => JobView | undefined
  importDataset: (name: string, text: string, format: 'csv' | 'jsonl', opts?: ImportOptions) => Promise<DatasetInfo>
  listDatasets: () => Promise<DatasetInfo[]>
}
