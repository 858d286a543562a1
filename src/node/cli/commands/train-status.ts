/**
 * `meshnode train status [jobId]`: a read-only view, kept apart from the job commands so that `train status` loads
 * only the API client and the formatting (not the job schemas or the training core; see main.ts).
 */
import type { Command } from 'commander'
import type { JobView } from '../../../training/index.js'
import { output } from '../format.js'
import { jobSummary, jobsTable, roundsTable } from '../train-format.js'
import type { Connect } from './info.js'
import { common, resolveJobId, TRAIN_DESCRIPTION, type CommonFlags } from './train-common.js'

/** Add `status` to the `train` command. */
export function registerTrainStatus (train: Command, connect: Connect): void {
  common(train.command('status [jobId]')
    .description('the jobs this node knows, or one job\'s rounds: ACC is the job\'s figure (pooled over the contributors\' held-out splits, from NODES of them), HERE this node\'s own, then LOSS F1 PARTICIPANTS SENT RECV DURATION CONTRIBUTORS'))
    .action(async (jobId: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      if (jobId === undefined) {
        const { jobs } = await api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')
        output(opts.json === true, jobs, () => jobs.length === 0 ? 'no training jobs known (create one with `meshnode train create`)' : jobsTable(jobs))
        return
      }
      const id = await resolveJobId(api, jobId)
      const job = await api.request<JobView>('GET', `/v1/training/jobs/${id}`)
      output(opts.json === true, job, () => `${jobSummary(job)}\n\n${job.rounds.length === 0 ? 'no rounds accepted yet' : roundsTable(job.rounds)}`)
    })
}

/** The `train` command with only `status` under it: what `meshnode train status ...` needs. */
export function registerTrainStatusOnly (program: Command, connect: Connect): void {
  registerTrainStatus(common(program.command('train').description(TRAIN_DESCRIPTION)), connect)
}
