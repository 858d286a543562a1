/**
 * Issue 14, part 6 (training rewards), end to end on one real anvil: three in-process nodes with the ledger on, a job
 * rewarded with 100 FTNS over 3 rounds of digits. The creator locks the total at creation; after each accepted round
 * it pays each other contributor by a payout lock and a signed voucher, pro rata to its samples in the seal; the
 * contributors redeem. After the job finishes and settlement completes, each contributor's vault balance on chain rose
 * by exactly the sum of its vouchers (to the wei), those equal the per-round payouts every node computed from the
 * seals, and the creator's vault accounts for the rest. Bad reward inputs are refused with a 4xx and lock nothing.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { readdir, readFile } from 'node:fs/promises'
import { JsonRpcProvider } from 'ethers'
import { Mesh, waitFor, freePort, type NodeHandle } from '../../harness/index.js'
import { attachCreditVault, localContractAddresses, parseFtns, probeChainId, type WalletView } from '../../../src/ledger/index.js'
import type { CreateJobRequest, JobView } from '../../../src/training/index.js'
import { sseEvents } from '../../../src/node/cli/train-sse.js'

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

/**
 * The last node out stops the anvil it shares; if that was cut short (a slow shutdown on a loaded machine), stop the
 * one anvil this test's nodes started (found by its own port) rather than leave it running.
 */
async function stopLeftoverAnvil (port: number): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    if (await probeChainId(`http://127.0.0.1:${port}`, 300).catch(() => undefined) === undefined) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (args[0]?.endsWith('anvil') === true && args[args.indexOf('--port') + 1] === String(port)) process.kill(Number(pid), 'SIGTERM')
  }
}

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

describe('training rewards paid by vouchers', () => {
  it('3 nodes, 100 FTNS over 3 rounds: each contributor\'s vault balance rises by exactly its vouchers; bad rewards lock nothing', async () => {
    const port = anvilPort = await freePort()
    mesh = await Mesh.start(3, { mode: 'inprocess', config: { ledger: { enabled: true, anvil: { port } } } })
    const nodes = mesh.nodes
    const wallets = await waitFor(async () => {
      const w = await Promise.all(nodes.map(async n => await n.api.request<WalletView>('GET', '/v1/wallet').catch(() => undefined)))
      return w.every(x => x !== undefined) ? w as WalletView[] : undefined
    }, { timeoutMs: 90_000, intervalMs: 500, what: 'every node\'s ledger' })
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, undefined, { staticNetwork: true, cacheTimeout: -1 })
    const vault = attachCreditVault(localContractAddresses().CreditVault, provider)
    const free = async (i: number): Promise<bigint> => await vault.freeBalanceOf(wallets[i].address)

    // the creator puts 150 FTNS into its vault
    await nodes[0].api.request('POST', '/v1/wallet/deposit', { json: { amount: '150' } })
    const deposited = parseFtns('150')
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
