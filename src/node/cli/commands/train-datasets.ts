/** `meshnode train dataset import | ls`: the datasets the local daemon trains on. */
import { readFile, stat } from 'node:fs/promises'
import type { Command } from 'commander'
import { MAX_DATASET_UPLOAD_BYTES, type DatasetInfo } from '../../../training/index.js'
import { output, keyValues, table } from '../format.js'
import { DATASET_CONTENT_TYPES, datasetFormatOf, labelColumnFlag } from '../train-args.js'
import { argError } from '../train-flags.js'
import type { Connect } from './info.js'
import { common, type CommonFlags } from './train-common.js'

/** `train dataset import | ls`. */
export function registerTrainDatasetCommands (train: Command, connect: Connect): void {
  const dataset = common(train.command('dataset').description('datasets this node trains on: import CSV or JSON lines, list them'))

  common(dataset.command('import <name> <file>')
    .description('import a dataset from a CSV (features then a label per row: a class index or a class name) or JSON-lines ({"x": [...], "y": n or "name"}) file, at most 64 MiB')
    .option('--format <format>', 'csv or jsonl (default: jsonl for .jsonl/.ndjson files, else csv)')
    .option('--label-column <col>', 'csv: first, last or a 0-based index (default last)')
    .option('--header', 'csv: the first line names the columns (default: detected)')
    .option('--no-header', 'csv: the first line is data')
    .option('--labels <names>', 'class names in class-index order, comma-separated (default: names sorted)')
    .option('--standardize', 'scale each feature to mean 0, deviation 1; the statistics are kept and applied at predict time'))
    .action(async (name: string, file: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { format?: string, labelColumn?: string, header?: boolean, labels?: string, standardize?: boolean }>()
      const format = datasetFormatOf(file, opts.format)
      const labelColumn = opts.labelColumn === undefined ? undefined : labelColumnFlag(opts.labelColumn)
      let size: number
      try { size = (await stat(file)).size } catch (err) { throw argError(`cannot read ${file}: ${(err as Error).message}`, err) }
      if (size > MAX_DATASET_UPLOAD_BYTES) throw argError(`${file} is ${size} bytes; datasets are imported up to ${MAX_DATASET_UPLOAD_BYTES / 2 ** 20} MiB`)
      const body = await readFile(file)
      const api = await connect(opts)
      const info = await api.request<DatasetInfo>('POST', `/v1/training/datasets/${encodeURIComponent(name)}`, {
        query: { format, labelColumn, header: opts.header, labels: opts.labels, standardize: opts.standardize },
        body,
        contentType: DATASET_CONTENT_TYPES[format]
      })
      for (const w of info.warnings ?? []) if (opts.json !== true) process.stderr.write(`warning: ${w}\n`)
      output(opts.json === true, info, () => keyValues([
        ['dataset', info.name], ['rows', info.rows], ['features', info.features], ['classes', info.classes],
        ...(info.labels != null ? [['labels', info.labels.join(', ')] as [string, string]] : []),
        ...(info.standardized === true ? [['standardized', 'yes'] as [string, string]] : [])
      ]))
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
