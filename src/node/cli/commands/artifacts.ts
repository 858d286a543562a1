/**
 * `meshnode artifacts add | get | ls | pin | rm | gc`: artifacts through the local daemon's admin API. Transfers are
 * streamed both ways; a progress line (bytes/total, MB/s) goes to stderr for large transfers when stderr is a TTY.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import { formatBytes, output, keyValues, table } from '../format.js'
import { MeshError } from '../../../common/errors.js'
// the kinds without the record's schemas, and only types from storage: a client command loads neither TypeBox nor
// the storage subsystem (parseRound loads the round schema when --round is given)
import { ARTIFACT_KINDS } from '../../../storage/protocol/artifact-kinds.js'
import type {
  ArtifactAddResult, ArtifactFilter, ArtifactInfo, ArtifactKind, ArtifactUnpinResult, GcResult, StorageUsage
} from '../../../storage/index.js'
import type { Connect } from './info.js'

/** Transfers below this size finish too fast for a progress line to help. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024
const KINDS = ARTIFACT_KINDS.join(', ')

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

/**
 * A pass-through that redraws one stderr line with bytes/total and MB/s, at most every 200 ms. A no-op unless stderr
 * is a TTY and the transfer is large (or of unknown size).
 */
export function progress (label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): Transform {
  const enabled = stream.isTTY === true && (total == null || total >= PROGRESS_MIN_BYTES)
  const start = Date.now()
  let done = 0
  let last = 0
  const draw = (final: boolean): void => {
    const secs = Math.max((Date.now() - start) / 1000, 0.001)
    const rate = done / 1e6 / secs
    const of = total != null ? ` / ${formatBytes(total)} (${Math.floor(done / total * 100)}%)` : ''
    stream.write(`\r${label} ${formatBytes(done)}${of}  ${rate.toFixed(1)} MB/s\u001b[K${final ? '\n' : ''}`)
  }
  return new Transform({
    transform (chunk: Buffer, _enc, cb) {
      done += chunk.byteLength
      if (enabled && Date.now() - last >= 200) { last = Date.now(); draw(false) }
      cb(null, chunk)
    },
    flush (cb) {
      if (enabled) draw(true)
      cb()
    }
  })
}

// flags are checked against the API's own schemas before anything is sent

async function parseRound (v: string | undefined): Promise<number | undefined> {
  if (v == null) return undefined
  const [{ Value }, { RoundSchema }] = await Promise.all([import('@sinclair/typebox/value'), import('../../../storage/protocol/artifact-record.js')])
  const n = Number(v)
  if (!Value.Check(RoundSchema, n)) throw new MeshError('ERR_ARGUMENT', `--round must be an integer from 0 to ${RoundSchema.maximum}, got ${JSON.stringify(v)}`)
  return n
}

function parseKind (v: string | undefined): ArtifactKind | undefined {
  if (v == null) return undefined
  const kind = ARTIFACT_KINDS.find(k => k === v)
  if (kind == null) throw new MeshError('ERR_ARGUMENT', `--kind must be one of ${KINDS}, got ${JSON.stringify(v)}`)
  return kind
}

function describe (a: ArtifactInfo): string {
  return keyValues([
    ['cid', a.cid], ['name', a.name], ['kind', a.kind], ['size', `${formatBytes(a.size)} (${a.size} bytes)`], ['media type', a.mediaType],
    ['producer', a.producer], ['job', a.job], ['round', a.round], ['created', new Date(a.createdAt).toISOString()], ['local', a.local ? 'yes (pinned)' : 'no']
  ])
}

/** Options every artifacts command takes. */
interface CommonOpts { dataDir?: string, json?: boolean }

/** Register the `artifacts` command group. */
export function registerArtifactCommands (program: Command, connect: Connect): void {
  const group = program.command('artifacts').description('add, fetch, list, pin and remove artifacts (models, deltas, datasets) stored in IPFS')
  const command = (spec: string, description: string): Command => group.command(spec).description(description)
  addCommand(command('add <file>', 'add a file as an artifact: stored, pinned, signed and announced to peers'), connect)
  getCommand(command('get <cid>', 'fetch an artifact (from this node or its peers) to a file, or to stdout'), connect)
  lsCommand(command('ls', 'list artifacts: local ones and those peers announced'), connect)
  pinCommand(command('pin <cid>', 'pin an artifact here, fetching it from peers if needed'), connect)
  rmCommand(command('rm <cid>', 'unpin an artifact (its space is freed by the next gc)'), connect)
  gcCommand(command('gc', 'delete unpinned blocks and show storage usage'), connect)
}

/** The options every command ends with. */
function common (cmd: Command, json = 'machine-readable output'): Command {
  return cmd.option('--data-dir <dir>', 'data directory').option('--json', json)
}

