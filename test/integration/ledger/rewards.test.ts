/**
 * Issue 14, part 6 (training rewards), end to end on one real anvil: three in-process nodes with the ledger on, a job
 * rewarded with 100 FTNS over 3 rounds of digits. The creator locks the total at creation; after each accepted round
 * it pays each other contributor by a payout lock and a signed voucher, pro rata to its samples in the seal; the
 * contributors redeem. After the job finishes and settlement completes, each contributor's vault balance on chain rose
 * by exactly the sum of its vouchers (to the wei), those equal the per-round payouts every node computed from the
 * seals, and the creator's vault accounts for the rest. Bad reward inputs are refused with a 4xx and lock nothing.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JsonRpcProvider } from 'ethers'
import { Mesh, waitFor, freePort, type NodeHandle } from '../../harness/index.js'
import { attachCreditVault, localContractAddresses, parseFtns, type WalletView } from '../../../src/ledger/index.js'
import type { CreateJobRequest, JobView } from '../../../src/training/index.js'
import { sseEvents } from '../../../src/node/cli/train-sse.js'
import { initDataDir } from '../../../src/node/identity.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'
import { stopLeftoverAnvil } from './chain-helpers.js'

let mesh: Mesh | undefined
let provider: JsonRpcProvider | undefined
let anvilPort: number | undefined
const streams = new AbortController()
afterAll(async () => {
  streams.abort()
  provider?.destroy()
  await mesh?.close()
  if (anvilPort !== undefined) await stopLeftoverAnvil(anvilPort)
})

const FAST = { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 1000, capMs: 4000, sealTimeoutMs: 3000 }
const REQ: CreateJobRequest = {
  model: { arch: 'mlp', layers: [16, 10], seed: 5 }, dataset: 'digits', rounds: 3, minParticipants: 3, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32', timing: FAST
}

async function refusal (n: NodeHandle, total: string): Promise<{ status?: number, code?: string, message?: string }> {
  return await n.api.fetch('POST', '/v1/training/jobs', { json: { ...REQ, reward: { total } } }).then(() => ({}), (e: unknown) => e as { status?: number, code?: string, message?: string })
}

async function views (nodes: NodeHandle[], id: string): Promise<JobView[]> {
  return await Promise.all(nodes.map(async n => await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)))
}

/** Every node's wallet, once every node's ledger is up (anvil, contracts, faucet). */
async function walletsOf (nodes: NodeHandle[]): Promise<WalletView[]> {
  return await waitFor(async () => {
    const w = await Promise.all(nodes.map(async n => await n.api.request<WalletView>('GET', '/v1/wallet').catch(() => undefined)))
    return w.every(x => x !== undefined) ? w as WalletView[] : undefined
  }, { timeoutMs: 90_000, intervalMs: 500, what: 'every node\'s ledger' })
}

/** Once every node's ledger is up: a chain connection, node i's vault free balance, and the creator's 150 FTNS deposit. */
async function creatorDeposit (nodes: NodeHandle[], port: number): Promise<{ provider: JsonRpcProvider, free: (i: number) => Promise<bigint>, deposited: bigint }> {
  const wallets = await walletsOf(nodes)
  const provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, undefined, { staticNetwork: true, cacheTimeout: -1 })
  const vault = attachCreditVault(localContractAddresses().CreditVault, provider)
  await nodes[0].api.request('POST', '/v1/wallet/deposit', { json: { amount: '150' } })
  return { provider, free: async i => await vault.freeBalanceOf(wallets[i].address), deposited: parseFtns('150') }
}

