/**
 * `meshnode train create | join | leave | status | watch | plot | dataset import | dataset ls`: federated training
 * through the local daemon's admin API (`/v1/training/*`, live progress from `/v1/events`).
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { MeshError } from '../../../common/errors.js'
import { MAX_DATASET_UPLOAD_BYTES, type DatasetInfo, type JobView } from '../../../training/service/api-types.js'
import type { ApiClient } from '../client.js'
import { output, keyValues, table } from '../format.js'
import {
  AGGREGATIONS, COMPRESSIONS, CREATE_DEFAULTS, DATASET_CONTENT_TYPES, PARTITIONS,
  buildCreateRequest, buildJoinRequest, checkPlotOutput, datasetFormatOf, labelColumnFlag, matchJobId,
  type CreateFlags, type JoinFlags
} from '../train-args.js'
import { jobSummary, jobsTable, roundsTable, shortJobId } from '../train-format.js'
import { watchJob } from '../train-watch.js'
import type { Connect } from './info.js'

interface CommonFlags { dataDir?: string, json?: boolean }

/** `--data-dir` and `--json` on every command; read back with `optsWithGlobals` (a parent may have parsed them). */
function common (cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory of the daemon to talk to').option('--json', 'machine-readable output')
}

/** A job id or a unique prefix of one (as `train status` prints them). */
async function resolveJobId (api: ApiClient, idOrPrefix: string): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(idOrPrefix)) return idOrPrefix
  const { jobs } = await api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')
  return matchJobId(idOrPrefix, jobs.map(j => j.id))
}

const dflt = (v: string): string => ` (default ${v})`

