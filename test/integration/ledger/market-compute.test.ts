/**
 * Issue 15, item 4 (compute fills run jobs), on one real anvil with three in-process nodes (the issue names 5; three
 * cover every role here: a provider and two buyers, and keep the file inside its CI budget). A provider's ask is
 * partially filled by a buyer with a job (a digits MLP training job): the fill opens a vault lock, the job runs on the
 * provider, the buyer signs a cumulative voucher per metered unit (2 s here, `market.computeUnitMs`), the provider
 * redeems, and every vault balance is exact to the wei. Then a second buyer goes away mid-job: the provider stops after
 * two missed vouchers, keeps what the last voucher covered, and after the lock's expiry (anvil time advanced) the rest
 * returns to the buyer: refund + redeemed = the lock, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JsonRpcProvider } from 'ethers'
import { Mesh, freePort, waitFor, type NodeHandle } from '../../harness/index.js'
import { attachCreditVault, attachFTNSToken, localContractAddresses, type BookView, type ComputeJobView, type FillView, type FillsView, type PostOrderResult, type WalletView } from '../../../src/ledger/index.js'
import type { JobView } from '../../../src/training/index.js'
import { stopLeftoverAnvil } from './chain-helpers.js'

const UNIT_MS = 2000
const PRICE = 10n ** 16n // 0.01 FTNS per unit
const JOB = {
  model: { arch: 'mlp', layers: [16, 10], seed: 5 }, dataset: 'digits', rounds: 50, minParticipants: 1, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
}

describe('compute fills run jobs, paid by vouchers (anvil)', () => {
  let mesh: Mesh
  let nodes: NodeHandle[]
  let provider: JsonRpcProvider
  let wallets: string[]
  let port: number
  let ask: PostOrderResult

  beforeAll(async () => {
    port = await freePort()
    const config = { ledger: { enabled: true, anvil: { port } }, market: { revalidateMs: 1000, fundingTtlMs: 300, computeUnitMs: UNIT_MS } }
    mesh = new Mesh()
    const a = await mesh.add({ mode: 'inprocess', config })
    await Promise.all([1, 2].map(async () => await mesh.add({ mode: 'inprocess', config, bootstrap: a.addresses })))
    nodes = [...mesh.nodes]
    for (const n of nodes) await waitFor(async () => await n.api.request('GET', '/v1/market/books').then(() => true, () => false), { timeoutMs: 90_000, what: `node ${n.index}'s market` })
    wallets = await Promise.all(nodes.map(async n => (await n.api.request<WalletView>('GET', '/v1/wallet')).address))
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true, cacheTimeout: -1 })
    // the provider asks for 10 units; both buyers fund their vaults
    ask = await nodes[0].api.request<PostOrderResult>('POST', '/v1/market/orders', { json: { market: 'compute', side: 'ask', price: PRICE.toString(), units: '10' } })
    await Promise.all([1, 2].map(async i => await nodes[i].api.request('POST', '/v1/wallet/deposit', { json: { amount: '1' } })))
    for (const i of [1, 2]) await waitFor(async () => (await nodes[i].api.request<BookView>('GET', '/v1/market/books/compute')).asks.some(o => o.hash === ask.hash), { timeoutMs: 30_000, what: `the ask at node ${i}` })
  }, 120_000)

  afterAll(async () => {
    provider?.destroy()
    await mesh?.close()
    if (port !== undefined) await stopLeftoverAnvil(port)
  })

  const vault = (): ReturnType<typeof attachCreditVault> => attachCreditVault(localContractAddresses().CreditVault, provider)
  const free = async (i: number): Promise<bigint> => await vault().freeBalanceOf(wallets[i])
  const tokens = async (): Promise<bigint[]> => await Promise.all(wallets.map(async w => await attachFTNSToken(localContractAddresses().FTNSToken, provider).balanceOf(w)))
  const jobOf = async (n: NodeHandle, tx: string): Promise<ComputeJobView | undefined> =>
    (await n.api.request<FillsView>('GET', '/v1/market/fills')).fills.find(f => f.tx === tx)?.compute?.[0]

  it('a partial fill with a job: FTNS into a lock, the job runs on the provider, vouchers redeemed, balances exact to the wei', async () => {
    const [p, b] = nodes
    const before = { p: await free(0), b: await free(1), tokens: await tokens() }
    const fill = await b.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '3', job: JOB } })
    expect(fill).toMatchObject({ state: 'done', units: '3', cost: (3n * PRICE).toString() })
    const tx = fill.tx as string
    // the lock holds exactly the cost; the buyer's free balance is down by it
    expect(await free(1)).toBe(before.b - 3n * PRICE)
    const buyerJob = await waitFor(async () => { const j = await jobOf(b, tx); return j?.state === 'running' || j?.state === 'done' ? j : undefined }, { timeoutMs: 30_000, what: 'the job started' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await b.api.request<FillsView>('GET', '/v1/market/fills'))}`) })
    const lock = await vault().getLock(buyerJob.lockId)
    expect(lock.amount).toBe(3n * PRICE)
    // the job runs on the provider as its training job
    const provJob = await waitFor(async () => await jobOf(p, tx), { timeoutMs: 20_000, what: 'the provider\'s job' })
    expect(provJob).toMatchObject({ role: 'provider', lockId: buyerJob.lockId, payer: wallets[1], provider: wallets[0], units: '3', price: PRICE.toString() })
    const training = await p.api.request<JobView>('GET', `/v1/training/jobs/${provJob.jobId as string}`)
    expect(training.spec.creator).toBe(p.peerId)
    // three units, three vouchers; the provider redeems the last one
    const done = await waitFor(async () => { const j = await jobOf(p, tx); return j?.state === 'done' && j.redeemed === (3n * PRICE).toString() ? j : undefined }, { timeoutMs: 30_000, what: 'the provider redeemed 3 units' })
    expect(done).toMatchObject({ reason: 'complete', vouchers: 3, covered: (3n * PRICE).toString() })
    expect((await jobOf(b, tx))).toMatchObject({ state: 'done', vouchers: 3, covered: (3n * PRICE).toString() })
    expect(await free(0)).toBe(before.p + 3n * PRICE)
    expect(await free(1)).toBe(before.b - 3n * PRICE)
    expect((await vault().getLock(buyerJob.lockId)).redeemed).toBe(3n * PRICE)
    expect(await tokens()).toEqual(before.tokens)
    // the rest of the ask stays in the books
    await waitFor(async () => (await b.api.request<BookView>('GET', '/v1/market/books/compute')).asks.find(o => o.hash === ask.hash)?.units === '7', { timeoutMs: 20_000, what: 'the ask\'s rest' })
  }, 90_000)

  it('the buyer goes away mid-job: the provider stops after two missed vouchers, keeps what they covered, the rest returns at expiry', async () => {
    const [p, , b] = nodes
    const before = { p: await free(0), b: await free(2) }
    const fill = await b.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '6', job: JOB } })
    const tx = fill.tx as string
    const cost = 6n * PRICE
    await waitFor(async () => ((await jobOf(b, tx))?.vouchers ?? 0) >= 2 ? true : undefined, { timeoutMs: 30_000, what: 'two vouchers' })
    await b.stop()
    const stopped = await waitFor(async () => { const j = await jobOf(p, tx); return j?.state === 'stopped' ? j : undefined }, { timeoutMs: 30_000, what: 'the provider stops' })
    expect(stopped.reason).toBe('missed-vouchers')
    const covered = BigInt(stopped.covered)
    expect(covered % PRICE).toBe(0n)
    expect(covered >= 2n * PRICE && covered < cost).toBe(true)
    expect(stopped.redeemed).toBe(stopped.covered)
    expect(stopped.unitsRun).toBeLessThan(6)
    expect(await free(0)).toBe(before.p + covered)
    // after the lock's expiry the provider's node releases it: what no voucher covered goes back to the buyer
    const lock = await vault().getLock(stopped.lockId)
    const now = (await provider.getBlock('latest'))?.timestamp ?? 0
    await provider.send('evm_increaseTime', [Number(lock.expiry) - now + 5])
    await provider.send('evm_mine', [])
    const refunded = await waitFor(async () => { const j = await jobOf(p, tx); return j?.refunded !== null && j?.refunded !== undefined ? j : undefined }, { timeoutMs: 20_000, what: 'the release' })
    expect(BigInt(refunded.refunded as string) + covered).toBe(cost)
    expect((await vault().getLock(stopped.lockId)).closed).toBe(true)
    expect(await free(2)).toBe(before.b - cost + BigInt(refunded.refunded as string))
    expect(await free(0)).toBe(before.p + covered)
  }, 90_000)
})