describe('training rewards paid by vouchers', () => {
  it('3 nodes, 100 FTNS over 3 rounds: each contributor\'s vault balance rises by exactly its vouchers; bad rewards lock nothing', async () => {
    const port = anvilPort = await freePort()
    mesh = await Mesh.start(3, { mode: 'inprocess', config: { ledger: { enabled: true, anvil: { port } } } })
    const nodes = mesh.nodes
    // the creator puts 150 FTNS into its vault
    const chain = await creatorDeposit(nodes, port)
    provider = chain.provider
    const { free, deposited } = chain
    expect(await free(0)).toBe(deposited)

    // bad rewards: refused with a 4xx that says why, nothing locked, no job announced
    for (const [total, status, says] of [
      ['-5', 400, /negative/],
      ['1.0000000000000000001', 400, /too many decimals/],
      ['ten', 400, /not a number/],
      ['0', 400, /greater than zero/],
      ['150.000000000000000001', 409, /above the free vault balance/]
    ] as const) {
      const e = await refusal(nodes[0], total)
      expect(e.status, `reward ${total}`).toBe(status)
      expect(e.message, `reward ${total}`).toMatch(says)
    }
    expect(await free(0)).toBe(deposited)
    expect((await nodes[0].api.request<WalletView>('GET', '/v1/wallet')).vault.locked).toBe('0')
    expect((await nodes[0].api.request<{ jobs: unknown[] }>('GET', '/v1/training/jobs')).jobs).toHaveLength(0)

    // each node's `training.reward` events (/v1/events), from before the job exists
    const events = nodes.map(() => [] as Array<{ round: number, peerId: string, amount: string, direction: string }>)
    for (const [i, n] of nodes.entries()) {
      void n.api.fetch('GET', '/v1/events', { signal: streams.signal }).then(async res => {
        if (res.body == null) return
        for await (const ev of sseEvents(res.body)) if (ev.event === 'training.reward') events[i].push(JSON.parse(ev.data))
      }).catch(() => {})
    }

    // the rewarded job: its total is locked before it is announced
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: { ...REQ, reward: { total: '100' } } })
    const total = parseFtns('100')
    expect(await free(0)).toBe(deposited - total)
    expect((await nodes[0].api.request<WalletView>('GET', '/v1/wallet')).vault.locked).toBe('100')
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the announcement' })
    await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 7 } } })))
    const done = await waitFor(async () => { const v = await views(nodes, id); return v.every(x => x.status === 'finished') ? v : undefined }, { timeoutMs: 120_000, intervalMs: 500, what: 'the job to finish' })

    // every node computed the same payouts from the seals; each round pays exactly its budget, the rounds the total
    const rounds = done[0].rounds
    expect(rounds).toHaveLength(3)
    for (const v of done) expect(v.rounds.map(r => r.payouts)).toEqual(rounds.map(r => r.payouts))
    const budgets = rounds.map(r => (r.payouts ?? []).reduce((s, p) => s + BigInt(p.wei), 0n))
    expect(budgets.reduce((s, b) => s + b, 0n)).toBe(total)
    expect(budgets[2] - budgets[0]).toBe(total % 3n)
    const earned = (peerId: string): bigint => rounds.reduce((s, r) => s + BigInt(r.payouts?.find(p => p.peerId === peerId)?.wei ?? '0'), 0n)

    // settlement: each contributor holds one voucher per round it contributed to, and its vault rose by exactly their sum
    for (const i of [1, 2]) {
      const expected = earned(nodes[i].peerId)
      expect(expected).toBeGreaterThan(0n)
      const vouchers = await waitFor(async () => {
        const v = await nodes[i].api.request<JobView>('GET', `/v1/training/jobs/${id}`)
        const got = (v.reward?.vouchers ?? []).filter(x => x.direction === 'received')
        return got.length === rounds.filter(r => r.contributors?.includes(nodes[i].peerId) === true).length ? got : undefined
      }, { timeoutMs: 30_000, intervalMs: 500, what: `node ${i}'s vouchers` })
      const sum = vouchers.reduce((s, x) => s + BigInt(x.wei), 0n)
      expect(sum).toBe(expected)
      await waitFor(async () => await free(i) === sum ? true : undefined, { timeoutMs: 30_000, intervalMs: 500, what: `node ${i}'s redemption` })
      expect(await free(i)).toBe(sum)
      // one `received` event per voucher here, and the creator announced the same payment as `sent`
      expect(events[i].filter(e => e.direction === 'received').map(e => [e.round, e.amount]).sort()).toEqual(vouchers.map(v => [v.round, v.amount]).sort())
      expect(events[0].filter(e => e.direction === 'sent' && e.peerId === nodes[i].peerId).map(e => [e.round, e.amount]).sort()).toEqual(vouchers.map(v => [v.round, v.amount]).sort())
    }

    // the creator: the reserve is released once everyone is paid; its vault lost exactly what it paid the others
    const paid = earned(nodes[1].peerId) + earned(nodes[2].peerId)
    await waitFor(async () => await free(0) === deposited - paid ? true : undefined, { timeoutMs: 30_000, intervalMs: 500, what: 'the creator\'s reserve to be released' })
    const creator = await nodes[0].api.request<JobView>('GET', `/v1/training/jobs/${id}`)
    expect((creator.reward?.vouchers ?? []).filter(v => v.direction === 'sent').reduce((s, v) => s + BigInt(v.wei), 0n)).toBe(paid)
    expect((await nodes[0].api.request<WalletView>('GET', '/v1/wallet')).vault.locked).toBe('0')
    expect(await free(0) + await free(1) + await free(2)).toBe(deposited)
  }, 240_000)
})

