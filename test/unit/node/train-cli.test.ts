/**
 * `meshnode train`: the pure parts (SSE parser, training event decoder, flag parsing, tables and lines), then the
 * commands end to end through commander, the real ApiClient and a real admin server on loopback (routes + event
 * stream) backed by an in-memory training service.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach, vi } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { Registry } from 'prom-client'
import { XMLValidator } from 'fast-xml-parser'
import { SseParser, parseTrainingEvent, type SseEvent } from '../../../src/node/cli/train-sse.js'
import { formatDuration, formatPct, roundLine, roundsTable, jobsTable, finishedLine, type RoundLine } from '../../../src/node/cli/train-format.js'
import { formatBytes } from '../../../src/node/cli/format.js'
import { buildCreateRequest, buildJoinRequest, matchJobId, datasetFormatOf, labelColumnFlag, checkPlotOutput, type CreateFlags, type JoinFlags } from '../../../src/node/cli/train-args.js'
import { watchJob } from '../../../src/node/cli/train-watch.js'
import { registerTrainCommands } from '../../../src/node/cli/commands/train.js'
import { ApiClient } from '../../../src/node/cli/client.js'
import { startApiServer, type ApiServer } from '../../../src/node/api/server.js'
import { trainingRoutes } from '../../../src/node/api/routes/training.js'
import { observabilityRoutes } from '../../../src/node/api/routes/observability.js'
import { EventBus, type NodeEvent } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import { MeshError } from '../../../src/common/errors.js'
import { TrainingError } from '../../../src/training/errors.js'
import type { CreateJobRequest, DatasetInfo, JobView, JoinJobRequest, RoundReport, TrainingApi } from '../../../src/training/service/api-types.js'
import { FakeTrainingJobs } from './fake-training.js'

/** Poll until `cond` holds, failing after `ms` (no bare sleeps). */
async function waitFor (cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('SseParser', () => {
  const cases: Array<[string, string, SseEvent[]]> = [
    ['one event', 'event: training.round\ndata: {"a":1}\n\n', [{ event: 'training.round', data: '{"a":1}' }]],
    ['no event field means message', 'data: x\n\n', [{ event: 'message', data: 'x' }]],
    ['multi-line data joined with LF', 'data: a\ndata: b\ndata:\n\n', [{ event: 'message', data: 'a\nb\n' }]],
    ['no space after the colon', 'event:e\ndata:x y\n\n', [{ event: 'e', data: 'x y' }]],
    ['only one leading space stripped', 'data:  two\n\n', [{ event: 'message', data: ' two' }]],
    ['CRLF line ends', 'event: e\r\ndata: 1\r\n\r\n', [{ event: 'e', data: '1' }]],
    ['CR line ends', 'event: e\rdata: 1\r\r', [{ event: 'e', data: '1' }]],
    ['comments and keep-alives ignored', ': meshnode events\n\n: keep-alive\n\nevent: e\n: inside\ndata: 1\n\n', [{ event: 'e', data: '1' }]],
    ['an event without data is not dispatched and resets its type', 'event: lonely\n\ndata: 2\n\n', [{ event: 'message', data: '2' }]],
    ['id is kept', 'id: 7\nevent: e\ndata: 1\n\n', [{ event: 'e', data: '1', id: '7' }]],
    ['retry and unknown fields ignored', 'retry: 100\nfoo: bar\ndata: 1\n\n', [{ event: 'message', data: '1' }]],
    ['a field without a colon', 'data\n\n', [{ event: 'message', data: '' }]],
    ['a leading BOM is dropped', '\uFEFFdata: 1\n\n', [{ event: 'message', data: '1' }]],
    ['an unterminated event is not dispatched', 'data: 1\n\ndata: 2\n', [{ event: 'message', data: '1' }]],
    ['several events', 'event: a\ndata: 1\n\nevent: b\ndata: 2\n\n', [{ event: 'a', data: '1' }, { event: 'b', data: '2' }]],
    ['data containing colons', 'data: {"at":"12:00:01"}\n\n', [{ event: 'message', data: '{"at":"12:00:01"}' }]]
  ]

  it.each(cases)('%s: whole, char by char, and split at every position', (_name, text, expected) => {
    const whole = new SseParser()
    expect([...whole.push(text), ...whole.end()]).toEqual(expected)
    const chars = new SseParser()
    expect([...[...text].flatMap(ch => chars.push(ch)), ...chars.end()]).toEqual(expected)
    for (let i = 0; i <= text.length; i++) {
      const p = new SseParser()
      expect([...p.push(text.slice(0, i)), ...p.push(text.slice(i)), ...p.end()], `split at ${i}`).toEqual(expected)
    }
  })

  it('dispatches an event as soon as its blank line arrives', () => {
    const p = new SseParser()
    expect(p.push('event: e\ndata: 1\n')).toEqual([])
    expect(p.push('\n')).toEqual([{ event: 'e', data: '1' }])
  })
})

describe('parseTrainingEvent', () => {
  const round = { jobId: 'j1', round: 3, accuracy: 0.9, loss: 0.3, f1: 0.88, participants: 4, bytesSent: 10, bytesReceived: 20, durationMs: 1500, at: '2025-01-01T00:00:00Z' }
  const cases: Array<[string, SseEvent, ReturnType<typeof parseTrainingEvent>]> = [
    ['a round', { event: 'training.round', data: JSON.stringify(round) },
      { kind: 'round', jobId: 'j1', report: { round: 3, accuracy: 0.9, loss: 0.3, f1: 0.88, participants: 4, bytesSent: 10, bytesReceived: 20, durationMs: 1500 } }],
    ['a round with null metrics', { event: 'training.round', data: JSON.stringify({ ...round, loss: null, f1: 'x' }) },
      { kind: 'round', jobId: 'j1', report: { round: 3, accuracy: 0.9, loss: null, f1: null, participants: 4, bytesSent: 10, bytesReceived: 20, durationMs: 1500 } }],
    ['finished', { event: 'training.finished', data: '{"jobId":"j1","reason":"target"}' }, { kind: 'finished', jobId: 'j1', reason: 'target' }],
    ['finished without reason', { event: 'training.finished', data: '{"jobId":"j1"}' }, { kind: 'finished', jobId: 'j1', reason: null }],
    ['another event type', { event: 'peer.connected', data: '{"jobId":"j1"}' }, undefined],
    ['bad JSON', { event: 'training.round', data: '{' }, undefined],
    ['an array', { event: 'training.round', data: '[]' }, undefined],
    ['no job id', { event: 'training.round', data: JSON.stringify({ ...round, jobId: undefined }) }, undefined],
    ['a negative round', { event: 'training.round', data: JSON.stringify({ ...round, round: -1 }) }, undefined],
    ['a fractional round', { event: 'training.round', data: JSON.stringify({ ...round, round: 1.5 }) }, undefined]
  ]
  it.each(cases)('%s', (_name, ev, expected) => {
    expect(parseTrainingEvent(ev)).toEqual(expected)
  })
})

describe('formatting', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [5 * 1024 ** 2, '5.0 MiB'], [3 * 1024 ** 3, '3.0 GiB'], [NaN, '-']])('formatBytes(%d) = %s', (n, s) => {
    expect(formatBytes(n)).toBe(s)
  })
  it.each([[0, '0 ms'], [850, '850 ms'], [1000, '1.0 s'], [12_345, '12.3 s'], [245_000, '4m05s'], [7_380_000, '2h03m']])('formatDuration(%d) = %s', (ms, s) => {
    expect(formatDuration(ms)).toBe(s)
  })
  it.each([[0.9123, '91.2%'], [1, '100.0%'], [0, '0.0%'], [null, '-'], [NaN, '-']])('formatPct(%s) = %s', (v, s) => {
    expect(formatPct(v)).toBe(s)
  })

  const line: RoundLine = { round: 7, accuracy: 0.9123, loss: 0.31234, f1: 0.9, participants: 3, bytesSent: 1536, bytesReceived: 5 * 1024 ** 2, durationMs: 2100 }
  it('renders a round line', () => {
    expect(roundLine(line)).toBe('round   7  acc  91.2%  loss 0.3123  f1 0.9000  peers 3  sent 1.5 KiB  recv 5.0 MiB  2.1 s')
    expect(roundLine({ ...line, loss: null, accuracy: null })).toContain('acc      -  loss -')
  })

  it('renders the rounds table with the documented columns, sorted by round', () => {
    const t = roundsTable([{ ...line, round: 2 }, { ...line, round: 1, accuracy: 0.5 }]).split('\n')
    expect(t[0].split(/\s+/)).toEqual(['ROUND', 'ACC', 'NODES', 'HERE', 'LOSS', 'F1', 'PARTICIPANTS', 'SENT', 'RECV', 'DURATION', 'CONTRIBUTORS'])
    expect(t[1]).toMatch(/^-+( +-+){10}$/)
    // no pooled figure yet: ACC and NODES are '-', HERE is this node's own
    expect(t[2].split(/\s+/)).toEqual(['1', '-', '-', '50.0%', '0.3123', '0.9000', '3', '1.5', 'KiB', '5.0', 'MiB', '2.1', 's', '-'])
    expect(t[3].startsWith('2 ')).toBe(true)
    // columns line up
    expect(t[2].indexOf('50.0%')).toBe(t[0].indexOf('HERE'))
  })

  // issue 11, defects 2-3: the job's figure is pooled over the contributors; this node's own figure beside it
  it('shows the pooled accuracy, how many contributors it pools, this node\'s own, and the contributors', () => {
    const t = roundsTable([{ ...line, round: 0, accuracy: 0.942, pooled: { accuracy: 0.9612, nodes: 3, of: 3 }, contributors: ['12D3KooWaaaaaa111111', '12D3KooWbbbbbb222222'] }]).split('\n')
    expect(t[2].split(/\s+/)).toEqual(['0', '96.1%', '3/3', '94.2%', '0.3123', '0.9000', '3', '1.5', 'KiB', '5.0', 'MiB', '2.1', 's', '111111,222222'])
  })

  // issue 11, defect 7: `train watch` of a job its creator stopped ends instead of waiting forever
  it('reads training.stopped as the end of the job', () => {
    expect(parseTrainingEvent({ event: 'training.stopped', data: JSON.stringify({ jobId: 'j', round: 3, by: 'p' }) } as SseEvent)).toEqual({ kind: 'finished', jobId: 'j', reason: 'stopped' })
    expect(parseTrainingEvent({ event: 'training.stopped', data: JSON.stringify({ jobId: 'j', round: 3, by: 'p', reason: 'target' }) } as SseEvent)).toEqual({ kind: 'finished', jobId: 'j', reason: 'target' })
    expect(finishedLine('a'.repeat(64), 'stopped')).toBe(`job ${'a'.repeat(12)} finished: stopped by its creator`)
  })

  it('renders the jobs table', () => {
    const t = jobsTable([makeJob('a'.repeat(64), { round: 3, rounds: [report(0), report(1), report(2, { accuracy: 0.875 })] })]).split('\n')
    expect(t[0].split(/\s+/)).toEqual(['JOB', 'STATUS', 'ROUND', 'PHASE', 'PEERS', 'DATASET', 'MODEL', 'AGGREGATION', 'ACC'])
    expect(t[2].split(/\s+/)).toEqual(['aaaaaaaaaaaa', 'running', '3/20', 'collecting', '2', 'digits', 'mlp', '64-10', 'fedavg/fp32', '87.5%'])
  })

  it.each([['target', 'target accuracy reached'], ['rounds', 'all rounds done'], [null, 'finished']])('finished line for %s', (reason, text) => {
    expect(finishedLine('b'.repeat(64), reason)).toBe(`job bbbbbbbbbbbb finished: ${text}`)
  })
})

