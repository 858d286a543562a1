/**
 * The part of an in-memory TrainingApi fake that the route tests and the CLI tests share: the job map and the
 * stop, forget, export, evaluate and predict operations with the service's error codes.
 */
import { TrainingError } from '../../../src/training/errors.js'
import type { JobView, ModelExport, Evaluation, Prediction } from '../../../src/training/service/api-types.js'

/** Jobs in a map; only `creator` may stop one, only a stopped or finished one can be forgotten. */
export abstract class FakeTrainingJobs {
  jobs = new Map<string, JobView>()
  stops: string[] = []
  forgotten: string[] = []
  /** The peer id this fake node runs as. */
  protected abstract readonly creator: string

  protected job (id: string): JobView {
    const job = this.jobs.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no job ${id}`)
    return job
  }

  stopJob = async (id: string): Promise<JobView> => {
    const job = this.job(id)
    if (job.spec.creator !== this.creator) throw new TrainingError('ERR_NOT_CREATOR', 'only the job\'s creator may stop it')
    this.stops.push(id)
    job.status = 'stopped'
    return job
  }

  forgetJob = async (id: string): Promise<void> => {
    const job = this.job(id)
    if (job.status !== 'stopped' && job.status !== 'finished') throw new TrainingError('ERR_JOB_ACTIVE', `job ${id} is ${job.status}`)
    this.forgotten.push(id)
    this.jobs.delete(id)
  }

  exportModel = async (id: string): Promise<ModelExport> => {
    const job = this.job(id)
    return {
      layers: { modelJson: { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }, weights: Uint8Array.of(1, 2, 3, 4) },
      raw: Uint8Array.of(0x4d, 0x4e, 0x44, 0x31),
      meta: { format: 'meshnode-model', version: 1, job: id, round: job.round, modelCid: job.modelCid, modelHash: 'ab'.repeat(32), model: job.spec.model, features: 64, inputShape: [64], classes: 10, classLabels: null, standardization: null, dataset: 'digits', outputs: 'probabilities' }
    }
  }

  evaluateJob = async (id: string, req: { dataset?: string } = {}): Promise<Evaluation> => {
    const job = this.job(id)
    return { job: id, round: job.round, modelCid: job.modelCid, dataset: req.dataset ?? 'digits', rows: 4, accuracy: 0.75, loss: 0.5, precision: 0.5, recall: 0.5, f1: 0.5, confusion: [[2, 0], [1, 1]], classLabels: ['no', 'yes'] }
  }

  predict = async (id: string, rows: number[][]): Promise<{ round: number, modelCid: string, predictions: Prediction[] }> => {
    const job = this.job(id)
    return { round: job.round, modelCid: job.modelCid, predictions: rows.map(r => ({ class: r[0] > 0 ? 1 : 0, label: r[0] > 0 ? 'yes' : 'no', probabilities: r[0] > 0 ? [0.1, 0.9] : [0.8, 0.2] })) }
  }
}
