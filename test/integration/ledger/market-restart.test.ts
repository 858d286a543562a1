/**
 * Issue 15, item 4: compute jobs survive a restart, and a buyer supplies its own dataset as an artifact. Two
 * in-process nodes on one anvil, a 2 s metered unit: node 0 buys, node 1 provides (it bootstraps from node 0, so after
 * its restart it finds the buyer again). The provider is stopped and started on the same data dir mid-job: its job
 * record and the fill come back from its store, it resumes metering the still-open lock, the buyer keeps sending the
 * voucher the provider missed, and every voucher is redeemed exactly: both vault balances exact to the wei. Then, on
 * the same nodes, the buyer's own CSV dataset (an artifact) trains on the provider under a name derived from its CID,
 * and an artifact that is no dataset is refused with `dataset-invalid` in the fill's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JsonRpcProvider } from 'ethers'
import { Mesh, freePort, waitFor, type NodeHandle } from '../../harness/index.js'
import { attachCreditVault, attachFTNSToken, localContractAddresses, type BookView, type ComputeJobView, type FillView, type FillsView, type PostOrderResult, type WalletView } from '../../../src/ledger/index.js'
import { datasetNameOf } from '../../../src/ledger/market/service/compute-dataset.js'
import type { JobView } from '../../../src/training/index.js'
import { stopLeftoverAnvil } from './chain-helpers.js'

const UNIT_MS = 2000
const PRICE = 10n ** 16n
const SETTINGS = { rounds: 50, minParticipants: 1, localEpochs: 1, batchSize: 16, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32' }
const JOB = { model: { arch: 'mlp', layers: [16, 10], seed: 5 }, dataset: 'digits', ...SETTINGS }
// two features, two classes, the label last: what training's CSV import takes
const CSV = Array.from({ length: 40 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${i % 2}`).join('\n') + '\n'

describe('compute jobs survive a restart; a buyer\'s dataset artifact (anvil)', () => {
  let mesh: Mesh
  let buyer: NodeHandle
  let prov: NodeHandle
  let rpc: JsonRpcProvider
  let port: number
  let ask: PostOrderResult
  let wallets: string[]

  const ready = async (n: NodeHandle): Promise<void> => {
    // a failed request is kept by waitFor: a timeout then says why the market never answered
    await waitFor(async () => { await n.api.request('GET', '/v1/market/books'); return true }, { timeoutMs: 90_000, what: `node ${n.index}'s market` })
  }

  beforeAll(async () => {
    port = await freePort()
    const config = { ledger: { enabled: true, anvil: { port } }, market: { revalidateMs: 1000, fundingTtlMs: 300, computeUnitMs: UNIT_MS } }
    mesh = new Mesh()
    buyer = await mesh.add({ mode: 'inprocess', config })
    prov = await mesh.add({ mode: 'inprocess', config, bootstrap: buyer.addresses })
    await Promise.all([ready(buyer), ready(prov)])
    wallets = await Promise.all([buyer, prov].map(async n => (await n.api.request<WalletView>('GET', '/v1/wallet')).address))
    rpc = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true, cacheTimeout: -1 })
    ask = await prov.api.request<PostOrderResult>('POST', '/v1/market/orders', { json: { market: 'compute', side: 'ask', price: PRICE.toString(), units: '10' } })
    await buyer.api.request('POST', '/v1/wallet/deposit', { json: { amount: '1' } })
    await waitFor(async () => (await buyer.api.request<BookView>('GET', '/v1/market/books/compute')).asks.some(o => o.hash === ask.hash), { timeoutMs: 30_000, what: 'the ask at the buyer' })
  }, 120_000)

  afterAll(async () => {
    rpc?.destroy()
    await mesh?.close()
    if (port !== undefined) await stopLeftoverAnvil(port)
  })

  const free = async (i: number): Promise<bigint> => await attachCreditVault(localContractAddresses().CreditVault, rpc).freeBalanceOf(wallets[i])
  const tokens = async (): Promise<bigint[]> => await Promise.all(wallets.map(async w => await attachFTNSToken(localContractAddresses().FTNSToken, rpc).balanceOf(w)))
  const fillOf = async (n: NodeHandle, tx: string): Promise<FillView | undefined> => (await n.api.request<FillsView>('GET', '/v1/market/fills')).fills.find(f => f.tx === tx)
  const jobOf = async (n: NodeHandle, tx: string): Promise<ComputeJobView | undefined> => (await fillOf(n, tx))?.compute?.[0]
  const fills = async (n: NodeHandle): Promise<string> => JSON.stringify(await n.api.request<FillsView>('GET', '/v1/market/fills'))

  it('the provider restarts mid-job: the job and the fill survive, metering resumes, every voucher redeemed exactly', async () => {
    const units = 3n
    const before = { b: await free(0), p: await free(1), tokens: await tokens() }
    const fill = await buyer.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: units.toString(), job: JOB } })
    const tx = fill.tx as string
    expect(fill.compute?.[0]).toMatchObject({ role: 'buyer', state: 'running' })
    const first = await waitFor(async () => { const j = await jobOf(prov, tx); return j !== undefined && j.vouchers >= 1 && j.state === 'running' ? j : undefined }, { timeoutMs: 30_000, what: 'the provider holds a voucher' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${await fills(prov)}`) })
    await prov.restart()
    await ready(prov)
    // the record came back from the store: same lock, same fill, at least the voucher it held
    const back = await jobOf(prov, tx)
    expect(back).toMatchObject({ role: 'provider', lockId: first.lockId, payer: wallets[0], provider: wallets[1], units: units.toString(), price: PRICE.toString() })
    expect(back?.vouchers).toBeGreaterThanOrEqual(1)
    expect((await fillOf(prov, tx))).toMatchObject({ role: 'maker', units: units.toString(), cost: (units * PRICE).toString() })
    const done = await waitFor(async () => { const j = await jobOf(prov, tx); return j?.state === 'done' && j.redeemed === (units * PRICE).toString() ? j : undefined }, { timeoutMs: 45_000, what: 'the provider redeemed every unit after its restart' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: provider ${await fills(prov)} buyer ${await fills(buyer)}`) })
    expect(done).toMatchObject({ reason: 'complete', covered: (units * PRICE).toString() })
    expect(done.vouchers).toBeGreaterThanOrEqual(back?.vouchers ?? 1)
    expect(await jobOf(buyer, tx)).toMatchObject({ state: 'done', vouchers: Number(units), covered: (units * PRICE).toString() })
    const lock = await attachCreditVault(localContractAddresses().CreditVault, rpc).getLock(first.lockId)
    expect(lock.redeemed).toBe(units * PRICE)
    expect(await free(1)).toBe(before.p + units * PRICE)
    expect(await free(0)).toBe(before.b - units * PRICE)
    expect(await tokens()).toEqual(before.tokens)
  }, 120_000)

  it('the buyer\'s own dataset as an artifact trains on the provider; an artifact that is no dataset is refused with its reason', async () => {
    const art = await buyer.api.request<{ cid: string }>('POST', '/v1/artifacts', { query: { name: 'points.csv' }, body: new TextEncoder().encode(CSV) })
    const job = { model: { arch: 'mlp', layers: [8, 2], seed: 3 }, datasetCid: art.cid, ...SETTINGS }
    const fill = await buyer.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '1', job } })
    expect(fill.compute?.[0]).toMatchObject({ state: 'running', reason: null })
    const tx = fill.tx as string
    const pj = await waitFor(async () => { const j = await jobOf(prov, tx); return j?.state === 'done' && j.redeemed === PRICE.toString() ? j : undefined }, { timeoutMs: 30_000, what: 'the dataset job paid' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${await fills(prov)}`) })
    const training = await prov.api.request<JobView>('GET', `/v1/training/jobs/${pj.jobId as string}`)
    expect(training.spec.dataset).toBe(datasetNameOf(art.cid))
    // no silent decline: the provider's refusal is the buyer's job's reason, in the fill's answer
    const bad = await buyer.api.request<{ cid: string }>('POST', '/v1/artifacts', { query: { name: 'notes.txt' }, body: new TextEncoder().encode('this is, not, a dataset\nat all\n') })
    const refused = await buyer.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '1', job: { ...job, datasetCid: bad.cid } } })
    expect(refused.state).toBe('done')
    expect(refused.compute?.[0]?.state).toBe('failed')
    expect(refused.compute?.[0]?.reason).toMatch(/^dataset-invalid: artifact /)
    // the provider's side of the fill comes from its chain indexer: it may show a moment later
    await waitFor(async () => (await jobOf(prov, refused.tx as string))?.state === 'failed', { timeoutMs: 15_000, what: 'the provider\'s failed job' })
  }, 90_000)
})