/**
 * The same job on nodes whose consensus genesis names all three (consensus live): every round's payouts go through a
 * `reward-payout` proposal that every node accepts by its own computation from the seal (a QC), and the creator signs
 * the round's vouchers only once it is accepted. Balances still add up to the wei.
 */
describe('training rewards through reward-payout proposals', () => {
  let cmesh: Mesh | undefined
  let cprovider: JsonRpcProvider | undefined
  let cport: number | undefined
  afterAll(async () => {
    cprovider?.destroy()
    await cmesh?.close()
    if (cport !== undefined) await stopLeftoverAnvil(cport)
  })

  it('3 nodes with a genesis naming them: each round is paid after its accepted reward-payout proposal, exact to the wei', async () => {
    const port = cport = await freePort()
    const dirs = await Promise.all([0, 1, 2].map(async () => await mkdtemp(join(tmpdir(), 'meshnode-payout-'))))
    const ids = await Promise.all(dirs.map(async d => (await initDataDir(d)).peerId))
    const config: PartialNodeOptions = {
      ledger: { enabled: true, anvil: { port } },
      consensus: { genesis: { params: {}, pretrusted: ids.map(peerId => ({ peerId, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 } }
    }
    cmesh = new Mesh()
    for (const d of dirs) cmesh.defer(async () => { await rm(d, { recursive: true, force: true }) })
    const first = await cmesh.add({ mode: 'inprocess', dataDir: dirs[0], config })
    await Promise.all(dirs.slice(1).map(async d => await cmesh?.add({ mode: 'inprocess', dataDir: d, config, bootstrap: first.addresses })))
    // node i is the one on dirs[i] (the last two start together)
    const nodes = dirs.map(d => (cmesh as Mesh).nodes.find(n => n.dataDir === d) as NodeHandle)
    const chain = await creatorDeposit(nodes, port)
    cprovider = chain.provider
    const { free, deposited } = chain
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: { ...REQ, reward: { total: '100' } } })
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the announcement' })
    await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 7 } } })))
    const done = await waitFor(async () => { const v = await views(nodes, id); return v.every(x => x.status === 'finished') ? v : undefined }, { timeoutMs: 120_000, intervalMs: 500, what: 'the job to finish' })
    const rounds = done[0].rounds
    expect(rounds).toHaveLength(3)
    for (const v of done) expect(v.rounds.map(r => r.payouts)).toEqual(rounds.map(r => r.payouts))

    // every node holds, for every round, one accepted reward-payout proposal with a QC, whose payouts are the round's
    interface PayoutProposal { status: string, executed: boolean, proposer: string, payload: { jobId: string, round: number, payouts: Array<{ peerId: string, wei: string }> }, certificate?: { voters: string[] } }
    for (const n of nodes) {
      const accepted = await waitFor(async () => {
        const { proposals } = await n.api.request<{ proposals: PayoutProposal[] }>('GET', '/v1/proposals', { query: { kind: 'reward-payout', status: 'accepted' } })
        const mine = proposals.filter(p => p.payload.jobId === id)
        return mine.length >= 3 ? mine : undefined
      }, { timeoutMs: 30_000, intervalMs: 500, what: `node ${n.index}'s accepted reward-payout proposals` })
      expect(accepted.map(p => p.payload.round).sort()).toEqual([0, 1, 2])
      for (const p of accepted) {
        expect(p.proposer).toBe(nodes[0].peerId)
        expect(p.certificate?.voters.length).toBeGreaterThanOrEqual(2)
        expect(p.payload.payouts).toEqual((rounds[p.payload.round].payouts ?? []).map(x => ({ peerId: x.peerId, wei: x.wei })))
      }
    }

    // settlement as without consensus: each contributor's vault rose by exactly its vouchers, the creator paid exactly that
    const earned = (peerId: string): bigint => rounds.reduce((s, r) => s + BigInt(r.payouts?.find(p => p.peerId === peerId)?.wei ?? '0'), 0n)
    for (const i of [1, 2]) {
      const expected = earned(nodes[i].peerId)
      expect(expected).toBeGreaterThan(0n)
      await waitFor(async () => await free(i) === expected ? true : undefined, { timeoutMs: 30_000, intervalMs: 500, what: `node ${i}'s redemption` })
    }
    const paid = earned(nodes[1].peerId) + earned(nodes[2].peerId)
    await waitFor(async () => await free(0) === deposited - paid ? true : undefined, { timeoutMs: 30_000, intervalMs: 500, what: 'the creator\'s reserve to be released' })
    expect(await free(0) + await free(1) + await free(2)).toBe(deposited)
  }, 240_000)
})
