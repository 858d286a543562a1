/** `meshnode train watch | plot`: follow a job's rounds live, or chart them. */
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { output } from '../format.js'
import { checkPlotOutput } from '../train-args.js'
import { shortJobId } from '../train-format.js'
import { watchJob } from '../train-watch.js'
import type { Connect } from './info.js'
import { common, resolveJobId, type CommonFlags } from './train-common.js'

/** `train watch | plot`. */
export function registerTrainProgressCommands (train: Command, connect: Connect): void {
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
}