function addCommand (cmd: Command, connect: Connect): void {
  common(cmd
    .option('--name <name>', 'artifact name (default: the file name)')
    .option('--kind <kind>', `one of ${KINDS}`, 'other')
    .option('--media-type <type>', 'media type, e.g. application/octet-stream')
    .option('--job <id>', 'training job this artifact belongs to')
    .option('--round <n>', 'training round'))
    .action(async (file: string, opts: CommonOpts & { name?: string, kind: string, mediaType?: string, job?: string, round?: string }) => {
      const kind = parseKind(opts.kind)
      const round = await parseRound(opts.round)
      const st = await stat(file).catch(() => undefined)
      if (st == null || !st.isFile()) throw new MeshError('ERR_ARGUMENT', `${file} is not a readable file`)
      const api = await connect(opts)
      const body = createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(progress('adding', st.size))
      const r = await api.request<ArtifactAddResult>('POST', '/v1/artifacts', {
        query: { name: opts.name ?? basename(file), kind, mediaType: opts.mediaType, job: opts.job, round },
        body
      })
      output(opts.json === true, r, () => `${r.cid}  ${formatBytes(r.size)}`)
    })
}

function getCommand (cmd: Command, connect: Connect): void {
  common(cmd.option('-o, --output <file>', 'write to this file (default: stdout)'), 'print a JSON summary (requires -o)')
    .action(async (cid: string, opts: CommonOpts & { output?: string }) => {
      if (opts.json === true && opts.output == null) throw new MeshError('ERR_ARGUMENT', '--json needs -o <file>: the bytes would go to stdout')
      if (opts.output == null && process.stdout.isTTY === true) throw new MeshError('ERR_ARGUMENT', 'refusing to write an artifact to the terminal: use -o <file> or redirect stdout')
      const api = await connect(opts)
      const res = await api.fetch('GET', `/v1/artifacts/${encodeURIComponent(cid)}`)
      const total = Number(res.headers.get('content-length') ?? NaN)
      const source = Readable.fromWeb(res.body as any)
      const bar = progress('fetching', Number.isFinite(total) ? total : undefined)
      if (opts.output == null) {
        await pipeline(source, bar, process.stdout)
        return
      }
      // write next to the target and rename: an interrupted download never leaves a truncated file under its name
      const partial = `${opts.output}.partial`
      try {
        await pipeline(source, bar, createWriteStream(partial))
        await rename(partial, opts.output)
      } catch (err) {
        await rm(partial, { force: true })
        throw err
      }
      const size = (await stat(opts.output)).size
      output(opts.json === true, { cid, size, file: opts.output }, () => `${cid} -> ${opts.output} (${formatBytes(size)})`)
    })
}

function lsCommand (cmd: Command, connect: Connect): void {
  common(cmd
    .option('--kind <kind>', `only this kind (${KINDS})`)
    .option('--name <name>', 'only this name')
    .option('--producer <peerId>', 'only from this producer')
    .option('--job <id>', 'only this job')
    .option('--round <n>', 'only this round')
    .option('--local', 'only artifacts stored here'))
    .action(async (opts: CommonOpts & { kind?: string, name?: string, producer?: string, job?: string, round?: string, local?: boolean }) => {
      const query: ArtifactFilter = { kind: parseKind(opts.kind), name: opts.name, producer: opts.producer, job: opts.job, round: await parseRound(opts.round), local: opts.local === true ? true : undefined }
      const api = await connect(opts)
      const { artifacts } = await api.request<{ artifacts: ArtifactInfo[] }>('GET', '/v1/artifacts', { query })
      output(opts.json === true, artifacts, () => artifacts.length === 0
        ? 'no artifacts'
        : table(['CID', 'NAME', 'KIND', 'SIZE', 'JOB', 'ROUND', 'PRODUCER', 'LOCAL'],
          artifacts.map(a => [a.cid, a.name, a.kind, formatBytes(a.size), a.job, a.round, short(a.producer), a.local ? 'yes' : 'no'])))
    })
}

function pinCommand (cmd: Command, connect: Connect): void {
  common(cmd).action(async (cid: string, opts: CommonOpts) => {
    const api = await connect(opts)
    const a = await api.request<ArtifactInfo>('POST', `/v1/artifacts/${encodeURIComponent(cid)}/pin`)
    output(opts.json === true, a, () => describe(a))
  })
}

function rmCommand (cmd: Command, connect: Connect): void {
  common(cmd).action(async (cid: string, opts: CommonOpts) => {
    const api = await connect(opts)
    const r = await api.request<ArtifactUnpinResult>('DELETE', `/v1/artifacts/${encodeURIComponent(cid)}`)
    output(opts.json === true, r, () => `unpinned ${r.cid} (run \`meshnode artifacts gc\` to free the space)`)
  })
}

function gcCommand (cmd: Command, connect: Connect): void {
  common(cmd).action(async (opts: CommonOpts) => {
    const api = await connect(opts)
    const gc = await api.request<GcResult>('POST', '/v1/storage/gc')
    const usage = await api.request<StorageUsage>('GET', '/v1/storage')
    output(opts.json === true, { ...gc, ...usage }, () => `freed ${formatBytes(gc.freedBytes)} (${gc.removedBlocks} blocks); using ${formatBytes(usage.usedBytes)} of ${formatBytes(usage.quotaBytes)}`)
  })
}