/** Add the `train` command tree to the CLI. */
export function registerTrainCommands (program: Command, connect: Connect): void {
  // the groups take --data-dir/--json too (`train --json status` works); subcommands read them with optsWithGlobals
  const train = common(program.command('train')
    .description('federated training: create and join jobs, follow their rounds, plot them, import datasets'))

  common(train.command('create')
    .description('create and announce a training job; prints its id')
    .requiredOption('--dataset <name>', 'dataset every participant trains on: digits, mnist, or an imported one')
    .option('--arch <arch>', `model architecture: mlp or cnn${dflt(CREATE_DEFAULTS.arch)}`)
    .option('--layers <sizes>', `mlp: hidden layer sizes then the output size${dflt(CREATE_DEFAULTS.layers)}`)
    .option('--input-shape <h,w,c>', 'cnn: input image shape, e.g. 28,28,1')
    .option('--classes <n>', `cnn: number of classes${dflt(CREATE_DEFAULTS.classes)}`)
    .option('--seed <n>', `initial weights seed${dflt(CREATE_DEFAULTS.seed)}`)
    .option('--rounds <n>', `rounds to train, 1..10000${dflt(CREATE_DEFAULTS.rounds)}`)
    .option('--min-participants <n>', `deltas each round waits for, 1..256${dflt(CREATE_DEFAULTS.minParticipants)}`)
    .option('--epochs <n>', `local epochs per round${dflt(CREATE_DEFAULTS.epochs)}`)
    .option('--batch-size <n>', `local batch size${dflt(CREATE_DEFAULTS.batchSize)}`)
    .option('--lr <rate>', `learning rate, > 0 and <= 10${dflt(CREATE_DEFAULTS.lr)}`)
    .option('--aggregation <kind>', `${AGGREGATIONS.join(' | ')}${dflt(CREATE_DEFAULTS.aggregation)}`)
    .option('--beta <fraction>', 'trimmed-mean: fraction trimmed at each end, 0 <= beta < 0.5 (default 0.1)')
    .option('--f <n>', 'krum: Byzantine peers tolerated (default 1; needs min-participants >= f + 3)')
    .option('--m <n>', 'krum: deltas averaged (default 1)')
    .option('--compression <kind>', `${COMPRESSIONS.join(' | ')}${dflt(CREATE_DEFAULTS.compression)}`)
    .option('--fraction <f>', 'topk: fraction of coordinates kept (default 0.1)')
    .option('--block-size <n>', 'int8: values per scale (default 256)')
    .option('--target <accuracy>', 'finish early at this accuracy: 0.95 or 95%')
    .option('--round-timeout-ms <ms>', 'timing: re-announce a round still short of participants after this long')
    .option('--min-wait-ms <ms>', 'timing: earliest round deadline')
    .option('--cap-ms <ms>', 'timing: latest round deadline')
    .option('--deadline-k <k>', 'timing: deadline = median + k * MAD of delta arrivals')
    .option('--seal-timeout-ms <ms>', 'timing: per aggregator attempt'))
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & CreateFlags>()
      const req = buildCreateRequest(opts)
      const api = await connect(opts)
      const { id } = await api.request<{ id: string }>('POST', '/v1/training/jobs', { json: req })
      output(opts.json === true, { id }, () => id)
    })

  common(train.command('join <jobId>')
    .description('take part in a job with a local dataset, or with one share of it (--partition, for simulations)')
    .requiredOption('--dataset <name>', 'the data this node trains on: digits, mnist, or an imported dataset')
    .option('--partition <scheme>', `train on one share: ${PARTITIONS.join(' | ')} (default iid when --index/--of are given)`)
    .option('--index <i>', 'this node\'s share, 0-based, < --of')
    .option('--of <n>', 'number of shares')
    .option('--seed <n>', 'partition seed (default 1)')
    .option('--alpha <a>', 'dirichlet: concentration, smaller = more label skew (default 0.5)')
    .option('--test-fraction <f>', 'held out for evaluation (default 0.2)'))
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

  common(train.command('status [jobId]')
    .description('the jobs this node knows, or one job\'s rounds: ROUND ACC LOSS F1 PARTICIPANTS SENT RECV DURATION'))
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

  common(train.command('watch <jobId>')
    .description('print the rounds done so far, then one line per round as it is accepted, until the job finishes (Ctrl-C stops); --json prints one JSON object per line'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const ac = new AbortController()
      const onInt = (): void => { ac.abort() }
      process.once('SIGINT', onInt)
      try {
        const r = await watchJob(api, id, { json: opts.json, signal: ac.signal, write: line => process.stdout.write(line + '\n') })
        if (r.outcome === 'interrupted') process.exitCode = 130
      } finally {
        process.off('SIGINT', onInt)
      }
    })

  common(train.command('plot <jobId>')
    .description('write an SVG chart of accuracy (left axis) and loss (right axis) per round. SVG only: no rasteriser is installed, so -o x.png is refused; convert the SVG with e.g. rsvg-convert')
    .option('-o, --output <file>', 'the .svg file to write, or - for stdout (default job-<id>.svg)')
    .option('--width <px>', 'chart width, 200..4000 (default 720)')
    .option('--height <px>', 'chart height, 150..3000 (default 360)'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { output?: string, width?: string, height?: string }>()
      if (opts.output !== undefined) checkPlotOutput(opts.output)
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const res = await api.fetch('GET', `/v1/training/jobs/${id}/plot`, { query: { format: 'svg', width: opts.width, height: opts.height } })
      const svg = await res.text()
      const file = opts.output ?? `job-${shortJobId(id)}.svg`
      if (file === '-') { process.stdout.write(svg); return }
      await writeFile(file, svg)
      output(opts.json === true, { file, bytes: Buffer.byteLength(svg) }, () => `wrote ${file}`)
    })

  const dataset = common(train.command('dataset').description('datasets this node trains on: import CSV or JSON lines, list them'))

  common(dataset.command('import <name> <file>')
    .description('import a dataset from a CSV (features then an integer label per row) or JSON-lines ({"x": [...], "y": n}) file, at most 64 MiB')
    .option('--format <format>', 'csv or jsonl (default: jsonl for .jsonl/.ndjson files, else csv)')
    .option('--label-column <col>', 'csv: first, last or a 0-based index (default last)')
    .option('--header', 'csv: the first line names the columns (default: detected)')
    .option('--no-header', 'csv: the first line is data'))
    .action(async (name: string, file: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { format?: string, labelColumn?: string, header?: boolean }>()
      const format = datasetFormatOf(file, opts.format)
      const labelColumn = opts.labelColumn === undefined ? undefined : labelColumnFlag(opts.labelColumn)
      let size: number
      try { size = (await stat(file)).size } catch (err) { throw new MeshError('ERR_ARGUMENT', `cannot read ${file}: ${(err as Error).message}`, { cause: err }) }
      if (size > MAX_DATASET_UPLOAD_BYTES) throw new MeshError('ERR_ARGUMENT', `${file} is ${size} bytes; datasets are imported up to 64 MiB`)
      const body = await readFile(file)
      const api = await connect(opts)
      const info = await api.request<DatasetInfo>('POST', `/v1/training/datasets/${encodeURIComponent(name)}`, {
        query: { format, labelColumn, header: opts.header },
        body,
        contentType: DATASET_CONTENT_TYPES[format]
      })
      output(opts.json === true, info, () => keyValues([['dataset', info.name], ['rows', info.rows], ['features', info.features], ['classes', info.classes]]))
    })

  common(dataset.command('ls')
    .description('list built-in and imported datasets'))
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags>()
      const api = await connect(opts)
      const { datasets } = await api.request<{ datasets: DatasetInfo[] }>('GET', '/v1/training/datasets')
      output(opts.json === true, datasets, () => datasets.length === 0
        ? 'no datasets'
        : table(['NAME', 'ROWS', 'FEATURES', 'CLASSES', 'SOURCE'], datasets.map(d => [d.name, d.rows, d.features, d.classes, d.builtin ? 'built-in' : 'imported'])))
    })
}
