/**
 * Issue 15, item 4 (compute fills run jobs), on one real anvil with five in-process nodes, one mesh for both cases,
 * each node with a role the acceptance checks:
 *   0 provider: posts a 10-unit compute ask, runs the bought jobs as its training jobs, redeems vouchers;
 *   1 buyer: fills 3 units with a job (a digits MLP training job) and pays it by a voucher per metered unit;
 *   2 second buyer: fills 6 units with a job, then goes away mid-job (its node stops);
 *   3, 4 observers: hold the book (they see the ask, and its remaining units drop after each fill) and verify.
 * A metered unit is 3 s here (`market.computeUnitMs`). Case 1: the fill opens a vault lock of exactly 3 × price, the
 * job runs on the provider (its training job has rounds; no other node trains it), all three vouchers are redeemed.
 * Case 2: the provider stops after two missed vouchers, keeps exactly what the last voucher covered, and once anvil
 * time passes the lock's expiry the provider's node releases it: refund + redeemed = the lock, exactly, and every
 * remaining node sees the lock closed with that refund. After each case every running node reads, through its own
 * ledger's RPC and contract addresses, the same balances for every party
 * (token balances, vault free balances, lock allowances, each lock's amount, redeemed and closed, the vault's token
 * holdings) at one pinned block, and those are exact to the wei; each party's own wallet view says the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JsonRpcProvider } from 'ethers'
import { freePort, waitFor, type Mesh, type NodeHandle } from '../../harness/index.js'
import { ClientError } from '../../../src/node/cli/client.js'
import {
  attachCreditVault, attachFTNSToken, formatFtns, localContractAddresses,
  type BookView, type ComputeJobView, type ContractAddresses, type FillView, type FillsView, type PostOrderResult, type WalletView
} from '../../../src/ledger/index.js'
import type { JobView } from '../../../src/training/index.js'
import { stopLeftoverAnvil } from './chain-helpers.js'
import { startLedgerMesh } from './ledger-mesh.js'

// a metered unit: long enough that a voucher's round trip survives the event-loop stalls of five nodes sharing one
// process on a loaded machine (the provider stops after two missed units; a late voucher is not caught up later)
const UNIT_MS = 3000
const PRICE = 10n ** 16n // 0.01 FTNS per unit
const DEPOSIT = 10n ** 18n // each buyer puts 1 FTNS into the vault
const JOB = {
  model: { arch: 'mlp', layers: [16, 10], seed: 5 }, dataset: 'digits', rounds: 50, minParticipants: 1, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
}
// the roles, by node index
const P = 0
const B = 1
const B2 = 2
const OBSERVERS = [3, 4]
const ALL = [P, B, B2, ...OBSERVERS]

/** What one node reads from chain at one block, amounts as decimal wei strings (so snapshots compare with toEqual). */
interface ChainSnapshot {
  contracts: { FTNSToken: string, CreditVault: string, ComputeMarket: string }
  /** FTNS the vault contract holds: vault-internal moves (lock, redeem, release) never change it. */
  vaultTokens: string
  parties: Record<string, { tokens: string, free: string, lockAllowance: string }>
  locks: Record<string, { amount: string, redeemed: string, expiry: string, closed: boolean }>
}

async function readChain (runner: JsonRpcProvider, contracts: ContractAddresses, block: number, parties: string[], lockIds: string[]): Promise<ChainSnapshot> {
  const at = { blockTag: block }
  const token = attachFTNSToken(contracts.FTNSToken, runner)
  const vault = attachCreditVault(contracts.CreditVault, runner)
  const out: ChainSnapshot = {
    contracts: { FTNSToken: contracts.FTNSToken, CreditVault: contracts.CreditVault, ComputeMarket: contracts.ComputeMarket },
    vaultTokens: (await token.balanceOf(contracts.CreditVault, at)).toString(),
    parties: {},
    locks: {}
  }
  await Promise.all(parties.map(async w => {
    const [tokens, free, lockAllowance] = await Promise.all([token.balanceOf(w, at), vault.freeBalanceOf(w, at), vault.lockAllowance(w, contracts.ComputeMarket, at)])
    out.parties[w] = { tokens: tokens.toString(), free: free.toString(), lockAllowance: lockAllowance.toString() }
  }))
  await Promise.all(lockIds.map(async id => {
    const l = await vault.getLock(id, at)
    out.locks[id] = { amount: l.amount.toString(), redeemed: l.redeemed.toString(), expiry: l.expiry.toString(), closed: l.closed }
  }))
  return out
}

