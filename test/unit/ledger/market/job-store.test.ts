/**
 * The market's durable records (job-store.ts) on a real Level in a temp dir: compute jobs and fills written in one
 * atomic batch survive closing and reopening the database, a fill's new state replaces its old one in place, the
 * history is capped, and a record that fails its schema is skipped. Then the pure resume rules (`resumeStep`), as a
 * table, and a buyer's dataset artifact prepared through real training parsing and a real dataset store.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { levelKv } from '../../../../src/ledger/chain/index.js'
import { resumeStep, type ResumeFacts } from '../../../../src/ledger/market/core/metering.js'
import { MAX_FILLS_KEPT, MarketStore, type ComputeJobRecord } from '../../../../src/ledger/market/service/job-store.js'
import { DatasetRefusal, datasetFormatOf, datasetNameOf, prepareDataset } from '../../../../src/ledger/market/service/compute-dataset.js'
import type { FillView } from '../../../../src/ledger/market/service/views.js'
import { DatasetStore, parseCsv, parseJsonLines } from '../../../../src/training/data/index.js'

const LOCK = `0x${'ab'.repeat(32)}`
const TX = `0x${'cd'.repeat(32)}`

const job = (over: Partial<ComputeJobRecord> = {}): ComputeJobRecord => ({
  role: 'provider', lockId: LOCK, fillTx: TX, peer: '12D3KooWpeer', payer: `0x${'11'.repeat(20)}`, provider: `0x${'22'.repeat(20)}`,
  units: '4', price: '10000000000000000', unitMs: 2000, state: 'running', reason: null, jobId: 'job-1', unitsRun: 2, vouchers: 1,
  covered: '10000000000000000', redeemed: '0', refunded: null, salt: '7', amount: '40000000000000000', expiry: 1_900_000_000,
  peerId: '12D3KooWpeer', runMs: 2500, ending: null, job: null, ...over
})

const fill = (id: string, state: FillView['state'] = 'done'): FillView => ({
  id, role: 'taker', market: 'compute', state, tx: state === 'done' ? TX : null, orders: [{ hash: LOCK, units: '4', price: '1', cost: '4' }],
  units: '4', cost: '4', reason: null, message: null, at: '2026-12-01T22:00:00.000Z'
})

describe('MarketStore (real Level)', () => {
  let dir: string
  let db: Level<string, unknown>
  const open = async (): Promise<MarketStore> => {
    db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
    await db.open()
    return new MarketStore(levelKv(db.sublevel<string, unknown>('market', { valueEncoding: 'json' })))
  }

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'market-store-')) })
  afterEach(async () => { await db.close(); await rm(dir, { recursive: true, force: true }) })

  it('a fill and its job written in one batch are both there after a reopen, exactly as written', async () => {
    let s = await open()
    const f = fill('fill-1', 'pending')
    await s.write(s.fillOps(f))
    f.state = 'done'
    f.tx = TX
    await s.write([...s.fillOps(f), s.jobOp(job())])
    await db.close()
    s = await open()
    expect(await s.fills()).toEqual([f])
    expect(await s.jobs()).toEqual({ jobs: [job()], bad: 0 })
    // a later transition replaces the record; a new fill after the reopen comes after the old ones
    await s.write([s.jobOp(job({ state: 'done', reason: 'complete', redeemed: '40000000000000000' })), ...s.fillOps(fill('fill-2'))])
    await db.close()
    s = await open()
    expect((await s.jobs()).jobs.map(j => [j.state, j.redeemed])).toEqual([['done', '40000000000000000']])
    expect((await s.fills()).map(x => x.id)).toEqual(['fill-1', 'fill-2'])
  })

  it('keeps the last MAX_FILLS_KEPT fills, oldest deleted in the batch that adds a new one', async () => {
    let s = await open()
    await s.fills()
    for (let i = 0; i < MAX_FILLS_KEPT + 5; i++) await s.write(s.fillOps(fill(`f-${i}`)))
    await db.close()
    s = await open()
    const ids = (await s.fills()).map(x => x.id)
    expect(ids.length).toBe(MAX_FILLS_KEPT)
    expect(ids[0]).toBe('f-5')
    expect(ids.at(-1)).toBe(`f-${MAX_FILLS_KEPT + 4}`)
  })

  it('skips a record that fails its schema (and counts it)', async () => {
    const s = await open()
    const kv = levelKv(db.sublevel<string, unknown>('market', { valueEncoding: 'json' }))
    await kv.batch([{ type: 'put', key: 'compute-job/0xbad', value: { ...job(), units: -1 } }, { type: 'put', key: 'fill/000000000000', value: { seq: 0, fill: { id: 'x' } } }, s.jobOp(job())])
    expect(await s.jobs()).toEqual({ jobs: [job()], bad: 1 })
    expect(await s.fills()).toEqual([])
    // the market's other keys (the indexer's, the binding nonces) are not records
    await kv.batch([{ type: 'put', key: 'binding-nonce:0xabc', value: '3' }, { type: 'put', key: 'idx/cursor', value: { block: 1 } }])
    expect((await s.jobs()).jobs.length).toBe(1)
  })
})

describe('resumeStep (a job after a restart)', () => {
  const base: ResumeFacts = { role: 'provider', state: 'running', ending: null, units: 4, covered: 1, lockClosed: false, lockExpired: false, released: false, haveJob: false }
  // [facts, action, state, reason]
  const table: Array<[Partial<ResumeFacts>, string, string | undefined, string | undefined]> = [
    [{}, 'meter', undefined, undefined], // provider, open lock, vouchers still due: keep metering
    [{ covered: 4 }, 'finish', 'done', 'complete'], // every unit paid: redeem
    [{ ending: 'stopped' }, 'finish', 'stopped', 'missed-vouchers'], // the end was decided before the crash
    [{ ending: 'done', covered: 4 }, 'finish', 'done', 'complete'],
    [{ lockClosed: true }, 'finish', 'stopped', 'lock-closed'],
    [{ lockExpired: true }, 'finish', 'stopped', 'lock-expired'],
    [{ state: 'starting' }, 'release', 'failed', 'provider-restarted'],
    [{ state: 'done' }, 'release', undefined, undefined], // over: release at expiry
    [{ state: 'stopped', lockExpired: true }, 'release', undefined, undefined],
    [{ state: 'failed' }, 'release', undefined, undefined],
    [{ state: 'done', released: true }, 'none', undefined, undefined],
    [{ role: 'buyer' }, 'pay', undefined, undefined], // buyer, open lock: keep paying
    [{ role: 'buyer', lockClosed: true }, 'none', 'stopped', 'lock-closed'],
    [{ role: 'buyer', lockExpired: true }, 'none', 'stopped', 'lock-expired'],
    [{ role: 'buyer', state: 'starting', haveJob: true }, 'start', undefined, undefined],
    [{ role: 'buyer', state: 'starting' }, 'none', 'failed', 'buyer-restarted'],
    [{ role: 'buyer', state: 'done' }, 'none', undefined, undefined],
    [{ role: 'buyer', state: 'failed', lockExpired: true }, 'none', undefined, undefined]
  ]
  for (const [over, action, state, reason] of table) {
    it(`${JSON.stringify(over)} -> ${action}${state !== undefined ? ` (${state})` : ''}`, () => {
      const r = resumeStep({ ...base, ...over })
      expect(r).toEqual({ action, ...(state !== undefined ? { state } : {}), ...(reason !== undefined ? { reason } : {}) })
    })
  }

  it('a provider never resumes metering a closed or expired lock, and a buyer never pays one', () => {
    for (const role of ['buyer', 'provider'] as const) {
      for (const state of ['starting', 'running', 'done', 'stopped', 'failed'] as const) {
        for (const lockClosed of [false, true]) {
          for (const lockExpired of [false, true]) {
            const r = resumeStep({ ...base, role, state, lockClosed, lockExpired })
            if (lockClosed || lockExpired) expect(['meter', 'pay', 'start']).not.toContain(r.action)
          }
        }
      }
    }
  })
})

describe('a buyer\'s dataset artifact (prepareDataset)', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'market-dataset-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })
  const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
  const CSV = '0.1,0.2,0\n0.3,0.4,1\n0.5,0.1,0\n0.9,0.8,1\n'
  const JSONL = '{"x":[0.1,0.2],"y":0}\n{"x":[0.3,0.4],"y":1}\n'

  // the node's storage holds `artifacts`; training's parsing and dataset store import what it fetched
  const ports = (artifacts: Map<string, { text: string, mediaType?: string }>, store: DatasetStore): Parameters<typeof prepareDataset>[1] => ({
    fetchArtifact: async (cid) => {
      const a = artifacts.get(cid)
      if (a === undefined) throw new Error('ERR_NOT_FOUND: no peer delivered it')
      return { bytes: new TextEncoder().encode(a.text), mediaType: a.mediaType }
    },
    importDataset: async (name, text, format) => { await store.save(name, format === 'csv' ? parseCsv(text, { name }) : parseJsonLines(text, { name })) }
  })

  it('imports a CSV or JSON lines artifact under the name derived from its CID and points the job at it', async () => {
    const store = new DatasetStore(dir)
    const p = ports(new Map([[CID, { text: CSV }], [`${CID}a`, { text: JSONL, mediaType: 'application/x-ndjson' }]]), store)
    const out = await prepareDataset({ model: { arch: 'mlp' }, datasetCid: CID, rounds: 2 }, p)
    expect(out).toEqual({ model: { arch: 'mlp' }, rounds: 2, dataset: datasetNameOf(CID) })
    expect(datasetNameOf(CID)).toMatch(/^market-[0-9a-f]{24}$/)
    expect((await store.load(datasetNameOf(CID))).y.length).toBe(4)
    const out2 = await prepareDataset({ datasetCid: `${CID}a` }, p)
    expect((await store.load(String(out2.dataset))).y.length).toBe(2)
    // a job without a CID goes through untouched
    expect(await prepareDataset({ dataset: 'digits' }, p)).toEqual({ dataset: 'digits' })
  })

  it.each([
    [{ datasetCid: 'bafkreimissingmissingmissingmissing' }, 'dataset-unavailable', /no peer delivered it/],
    [{ datasetCid: 'not a cid' }, 'dataset-invalid', /not a CID/],
    [{ datasetCid: CID }, 'dataset-invalid', /artifact bafk/]
  ])('refuses %j with %s', async (job, code, message) => {
    const p = ports(new Map([[CID, { text: 'this is, not, a dataset\nat all\n' }]]), new DatasetStore(dir))
    const err = await prepareDataset(job, p).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatasetRefusal)
    expect((err as DatasetRefusal).code).toBe(code)
    expect((err as DatasetRefusal).message).toMatch(new RegExp(`^${code}: `))
    expect((err as DatasetRefusal).message).toMatch(message)
  })

  it('a node without the ports refuses a dataset CID', async () => {
    await expect(prepareDataset({ datasetCid: CID }, {})).rejects.toThrow(/^dataset-unavailable: this node takes no datasets/)
  })

  it.each([
    ['csv', undefined, '{', 'csv'], [undefined, 'application/x-ndjson', '1,2', 'jsonl'], [undefined, 'text/csv', '{', 'csv'],
    [undefined, undefined, '  {"x":[1]}', 'jsonl'], [undefined, 'application/octet-stream', '1,2,0', 'csv']
  ])('datasetFormatOf(%j, %j, %j) = %s', (asked, mediaType, text, format) => {
    expect(datasetFormatOf(asked, mediaType, text)).toBe(format)
  })
})
