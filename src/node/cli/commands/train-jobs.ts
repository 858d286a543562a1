/** `meshnode train create | join | leave | stop | forget | status`: jobs through the local daemon's admin API. */
import type { Command } from 'commander'
import { CreateJobRequestSchema, JoinJobRequestSchema, PartitionSchema, TargetSchema, type JobView } from '../../../training/index.js'
import { output } from '../format.js'
import { AGGREGATIONS, ARCHS, COMPRESSIONS, CREATE_DEFAULTS, PARTITIONS, SEAL_VOTING_MODES, buildCreateRequest, buildJoinRequest, type CreateFlags, type JoinFlags } from '../train-args.js'
import { jobSummary, shortJobId } from '../train-format.js'
import { helpOf } from '../train-flags.js'
import type { Connect } from './info.js'
import { common, dflt, resolveJobId, type CommonFlags } from './train-common.js'
import { registerTrainStatus } from './train-status.js'

const P = CreateJobRequestSchema.properties
const A = P.aggregationParams.properties
const C = P.compressionParams.properties
const T = P.timing.properties

/** `train create`. */
function registerCreate (train: Command, connect: Connect): void {
  common(train.command('create')
    .description('create and announce a training job; prints its id')
    .requiredOption('--dataset <name>', 'dataset every participant trains on: digits, mnist, or an imported one')
    .option('--arch <arch>', `model architecture: ${ARCHS.join(' or ')}${dflt(CREATE_DEFAULTS.arch)}`)
    .option('--layers <sizes>', `mlp: hidden layer sizes then the output size${dflt(CREATE_DEFAULTS.layers)}`)
    .option('--input-shape <h,w,c>', 'cnn: input image shape, e.g. 28,28,1')
    .option('--classes <n>', `cnn: number of classes${dflt(CREATE_DEFAULTS.classes)}`)
    .option('--seed <n>', `initial weights seed${dflt(CREATE_DEFAULTS.seed)}`)
    .option('--rounds <n>', `${helpOf(P.rounds, 'rounds to train')}${dflt(CREATE_DEFAULTS.rounds)}`)
    .option('--min-participants <n>', `${helpOf(P.minParticipants)}${dflt(CREATE_DEFAULTS.minParticipants)}`)
    .option('--epochs <n>', `${helpOf(P.localEpochs, 'local epochs per round')}${dflt(CREATE_DEFAULTS.epochs)}`)
    .option('--batch-size <n>', `${helpOf(P.batchSize, 'local batch size')}${dflt(CREATE_DEFAULTS.batchSize)}`)
    .option('--lr <rate>', `${helpOf(P.learningRate, 'learning rate')}${dflt(CREATE_DEFAULTS.lr)}`)
    .option('--aggregation <kind>', `${AGGREGATIONS.join(' | ')}${dflt(CREATE_DEFAULTS.aggregation)}`)
    .option('--beta <fraction>', helpOf(A.beta))
    .option('--f <n>', helpOf(A.f))
    .option('--m <n>', helpOf(A.m))
    .option('--compression <kind>', `${COMPRESSIONS.join(' | ')}${dflt(CREATE_DEFAULTS.compression)}`)
    .option('--fraction <f>', helpOf(C.fraction))
    .option('--block-size <n>', helpOf(C.blockSize))
    .option('--init-model <cid>', 'warm start: continue from this trained model (an exported job\'s model CID, of the same architecture)')
    .option('--target <accuracy>', `finish early at this accuracy: 0.95 or 95%; ${helpOf(TargetSchema.properties.value, '')}`)
    .option('--reward <ftns>', 'pay contributors this many FTNS (locked now from the free vault balance; paid by vouchers after each accepted round, pro rata to samples)')
    .option('--seal-voting <mode>', `who accepts round seals: ${SEAL_VOTING_MODES.join(' | ')} (default: the node's training.sealVoting, consensus unless configured)`)
    .option('--round-timeout-ms <ms>', `timing: ${helpOf(T.roundTimeoutMs)}`)
    .option('--min-wait-ms <ms>', `timing: ${helpOf(T.minWaitMs)}`)
    .option('--cap-ms <ms>', `timing: ${helpOf(T.capMs)}`)
    .option('--deadline-k <k>', `timing: ${helpOf(T.deadlineK)}`)
    .option('--seal-timeout-ms <ms>', `timing: ${helpOf(T.sealTimeoutMs)}`))
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & CreateFlags>()
      const req = buildCreateRequest(opts)
      const api = await connect(opts)
      const { id } = await api.request<{ id: string }>('POST', '/v1/training/jobs', { json: req })
      output(opts.json === true, { id }, () => id)
    })
}

/** `train join` and `train leave`. */
function registerMembership (train: Command, connect: Connect): void {
  const S = PartitionSchema.properties
  common(train.command('join <jobId>')
    .description('take part in a job with a local dataset, or with one share of it (--partition, for simulations)')
    .requiredOption('--dataset <name>', 'the data this node trains on: digits, mnist, or an imported dataset')
    .option('--partition <scheme>', `train on one share: ${PARTITIONS.join(' | ')} (default ${PARTITIONS[0]} when --index/--of are given)`)
    .option('--index <i>', 'this node\'s share, 0-based, < --of')
    .option('--of <n>', helpOf(S.of, 'number of shares'))
    .option('--seed <n>', 'partition seed (default 1)')
    .option('--alpha <a>', helpOf(S.alpha))
    .option('--test-fraction <f>', helpOf(JoinJobRequestSchema.properties.testFraction)))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & JoinFlags>()
      const req = buildJoinRequest(opts)
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const job = await api.request<JobView>('POST', `/v1/training/jobs/${id}/join`, { json: req })
      output(opts.json === true, job, () => jobSummary(job))
    })

  common(train.command('leave <jobId>')
    .description('stop taking part in a job'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const job = await api.request<JobView>('POST', `/v1/training/jobs/${id}/leave`)
      output(opts.json === true, job, () => `left job ${shortJobId(job.id)} (${job.status})`)
    })
}

/** `train stop` (the creator, for the whole mesh) and `train forget` (a finished or stopped job, here). */
function registerStop (train: Command, connect: Connect): void {
  common(train.command('stop <jobId>')
    .description('stop a job you created, on every node (a signed stop record); other nodes show it stopped'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const job = await api.request<JobView>('POST', `/v1/training/jobs/${id}/stop`)
      output(opts.json === true, job, () => `stopped job ${shortJobId(job.id)} at round ${job.round}`)
    })

  common(train.command('forget <jobId>')
    .description('remove a finished or stopped job from this node\'s list'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const res = await api.request<{ forgotten: string }>('DELETE', `/v1/training/jobs/${id}`)
      output(opts.json === true, res, () => `forgot job ${shortJobId(id)}`)
    })
}

/** `train create | join | leave | stop | forget | status`. */
export function registerTrainJobCommands (train: Command, connect: Connect): void {
  registerCreate(train, connect)
  registerMembership(train, connect)
  registerStop(train, connect)

  registerTrainStatus(train, connect)
}
