/**
 * `meshnode train export | evaluate | predict`: a job's trained model outside the mesh. `export` writes a TensorFlow.js
 * layers model (model.json + weights.bin, for `tf.loadLayersModel`), meshnode.json (what the model is and how to feed
 * it) and model.mnd1 (the raw tensor file) into a folder.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import type { Evaluation, ExportMeta, Prediction } from '../../../training/index.js'
import { keyValues, output, table } from '../format.js'
import { argError } from '../train-flags.js'
import type { Connect } from './info.js'
import { common, resolveJobId, type CommonFlags } from './train-common.js'

interface ExportBundle { 'model.json': unknown, 'weights.bin': string, 'meshnode.json': ExportMeta }

/** Raw feature rows from CSV text: every field numeric; a first line that is not is a header and skipped. */
export function parseFeatureRows (text: string): number[][] {
  const lines = text.split('\n').map(l => l.replace(/\r$/, '')).filter(l => l.trim() !== '')
  const rows: number[][] = []
  lines.forEach((line, i) => {
    const fields = line.split(',').map(f => f.trim().replace(/^"(.*)"$/, '$1'))
    const values = fields.map(f => f === '' ? NaN : Number(f))
    if (values.some(v => !Number.isFinite(v))) {
      if (i === 0) return // a header
      throw argError(`line ${i + 1}: ${JSON.stringify(fields[values.findIndex(v => !Number.isFinite(v))])} is not a number`)
    }
    rows.push(values)
  })
  if (rows.length === 0) throw argError('no rows to predict')
  return rows
}

/** The confusion matrix as a table, rows true classes, columns predicted ones. */
function confusionTable (e: Evaluation): string {
  const names = e.confusion.map((_, i) => e.classLabels?.[i] ?? String(i))
  return table(['TRUE\\PRED', ...names], e.confusion.map((row, i) => [names[i], ...row]))
}

const pct = (v: number | null): string => v == null ? '-' : `${(v * 100).toFixed(2)}%`

/** `train export | evaluate | predict`. */
export function registerTrainModelCommands (train: Command, connect: Connect): void {
  common(train.command('export <jobId>')
    .description('write the job\'s current model to a folder: model.json + weights.bin (tf.loadLayersModel), meshnode.json, model.mnd1')
    .requiredOption('-o, --out <dir>', 'folder to write (created if missing)'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { out: string }>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const bundle = await api.request<ExportBundle>('GET', `/v1/training/jobs/${id}/model`, { query: { format: 'tfjs' } })
      const raw = new Uint8Array(await (await api.fetch('GET', `/v1/training/jobs/${id}/model`, { query: { format: 'mnd1' } })).arrayBuffer())
      await mkdir(opts.out, { recursive: true })
      const files = {
        'model.json': JSON.stringify(bundle['model.json']),
        'weights.bin': Buffer.from(bundle['weights.bin'], 'base64'),
        'meshnode.json': JSON.stringify(bundle['meshnode.json'], null, 2) + '\n',
        'model.mnd1': raw
      }
      for (const [name, data] of Object.entries(files)) await writeFile(path.join(opts.out, name), data)
      const meta = bundle['meshnode.json']
      output(opts.json === true, { dir: path.resolve(opts.out), files: Object.keys(files), meta }, () => keyValues([
        ['job', meta.job], ['round', meta.round], ['model', meta.modelCid], ['hash', meta.modelHash],
        ['features', meta.features], ['classes', meta.classLabels?.join(', ') ?? meta.classes],
        ['standardized', meta.standardization != null ? 'yes (apply meshnode.json\'s mean and scale to raw rows)' : 'no'],
        ['written', `${path.resolve(opts.out)}: ${Object.keys(files).join(', ')}`]
      ]))
    })

  common(train.command('evaluate <jobId>')
    .description('score the job\'s current model: accuracy, loss, macro precision/recall/F1 and the confusion matrix')
    .option('--dataset <name>', 'evaluate on all rows of this dataset (default: this node\'s held-out split)'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { dataset?: string }>()
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const e = await api.request<Evaluation>('POST', `/v1/training/jobs/${id}/evaluate`, { json: opts.dataset != null ? { dataset: opts.dataset } : {} })
      output(opts.json === true, e, () => `${keyValues([
        ['round', e.round], ['dataset', `${e.dataset} (${e.rows} rows)`], ['accuracy', pct(e.accuracy)], ['loss', e.loss?.toFixed(4)],
        ['precision', pct(e.precision)], ['recall', pct(e.recall)], ['f1', pct(e.f1)]
      ])}\n\n${confusionTable(e)}`)
    })

  common(train.command('predict <jobId>')
    .description('predict a class for each row of a CSV of raw features (no label column): one label per line')
    .requiredOption('--input <file>', 'CSV of feature rows'))
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { input: string }>()
      let text: string
      try { text = await readFile(opts.input, 'utf8') } catch (err) { throw argError(`cannot read ${opts.input}: ${(err as Error).message}`, err) }
      const rows = parseFeatureRows(text)
      const api = await connect(opts)
      const id = await resolveJobId(api, jobId)
      const res = await api.request<{ round: number, modelCid: string, predictions: Prediction[] }>('POST', `/v1/training/jobs/${id}/predict`, { json: { rows } })
      output(opts.json === true, res, () => res.predictions.map(p => p.label).join('\n'))
    })
}