describe('flag parsing', () => {
  it('builds a create request with the documented defaults', () => {
    expect(buildCreateRequest({ dataset: 'digits' })).toEqual({
      model: { arch: 'mlp', layers: [64, 10], seed: 1 }, dataset: 'digits', rounds: 20, minParticipants: 2, localEpochs: 5, batchSize: 10,
      learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
    })
  })

  it('builds a create request from every flag', () => {
    expect(buildCreateRequest({
      dataset: 'mnist', arch: 'cnn', inputShape: '28,28,1', classes: '10', seed: '7', rounds: '50', minParticipants: '5', epochs: '2', batchSize: '32', lr: '0.05',
      aggregation: 'krum', f: '2', m: '3', compression: 'topk', fraction: '0.05', target: '97%', roundTimeoutMs: '60000', sealTimeoutMs: '5000', minWaitMs: '100', capMs: '9000', deadlineK: '2.5'
    })).toEqual({
      model: { arch: 'cnn', seed: 7, inputShape: [28, 28, 1], classes: 10 }, dataset: 'mnist', rounds: 50, minParticipants: 5, localEpochs: 2, batchSize: 32, learningRate: 0.05,
      aggregation: 'krum', aggregationParams: { f: 2, m: 3 }, compression: 'topk', compressionParams: { fraction: 0.05 }, target: { metric: 'accuracy', value: 0.97 },
      timing: { roundTimeoutMs: 60_000, sealTimeoutMs: 5000, minWaitMs: 100, capMs: 9000, deadlineK: 2.5 }
    })
    expect(buildCreateRequest({ dataset: 'd', aggregation: 'trimmed-mean', beta: '0.2', compression: 'int8', blockSize: '128', target: '0.9' }))
      .toMatchObject({ aggregationParams: { beta: 0.2 }, compressionParams: { blockSize: 128 }, target: { value: 0.9 } })
  })

  const badCreates: Array<[Partial<CreateFlags>, RegExp]> = [
    [{ dataset: undefined }, /--dataset is required/],
    [{ rounds: '0' }, /--rounds must be an integer in 1\.\.10000/],
    [{ rounds: '10001' }, /--rounds/],
    [{ rounds: '2.5' }, /--rounds/],
    [{ rounds: 'ten' }, /--rounds/],
    [{ minParticipants: '300' }, /--min-participants/],
    [{ epochs: '0' }, /--epochs/],
    [{ batchSize: '100001' }, /--batch-size/],
    [{ lr: '0' }, /--lr must be a number > 0 and <= 10/],
    [{ lr: '11' }, /--lr/],
    [{ lr: '' }, /--lr/],
    [{ layers: '64,,10' }, /--layers must be a comma-separated list/],
    [{ layers: '64,0' }, /--layers/],
    [{ layers: Array(17).fill('8').join(',') }, /at most 16/],
    [{ arch: 'rnn' }, /--arch must be one of mlp, cnn/],
    [{ arch: 'cnn' }, /--input-shape/],
    [{ arch: 'cnn', inputShape: '8,8' }, /H,W,C/],
    [{ arch: 'cnn', inputShape: '8,8,1', layers: '10' }, /--layers applies to --arch mlp only/],
    [{ inputShape: '8,8,1' }, /--input-shape applies to --arch cnn/],
    [{ aggregation: 'mean' }, /--aggregation must be one of fedavg, median, trimmed-mean, krum/],
    [{ sealVoting: 'vote' }, /--seal-voting must be one of majority, consensus/],
    [{ beta: '0.1' }, /--beta applies to --aggregation trimmed-mean only/],
    [{ aggregation: 'trimmed-mean', beta: '0.5' }, /--beta must be a number >= 0 and < 0.5/],
    [{ f: '1' }, /--f and --m apply to --aggregation krum only/],
    [{ aggregation: 'krum', minParticipants: '3' }, /needs --min-participants >= 4/],
    [{ aggregation: 'krum', minParticipants: '5', m: '6' }, /--m/],
    [{ compression: 'zip' }, /--compression/],
    [{ fraction: '0.1' }, /--fraction applies to --compression topk only/],
    [{ compression: 'topk', fraction: '0' }, /--fraction/],
    [{ blockSize: '8' }, /--block-size applies to --compression int8 only/],
    [{ target: '0' }, /--target/],
    [{ target: '1.5' }, /--target/],
    [{ target: '150%' }, /--target/],
    [{ seed: '-1' }, /--seed/],
    [{ minWaitMs: '5000', capMs: '10' }, /--cap-ms must be >= --min-wait-ms/],
    [{ deadlineK: '101' }, /--deadline-k/]
  ]
  it.each(badCreates)('refuses create flags %j', (flags, message) => {
    const f = { dataset: 'digits', ...flags }
    expect(() => buildCreateRequest(f)).toThrow(message)
    try { buildCreateRequest(f) } catch (err) { expect((err as MeshError).code).toBe('ERR_ARGUMENT') }
  })

  const joins: Array<[JoinFlags, JoinJobRequest]> = [
    [{ dataset: 'digits' }, { dataset: 'digits' }],
    [{ dataset: 'digits', index: '0', of: '5' }, { dataset: 'digits', partition: { scheme: 'iid', index: 0, of: 5, seed: 1 } }],
    [{ dataset: 'digits', partition: 'dirichlet', index: '4', of: '5', seed: '9', alpha: '0.3', testFraction: '0.1' },
      { dataset: 'digits', partition: { scheme: 'dirichlet', index: 4, of: 5, seed: 9, alpha: 0.3 }, testFraction: 0.1 }],
    [{ dataset: 'x', partition: 'shards', index: '1', of: '2' }, { dataset: 'x', partition: { scheme: 'shards', index: 1, of: 2, seed: 1 } }]
  ]
  it.each(joins)('builds join request from %j', (flags, req) => {
    expect(buildJoinRequest(flags)).toEqual(req)
  })

  const badJoins: Array<[JoinFlags, RegExp]> = [
    [{}, /--dataset is required/],
    [{ dataset: 'd', partition: 'iid' }, /--index and --of are both required/],
    [{ dataset: 'd', index: '5', of: '5' }, /--index must be < --of \(5\), got 5/],
    [{ dataset: 'd', index: '0', of: '0' }, /--of/],
    [{ dataset: 'd', partition: 'random', index: '0', of: '2' }, /--partition must be one of iid, shards, dirichlet/],
    [{ dataset: 'd', index: '0', of: '2', alpha: '0.5' }, /--alpha applies to --partition dirichlet only/],
    [{ dataset: 'd', partition: 'dirichlet', index: '0', of: '2', alpha: '0' }, /--alpha/],
    [{ dataset: 'd', seed: '3' }, /--seed picks the partition/],
    [{ dataset: 'd', testFraction: '1' }, /--test-fraction/]
  ]
  it.each(badJoins)('refuses join flags %j', (flags, message) => {
    expect(() => buildJoinRequest(flags)).toThrow(message)
  })

  const ids = ['abc0'.padEnd(64, '0'), 'abc1'.padEnd(64, '1'), 'def0'.padEnd(64, '2')]
  it.each([['abc0', ids[0]], ['ABC1', ids[1]], ['d', ids[2]], [ids[2], ids[2]]])('matchJobId(%s)', (prefix, id) => {
    expect(matchJobId(prefix, ids)).toBe(id)
  })
  it.each([['abc', 'ERR_ARGUMENT', /ambiguous/], ['9', 'ERR_NOT_FOUND', /no training job 9/], ['xyz', 'ERR_ARGUMENT', /not a job id/], ['', 'ERR_ARGUMENT', /not a job id/]])('matchJobId(%j) fails', (prefix, code, message) => {
    expect(() => matchJobId(prefix, ids)).toThrow(message)
    try { matchJobId(prefix, ids) } catch (err) { expect((err as MeshError).code).toBe(code) }
  })

  it.each([
    ['data.csv', undefined, 'csv'], ['data.jsonl', undefined, 'jsonl'], ['DATA.NDJSON', undefined, 'jsonl'], ['data.txt', undefined, 'csv'], ['data.csv', 'jsonl', 'jsonl']
  ] as const)('datasetFormatOf(%s, %s) = %s', (file, format, expected) => {
    expect(datasetFormatOf(file, format)).toBe(expected)
  })
  it('refuses an unknown dataset format', () => { expect(() => datasetFormatOf('x.csv', 'xlsx')).toThrow(/--format must be one of csv, jsonl/) })

  it.each([['first', 'first'], ['last', 'last'], ['0', '0'], ['3', '3']])('labelColumnFlag(%s)', (v, q) => { expect(labelColumnFlag(v)).toBe(q) })
  it.each(['middle', '-1', '1.5'])('labelColumnFlag refuses %s', (v) => { expect(() => labelColumnFlag(v)).toThrow(/--label-column/) })

  it.each(['chart.svg', 'out/CHART.SVG', '-'])('plot output %s is accepted', (p) => { expect(() => checkPlotOutput(p)).not.toThrow() })
  it.each([['chart.png', /cannot write PNG: only SVG output is supported \(no SVG rasteriser is installed\).*chart\.svg/], ['c.pdf', /cannot write PDF/], ['chart', /must name an \.svg file/]])('plot output %s is refused', (p, message) => {
    expect(() => checkPlotOutput(p)).toThrow(message)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// end to end: commander -> ApiClient -> admin server -> in-memory service

function report (round: number, over: Partial<RoundReport> = {}): RoundReport {
  return { round, accuracy: 0.6 + round / 100, loss: 1 / (round + 2), f1: 0.5, precision: 0.5, recall: 0.5, participants: 2, bytesSent: 2048, bytesReceived: 4096, durationMs: 900, modelCid: `bafy${round}`, modelHash: 'cd'.repeat(32), ...over }
}

function makeJob (id: string, over: Partial<JobView> = {}): JobView {
  return {
    id, status: 'running', round: 0, modelCid: 'bafyinitial', modelHash: null, phase: 'collecting', participants: ['p1', 'p2'], attempt: 0, aggregator: 'p1', joined: true, finishedReason: null,
    spec: {
      id, creator: 'p1', model: { arch: 'mlp', layers: [64, 10], seed: 1 }, dataset: 'digits', rounds: 20, minParticipants: 2, localEpochs: 5, batchSize: 10, learningRate: 0.1,
      aggregation: { kind: 'fedavg' }, compression: { kind: 'fp32' }, initialModelCid: 'bafyinitial', createdAt: 1, timing: { roundTimeoutMs: 1, deadlineK: 1, minWaitMs: 1, capMs: 1, sealTimeoutMs: 1 }
    },
    rounds: [],
    ...over
  }
}

/** An event bus that counts its live subscribers: one per open `/v1/events` stream. */
class CountingEventBus extends EventBus {
  live = 0
  override subscribe (listener: (e: NodeEvent) => void): () => void {
    const off = super.subscribe(listener)
    this.live++
    let done = false
    return () => {
      if (!done) { done = true; this.live-- }
      off()
    }
  }
}

class MemoryTraining extends FakeTrainingJobs implements TrainingApi {
  protected readonly creator = 'p1'
  created: CreateJobRequest[] = []
  joined: Array<[string, JoinJobRequest]> = []
  imports: Array<{ name: string, text: string, format: string, opts?: unknown }> = []
  datasets: DatasetInfo[] = [{ name: 'digits', rows: 1797, features: 64, classes: 10, builtin: true }]
  createJob = async (req: CreateJobRequest): Promise<{ id: string }> => {
    this.created.push(req)
    const id = String(this.created.length).padStart(64, 'e')
    this.jobs.set(id, makeJob(id, { status: 'announced', joined: false, participants: [] }))
    return { id }
  }

  joinJob = async (id: string, req: JoinJobRequest): Promise<JobView> => {
    const job = this.jobs.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no job ${id}`)
    this.joined.push([id, req])
    job.joined = true
    return job
  }

  leaveJob = async (id: string): Promise<JobView> => {
    const job = this.jobs.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no job ${id}`)
    Object.assign(job, { joined: false, status: 'left' })
    return job
  }

  listJobs = (): JobView[] => [...this.jobs.values()]
  getJob = (id: string): JobView | undefined => this.jobs.get(id)
  importDataset = async (name: string, text: string, format: 'csv' | 'jsonl', opts?: unknown): Promise<DatasetInfo> => {
    this.imports.push({ name, text, format, opts })
    const info = { name, rows: text.trim().split('\n').length, features: 2, classes: 2, builtin: false }
    this.datasets.push(info)
    return info
  }

  listDatasets = async (): Promise<DatasetInfo[]> => this.datasets
}

describe('train commands against a real admin server', () => {
  const TOKEN = 'cli-test-token-0123456789'
  let server: ApiServer
  let svc: MemoryTraining
  let events: CountingEventBus
  let dir: string
  let out: string[]
  let connected: Array<string | undefined>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshnode-train-cli-'))
    events = new CountingEventBus()
    svc = new MemoryTraining()
    server = await startApiServer({ host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [], bodyLimitBytes: 1024 * 1024, version: 'test', logger: silentLogger },
      [trainingRoutes({ training: svc }), observabilityRoutes({ registry: new Registry(), events })])
  })
  afterAll(async () => {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    out = []
    connected = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true })
  })
  afterEach(() => { vi.restoreAllMocks() })

  const run = async (...args: string[]): Promise<string> => {
    const program = new Command('meshnode').exitOverride().configureOutput({ writeErr: () => {}, writeOut: s => { out.push(s) } })
    registerTrainCommands(program, async (opts) => { connected.push(opts.dataDir); return new ApiClient(server.url, TOKEN) })
    await program.parseAsync(args, { from: 'user' })
    return out.join('')
  }

  // issue 11: stop, forget, export, evaluate and predict through the CLI
  it('stop, then forget a job', async () => {
    await run('train', 'create', '--dataset', 'digits')
    const id = String(svc.created.length).padStart(64, 'e')
    out.length = 0
    expect(await run('train', 'stop', id.slice(0, 12))).toBe(`stopped job ${id.slice(0, 12)} at round 0\n`)
    expect(svc.stops).toContain(id)
    out.length = 0
    expect(await run('train', 'forget', id)).toBe(`forgot job ${id.slice(0, 12)}\n`)
    expect(svc.jobs.has(id)).toBe(false)
  })

  it('export writes model.json, weights.bin, meshnode.json and model.mnd1', async () => {
    await run('train', 'create', '--dataset', 'digits')
    const id = String(svc.created.length).padStart(64, 'e')
    const outDir = join(dir, 'export')
    out.length = 0
    const printed = JSON.parse(await run('train', 'export', id, '-o', outDir, '--json'))
    expect(printed.files.sort()).toEqual(['meshnode.json', 'model.json', 'model.mnd1', 'weights.bin'])
    expect(JSON.parse(await readFile(join(outDir, 'model.json'), 'utf8'))).toMatchObject({ format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'] }] })
    expect(Array.from(await readFile(join(outDir, 'weights.bin')))).toEqual([1, 2, 3, 4])
    expect(JSON.parse(await readFile(join(outDir, 'meshnode.json'), 'utf8'))).toMatchObject({ job: id, features: 64, classes: 10 })
    expect((await readFile(join(outDir, 'model.mnd1'))).toString()).toBe('MND1')
  })

  it('evaluate prints the metrics and the confusion matrix; predict one label per row, probabilities under --json', async () => {
    await run('train', 'create', '--dataset', 'digits')
    const id = String(svc.created.length).padStart(64, 'e')
    out.length = 0
    const text = await run('train', 'evaluate', id, '--dataset', 'digits')
    expect(text).toMatch(/accuracy +75\.00%/)
    expect(text).toMatch(/f1 +50\.00%/)
    expect(text).toMatch(/TRUE\\PRED +no +yes\n[- ]+\nno +2 +0\nyes +1 +1/)
    const csv = join(dir, 'rows.csv')
    await writeFile(csv, 'a,b\n1,2\n-1,0\n3,3\n')
    out.length = 0
    expect(await run('train', 'predict', id, '--input', csv)).toBe('yes\nno\nyes\n')
    out.length = 0
    const json = JSON.parse(await run('train', 'predict', id, '--input', csv, '--json'))
    expect(json.predictions[1]).toEqual({ class: 0, label: 'no', probabilities: [0.8, 0.2] })
  })

  it('create --init-model asks for a warm start', async () => {
    await run('train', 'create', '--dataset', 'digits', '--init-model', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    expect(svc.created.at(-1)?.init).toEqual({ model: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' })
  })

  it('create --reward asks for a rewarded job (the amount travels as the decimal string typed)', async () => {
    await run('train', 'create', '--dataset', 'digits', '--reward', '12.5')
    expect(svc.created.at(-1)?.reward).toEqual({ total: '12.5' })
    await run('train', 'create', '--dataset', 'digits')
    expect(svc.created.at(-1)?.reward).toBeUndefined()
  })

  it('create --seal-voting names who accepts the job\'s seals (absent: the node decides)', async () => {
    await run('train', 'create', '--dataset', 'digits', '--seal-voting', 'majority')
    expect(svc.created.at(-1)?.sealVoting).toBe('majority')
    await run('train', 'create', '--dataset', 'digits')
    expect(svc.created.at(-1)?.sealVoting).toBeUndefined()
  })

  it('create prints the job id and sends the flags as a request', async () => {
    const text = await run('train', 'create', '--dataset', 'digits', '--rounds', '5', '--aggregation', 'trimmed-mean', '--beta', '0.2', '--target', '95%')
    const id = String(svc.created.length).padStart(64, 'e')
    expect(text).toBe(`${id}\n`)
    expect(svc.created.at(-1)).toMatchObject({ dataset: 'digits', rounds: 5, aggregation: 'trimmed-mean', aggregationParams: { beta: 0.2 }, target: { metric: 'accuracy', value: 0.95 }, minParticipants: 2 })
  })

  it('reads --json and --data-dir given after the subcommand', async () => {
    const text = await run('train', 'create', '--dataset', 'digits', '--json', '--data-dir', '/some/dir')
    expect(JSON.parse(text)).toEqual({ id: String(svc.created.length).padStart(64, 'e') })
    expect(connected).toEqual(['/some/dir'])
  })

  it.each([
    [['train', '--json', '--data-dir', '/a', 'dataset', 'ls']],
    [['train', 'dataset', '--json', 'ls', '--data-dir', '/a']],
    [['train', 'dataset', 'ls', '--data-dir', '/a', '--json']]
  ])('reads --json and --data-dir wherever they are given: %j', async (args) => {
    expect(JSON.parse(await run(...args))[0]).toMatchObject({ name: 'digits', builtin: true })
    expect(connected).toEqual(['/a'])
  })

  it('refuses bad flags before connecting', async () => {
    await expect(run('train', 'create', '--dataset', 'digits', '--rounds', '0')).rejects.toThrow(/--rounds/)
    await expect(run('train', 'plot', 'abc', '-o', 'chart.png')).rejects.toThrow(/only SVG output is supported/)
    expect(connected).toEqual([])
  })

  it('join, status (all and one, by prefix) and leave', async () => {
    const id = 'a1'.repeat(32)
    svc.jobs.set(id, makeJob(id, { round: 2, rounds: [report(1), report(0)] }))
    await run('train', 'join', 'a1a1a1', '--dataset', 'digits', '--partition', 'dirichlet', '--index', '1', '--of', '4', '--alpha', '0.5')
    expect(svc.joined.at(-1)).toEqual([id, { dataset: 'digits', partition: { scheme: 'dirichlet', index: 1, of: 4, seed: 1, alpha: 0.5 } }])

    out.length = 0
    const all = await run('train', 'status')
    expect(all.split('\n')[0]).toMatch(/^JOB\s+STATUS\s+ROUND/)
    expect(all).toMatch(/a1a1a1a1a1a1\s+running\s+2\/20/)

    out.length = 0
    const one = await run('train', 'status', 'a1a1')
    expect(one).toContain(`job           ${id}`)
    const table = one.split('\n\n')[1].split('\n')
    expect(table[0].split(/\s+/)).toEqual(['ROUND', 'ACC', 'NODES', 'HERE', 'LOSS', 'F1', 'PARTICIPANTS', 'SENT', 'RECV', 'DURATION', 'CONTRIBUTORS'])
    expect(table.slice(2).map(l => l.split(/\s+/)[0])).toEqual(['0', '1', ''])

    out.length = 0
    const json = JSON.parse(await run('train', 'status', id, '--json'))
    expect(json.rounds).toHaveLength(2)

    out.length = 0
    expect(await run('train', 'leave', id)).toBe('left job a1a1a1a1a1a1 (left)\n')
    expect(svc.jobs.get(id)?.joined).toBe(false)
  })

  it('status of an unknown job fails with the not-found error', async () => {
    await expect(run('train', 'status', 'f'.repeat(64))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', status: 404 })
    await expect(run('train', 'status', '0123')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
  })

  it('watch prints done rounds, then live rounds from the event stream, and exits when the job finishes', async () => {
    const id = 'b2'.repeat(32)
    svc.jobs.set(id, makeJob(id, { round: 2, rounds: [report(0), report(1)] }))
    const done = run('train', 'watch', id)
    await waitFor(() => out.join('').includes('round   1'), 'the rounds already done')
    const ev = (round: number, jobId = id): Record<string, unknown> => ({ jobId, round, accuracy: 0.9, loss: 0.2, f1: 0.85, participants: 3, bytesSent: 1024, bytesReceived: 2048, durationMs: 1500 })
    events.emit('training.round', ev(1)) // accepted before we subscribed: already printed
    events.emit('training.round', ev(2))
    events.emit('training.round', ev(9, 'c3'.repeat(32))) // another job
    events.emit('peer.connected', { peerId: 'x' })
    await waitFor(() => out.join('').includes('round   2'), 'a live round')
    events.emit('training.round', ev(3))
    events.emit('training.finished', { jobId: id, reason: 'target' })
    await done
    await waitFor(() => events.live === 0, 'the event stream to be closed')
    const lines = out.join('').trimEnd().split('\n')
    expect(lines[0]).toBe('job b2b2b2b2b2b2: digits, fedavg, 20 rounds, min 2 participants (running)')
    expect(lines.slice(1, -1).map(l => l.split(/\s+/)[1])).toEqual(['0', '1', '2', '3'])
    expect(lines[3]).toBe('round   2  acc  90.0%  loss 0.2000  f1 0.8500  peers 3  sent 1.0 KiB  recv 2.0 KiB  1.5 s')
    expect(lines.at(-1)).toBe('job b2b2b2b2b2b2 finished: target accuracy reached')
  })

  // issue 11: the job's figure (pooled over the contributors, a round later) streams beside this node's own
  it('watch prints the pooled figure of each round once every contributor reported, and waits for the last one', async () => {
    const id = 'b3'.repeat(32)
    svc.jobs.set(id, makeJob(id, { round: 1, rounds: [report(0)] }))
    const done = run('train', 'watch', id)
    await waitFor(() => out.join('').includes('round   0'), 'the round already done')
    const ev = (round: number): Record<string, unknown> => ({ jobId: id, round, accuracy: 0.9, loss: 0.2, f1: 0.85, participants: 3, bytesSent: 1024, bytesReceived: 2048, durationMs: 1500 })
    const pooled = (round: number, accuracy: number, nodes: number): Record<string, unknown> => ({ jobId: id, round, accuracy, loss: 0.1, samples: 300, nodes, of: 3, here: 0.9 })
    events.emit('training.pooled', pooled(0, 0.95, 2)) // not every contributor yet: not printed
    events.emit('training.round', ev(1))
    events.emit('training.pooled', pooled(0, 0.931, 3))
    events.emit('training.finished', { jobId: id, reason: 'rounds' })
    // the last round's figure arrives after the finish: the watcher waits for it
    await waitFor(() => out.join('').includes('round   1  acc'), 'round 1')
    events.emit('training.pooled', pooled(1, 0.962, 3))
    await done
    const lines = out.join('').trimEnd().split('\n')
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^round {3}0 {2}acc/),
      'round   1  acc  90.0%  loss 0.2000  f1 0.8500  peers 3  sent 1.0 KiB  recv 2.0 KiB  1.5 s',
      'round   0  pooled  93.1%  (3/3 nodes)  here  90.0%',
      'round   1  pooled  96.2%  (3/3 nodes)  here  90.0%',
      'job b3b3b3b3b3b3 finished: all rounds done'
    ])
  })

  it('watch --json prints one JSON object per line', async () => {
    const id = 'd4'.repeat(32)
    svc.jobs.set(id, makeJob(id, { rounds: [report(0)] }))
    const done = run('train', 'watch', id, '--json')
    await waitFor(() => out.join('').includes('"round":0'), 'the first round')
    events.emit('training.finished', { jobId: id, reason: 'rounds' })
    await done
    await waitFor(() => events.live === 0, 'the event stream to be closed')
    const objs = out.join('').trim().split('\n').map(l => JSON.parse(l))
    expect(objs).toEqual([
      { type: 'round', jobId: id, ...report(0) },
      { type: 'finished', jobId: id, reason: 'rounds' }
    ])
  })

  it('watch of a finished job prints its rounds and returns at once', async () => {
    const id = 'e5'.repeat(32)
    svc.jobs.set(id, makeJob(id, { status: 'finished', phase: 'finished', finishedReason: 'rounds', rounds: [report(0), report(1)] }))
    const text = await run('train', 'watch', id)
    expect(text.trimEnd().split('\n').at(-1)).toBe('job e5e5e5e5e5e5 finished: all rounds done')
    await waitFor(() => events.live === 0, 'the event stream to be closed')
  })

  it('watchJob stops when aborted (Ctrl-C) and closes the stream', async () => {
    const id = 'f6'.repeat(32)
    svc.jobs.set(id, makeJob(id))
    const ac = new AbortController()
    const lines: string[] = []
    const watching = watchJob(new ApiClient(server.url, TOKEN), id, { write: l => lines.push(l), signal: ac.signal })
    await waitFor(() => lines.length === 1, 'the header line')
    expect(events.live).toBe(1)
    ac.abort()
    await expect(watching).resolves.toEqual({ outcome: 'interrupted' })
    await waitFor(() => events.live === 0, 'the server to drop the event stream subscription')
  })

  it('plot writes the SVG from the API', async () => {
    const id = 'a7'.repeat(32)
    svc.jobs.set(id, makeJob(id, { rounds: [report(0), report(1), report(2)] }))
    const file = join(dir, 'chart.svg')
    expect(await run('train', 'plot', id, '-o', file)).toBe(`wrote ${file}\n`)
    const svg = await readFile(file, 'utf8')
    expect(XMLValidator.validate(svg)).toBe(true)
    expect(svg.match(/data-round="/g)).toHaveLength(6)
    out.length = 0
    await run('train', 'plot', id, '-o', '-', '--width', '300')
    expect(out.join('')).toContain('width="300"')
  })

  it('dataset import sends the file as text with its options; dataset ls lists', async () => {
    const csv = join(dir, 'two.csv')
    await writeFile(csv, 'a,b,y\n1,2,0\n3,4,1\n')
    const text = await run('train', 'dataset', 'import', 'two', csv, '--label-column', 'last', '--header')
    expect(text).toMatch(/^dataset\s+two\nrows\s+3/)
    expect(svc.imports.at(-1)).toEqual({ name: 'two', text: 'a,b,y\n1,2,0\n3,4,1\n', format: 'csv', opts: { labelColumn: 'last', header: true } })

    const jsonl = join(dir, 'three.jsonl')
    await writeFile(jsonl, '{"x":[1],"y":0}\n')
    await run('train', 'dataset', 'import', 'three', jsonl, '--no-header', '--label-column', '0')
    expect(svc.imports.at(-1)).toMatchObject({ name: 'three', format: 'jsonl', opts: { labelColumn: 0, header: false } })

    out.length = 0
    const ls = (await run('train', 'dataset', 'ls')).split('\n')
    expect(ls[0].split(/\s+/)).toEqual(['NAME', 'ROWS', 'FEATURES', 'CLASSES', 'SOURCE'])
    expect(ls.slice(2).filter(Boolean).map(l => l.split(/\s+/)[0])).toEqual(['digits', 'two', 'three'])
    await expect(run('train', 'dataset', 'import', 'x', join(dir, 'missing.csv'))).rejects.toThrow(/cannot read/)
  })

  it('every command has --help with --data-dir and --json', async () => {
    const paths = [[], ['create'], ['join'], ['leave'], ['status'], ['watch'], ['plot'], ['dataset'], ['dataset', 'import'], ['dataset', 'ls']]
    for (const p of paths) {
      out.length = 0
      await expect(run('train', ...p, '--help')).rejects.toMatchObject({ code: 'commander.helpDisplayed' })
      const help = out.join('')
      expect(help, p.join(' ')).toContain('--data-dir <dir>')
      expect(help, p.join(' ')).toContain('--json')
    }
    out.length = 0
    await expect(run('train', 'plot', '--help')).rejects.toBeDefined()
    expect(out.join('').replace(/\s+/g, ' ')).toMatch(/SVG only: no rasteriser is installed, so -o x\.png is refused/)
  })
})