describe('compute fills run jobs, paid by vouchers: five nodes on one anvil', () => {
  let mesh: Mesh
  let nodes: NodeHandle[]
  let provider: JsonRpcProvider
  let wallets: string[]
  let port: number
  let ask: PostOrderResult
  let startBlock: number
  /** Before any fill (after the deposits): the chain as the test's own RPC reads it. */
  let start: ChainSnapshot
  /** The locks the fills opened, in order. */
  const lockIds: string[] = []

  beforeAll(async () => {
    port = await freePort()
    const config = { ledger: { enabled: true, anvil: { port } }, market: { revalidateMs: 1000, fundingTtlMs: 300, computeUnitMs: UNIT_MS } }
    ;({ mesh, nodes, wallets } = await startLedgerMesh(ALL.length, config))
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true, cacheTimeout: -1 })
    // a compute ask is booked once the receiver holds the maker's signed hardware record (else it waits for it)
    await Promise.all([B, B2, ...OBSERVERS].map(async i => await waitFor(() => mesh.meshNode(i).hardware.get(nodes[P].peerId), { timeoutMs: 30_000, what: `the provider's hardware record at node ${i}` })))
    // the provider asks for 10 units; both buyers fund their vaults
    ask = await nodes[P].api.request<PostOrderResult>('POST', '/v1/market/orders', { json: { market: 'compute', side: 'ask', price: PRICE.toString(), units: '10' } })
    await Promise.all([B, B2].map(async i => await nodes[i].api.request('POST', '/v1/wallet/deposit', { json: { amount: formatFtns(DEPOSIT) } })))
    // every other node holds the ask in its book, all 10 units
    await Promise.all([B, B2, ...OBSERVERS].map(async i => await waitFor(async () => (await book(i)).asks.find(o => o.hash === ask.hash)?.units === '10', { timeoutMs: 30_000, what: `the ask at node ${i}` })))
    startBlock = await provider.getBlockNumber()
    start = await readChain(provider, localContractAddresses(), startBlock, wallets, [])
  }, 150_000)

  afterAll(async () => {
    provider?.destroy()
    await mesh?.close()
    if (port !== undefined) await stopLeftoverAnvil(port)
  })

  const book = async (i: number): Promise<BookView> => await nodes[i].api.request<BookView>('GET', '/v1/market/books/compute')
  const remaining = async (i: number): Promise<string | undefined> => (await book(i)).asks.find(o => o.hash === ask.hash)?.units
  const jobOf = async (n: NodeHandle, tx: string): Promise<ComputeJobView | undefined> =>
    (await n.api.request<FillsView>('GET', '/v1/market/fills')).fills.find(f => f.tx === tx)?.compute?.[0]
  const w = (i: number): string => wallets[i]
  const wei = (x: bigint): string => x.toString()

  /**
   * Every node in `who` reads the chain at one pinned block through its own ledger's RPC and contract addresses: all
   * read the same, and the same as the test's own RPC. Returns that snapshot.
   */
  async function everyNodeReads (who: number[]): Promise<ChainSnapshot> {
    const block = await provider.getBlockNumber()
    const truth = await readChain(provider, localContractAddresses(), block, wallets, lockIds)
    const seen = await Promise.all(who.map(async i => {
      const chain = mesh.meshNode(i).ledger.chain()
      if (chain === undefined) throw new Error(`node ${i}'s ledger is not ready`)
      return await readChain(chain.provider, chain.contracts, block, wallets, lockIds)
    }))
    seen.forEach((s, k) => { expect(s, `node ${who[k]}'s reading at block ${block}`).toEqual(truth) })
    return truth
  }

  /** The party's own wallet view (`GET /v1/wallet`) says exactly these amounts (polled: the view reads the latest block). */
  async function walletSays (i: number, want: { free: bigint, locked: bigint, tokens: bigint }): Promise<WalletView> {
    const expected = { free: formatFtns(want.free), locked: formatFtns(want.locked), ftns: formatFtns(want.tokens) }
    let last: unknown
    return await waitFor(async () => {
      const v = await nodes[i].api.request<WalletView>('GET', '/v1/wallet')
      last = { free: v.vault.free, locked: v.vault.locked, ftns: v.ftns }
      return v.vault.free === expected.free && v.vault.locked === expected.locked && v.ftns === expected.ftns ? v : undefined
    }, { timeoutMs: 20_000, what: `node ${i}'s wallet view ${JSON.stringify(expected)}` })
      .catch((err: Error) => { throw new Error(`${err.message}; last: ${JSON.stringify(last)}`) })
  }

  /** The training job ran on the provider alone: rounds there, and no other node joined or trained it. */
  async function ranOnProviderOnly (jobId: string, others: number[]): Promise<JobView> {
    const training = await nodes[P].api.request<JobView>('GET', `/v1/training/jobs/${jobId}`)
    expect(training.spec.creator).toBe(nodes[P].peerId)
    expect(training.joined).toBe(true)
    // the compute job is over: the provider stopped its training job
    expect(training.status).toBe('stopped')
    expect(training.participants).toEqual([nodes[P].peerId])
    expect(training.round).toBeGreaterThan(0)
    expect(training.rounds.length).toBeGreaterThan(0)
    for (const r of training.rounds) if (r.contributors !== undefined) expect(r.contributors).toEqual([nodes[P].peerId])
    for (const i of others) {
      const there = await nodes[i].api.request<JobView>('GET', `/v1/training/jobs/${jobId}`).catch((err: unknown) => {
        if (err instanceof ClientError && err.status === 404) return undefined
        throw err
      })
      if (there !== undefined) {
        expect(there.joined, `node ${i} joined the provider's job`).toBe(false)
        expect(there.participants).not.toContain(nodes[i].peerId)
      }
      const jobs = (await nodes[i].api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')).jobs
      expect(jobs.filter(j => j.joined).map(j => j.id), `node ${i} trains nothing`).toEqual([])
    }
    return training
  }

  it('a partial fill with a job: FTNS into a lock, the job runs on the provider, vouchers redeemed, balances exact to the wei', async () => {
    const [p, b] = [nodes[P], nodes[B]]
    const cost = 3n * PRICE
    const fill = await b.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '3', job: JOB } })
    expect(fill).toMatchObject({ state: 'done', units: '3', cost: wei(cost) })
    const tx = fill.tx as string
    // the book on every other node drops to the ask's rest: 7 units
    await Promise.all(ALL.map(async i => await waitFor(async () => await remaining(i) === '7', { timeoutMs: 20_000, what: `the ask's rest (7) at node ${i}` })))
    const buyerJob = await waitFor(async () => { const j = await jobOf(b, tx); return j?.state === 'running' || j?.state === 'done' ? j : undefined }, { timeoutMs: 30_000, what: 'the job started' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await b.api.request<FillsView>('GET', '/v1/market/fills'))}`) })
    lockIds.push(buyerJob.lockId)
    // FTNS moved into a lock of exactly the cost: the buyer's free balance is down by it, nothing else moved
    const locked = await everyNodeReads(ALL)
    expect(locked.locks[buyerJob.lockId]).toMatchObject({ amount: wei(cost), closed: false })
    expect(locked.parties[w(B)].free).toBe(wei(BigInt(start.parties[w(B)].free) - cost))
    // the job runs on the provider as its training job
    const provJob = await waitFor(async () => await jobOf(p, tx), { timeoutMs: 20_000, what: 'the provider\'s job' })
    expect(provJob).toMatchObject({ role: 'provider', lockId: buyerJob.lockId, payer: w(B), provider: w(P), units: '3', price: wei(PRICE) })
    // three units, three vouchers; the provider redeems the last one
    const done = await waitFor(async () => { const j = await jobOf(p, tx); return j?.state === 'done' && j.redeemed === wei(cost) ? j : undefined }, { timeoutMs: 40_000, what: 'the provider redeemed 3 units' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await jobOf(p, tx))}`) })
    expect(done).toMatchObject({ reason: 'complete', vouchers: 3, covered: wei(cost), unitsRun: 3 })
    await waitFor(async () => (await jobOf(b, tx))?.state === 'done', { timeoutMs: 20_000, what: 'the buyer\'s job done' })
    expect(await jobOf(b, tx)).toMatchObject({ state: 'done', vouchers: 3, covered: wei(cost) })
    await ranOnProviderOnly(provJob.jobId as string, [B, B2, ...OBSERVERS])
    // every node reads the same, exact to the wei: the cost went from the buyer's free balance through the lock to the
    // provider's free balance; token balances (and the vault's holdings) did not move: vault accounting, gas aside
    const after = await everyNodeReads(ALL)
    expect(after.locks[buyerJob.lockId]).toMatchObject({ amount: wei(cost), redeemed: wei(cost) })
    expect(after.parties[w(P)].free).toBe(wei(BigInt(start.parties[w(P)].free) + cost))
    expect(after.parties[w(B)].free).toBe(wei(BigInt(start.parties[w(B)].free) - cost))
    for (const i of [B2, ...OBSERVERS]) expect(after.parties[w(i)].free).toBe(start.parties[w(i)].free)
    for (const x of wallets) expect(after.parties[x].tokens).toBe(start.parties[x].tokens)
    expect(after.vaultTokens).toBe(start.vaultTokens)
    // each party's own wallet view says the same
    await walletSays(P, { free: BigInt(after.parties[w(P)].free), locked: 0n, tokens: BigInt(start.parties[w(P)].tokens) })
    const bw = await walletSays(B, { free: BigInt(after.parties[w(B)].free), locked: 0n, tokens: BigInt(start.parties[w(B)].tokens) })
    expect(bw.locks.find(l => l.lockId === buyerJob.lockId)).toMatchObject({ role: 'payer', provider: w(P), amount: formatFtns(cost), redeemed: formatFtns(cost) })
    // the rest of the ask stays in every book
    for (const i of ALL) expect(await remaining(i)).toBe('7')
  }, 90_000)

  it('the buyer goes away mid-job: the provider stops after two missed vouchers, keeps what they covered, the rest returns at expiry', async () => {
    const [p, b] = [nodes[P], nodes[B2]]
    const live = ALL.filter(i => i !== B2)
    const before = await everyNodeReads(ALL)
    const cost = 6n * PRICE
    const fill = await b.api.request<FillView>('POST', '/v1/market/fills', { json: { orderHash: ask.hash, units: '6', job: JOB } })
    expect(fill).toMatchObject({ state: 'done', units: '6', cost: wei(cost) })
    const tx = fill.tx as string
    await waitFor(async () => ((await jobOf(b, tx))?.vouchers ?? 0) >= 2 ? true : undefined, { timeoutMs: 30_000, what: 'two vouchers' })
    await b.stop()
    // the observers (and the provider and the first buyer) see the ask's rest drop to 1 unit
    await Promise.all(live.map(async i => await waitFor(async () => await remaining(i) === '1', { timeoutMs: 20_000, what: `the ask's rest (1) at node ${i}` })))
    const stopped = await waitFor(async () => { const j = await jobOf(p, tx); return j?.state === 'stopped' ? j : undefined }, { timeoutMs: 30_000, what: 'the provider stops' })
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await jobOf(p, tx))}`) })
    lockIds.push(stopped.lockId)
    expect(stopped.reason).toBe('missed-vouchers')
    const covered = BigInt(stopped.covered)
    expect(covered % PRICE).toBe(0n)
    expect(covered >= 2n * PRICE && covered < cost).toBe(true)
    expect(stopped.redeemed).toBe(stopped.covered)
    // it ran past what the vouchers paid (that is how it saw them missing), and stopped before running out the lock
    expect(stopped.unitsRun).toBeGreaterThan(Number(covered / PRICE))
    await ranOnProviderOnly(stopped.jobId as string, [B, ...OBSERVERS])
    // before the expiry: the provider has what the vouchers covered, the rest is still locked
    const held = await everyNodeReads(live)
    expect(held.locks[stopped.lockId]).toMatchObject({ amount: wei(cost), redeemed: wei(covered), closed: false })
    expect(held.parties[w(P)].free).toBe(wei(BigInt(before.parties[w(P)].free) + covered))
    expect(held.parties[w(B2)].free).toBe(wei(BigInt(before.parties[w(B2)].free) - cost))
    // after the lock's expiry the provider's node releases it: what no voucher covered goes back to the buyer
    const now = (await provider.getBlock('latest'))?.timestamp ?? 0
    await provider.send('evm_increaseTime', [Number(held.locks[stopped.lockId].expiry) - now + 5])
    await provider.send('evm_mine', [])
    const released = await waitFor(async () => { const j = await jobOf(p, tx); return j?.refunded !== null && j?.refunded !== undefined ? j : undefined }, { timeoutMs: 30_000, what: 'the release' })
    const refund = BigInt(released.refunded as string)
    expect(refund + covered).toBe(cost)
    // every remaining node sees the lock closed and its refund on chain (the vault's LockReleased event)
    for (const i of live) {
      const chain = mesh.meshNode(i).ledger.chain()
      if (chain === undefined) throw new Error(`node ${i}'s ledger is not ready`)
      const vault = attachCreditVault(chain.contracts.CreditVault, chain.provider)
      const events = await vault.queryFilter(vault.filters.LockReleased(stopped.lockId), startBlock)
      expect(events.map(e => { const parsed = vault.interface.parseLog(e); return { payer: parsed?.args.payer, refund: parsed?.args.refund } }), `node ${i}'s LockReleased`)
        .toEqual([{ payer: w(B2), refund }])
    }
    const end = await everyNodeReads(live)
    expect(end.locks[stopped.lockId]).toMatchObject({ amount: wei(cost), redeemed: wei(covered), closed: true })
    expect(end.parties[w(P)].free).toBe(wei(BigInt(before.parties[w(P)].free) + covered))
    expect(end.parties[w(B2)].free).toBe(wei(BigInt(before.parties[w(B2)].free) - covered))
    expect(end.parties[w(B)].free).toBe(before.parties[w(B)].free)
    for (const i of OBSERVERS) expect(end.parties[w(i)].free).toBe(start.parties[w(i)].free)
    for (const x of wallets) expect(end.parties[x].tokens).toBe(start.parties[x].tokens)
    expect(end.vaultTokens).toBe(start.vaultTokens)
    // the vault conserves: what left the buyers' free balances is in the provider's, exactly
    const freeSum = (s: ChainSnapshot): bigint => wallets.reduce((t, x) => t + BigInt(s.parties[x].free), 0n)
    expect(freeSum(end)).toBe(freeSum(start))
    await walletSays(P, { free: BigInt(end.parties[w(P)].free), locked: 0n, tokens: BigInt(start.parties[w(P)].tokens) })
  }, 120_000)
})
