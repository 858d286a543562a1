/**
 * The ledger's one head poller against a real anvil: an indexer and a chain client following it ask the chain for
 * nothing of their own at idle (the watch's head polls only); a block from someone else wakes the indexer, a settlement
 * of the client's own goes through (its broadcast pokes the watch), and a reorg at the same height is rolled back.
 */
import { describe, expect, it } from 'vitest'
import { parseEther } from 'ethers'
import { creditVaultAbi } from '../../../src/ledger/contracts/index.js'
import { HeadWatch, chainClient, chainIndexer, createChainProvider, networkProfile, type IndexedEvent } from '../../../src/ledger/chain/index.js'
import { waitFor } from '../../harness/index.js'
import { chainFixture, fundedWallet, settlementBatch } from './chain-helpers.js'

const fx = chainFixture('head-watch-')
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('head watch on anvil', () => {
  it('an indexer and a client following it make no RPC of their own at idle, and still see every block', async () => {
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    // the real provider, with each JSON-RPC method it is asked recorded
    const calls: string[] = []
    const send = provider.send.bind(provider)
    provider.send = async (method: string, params: unknown[] | Record<string, unknown>) => { calls.push(`${method}${method === 'eth_getBlockByNumber' ? `:${String((params as unknown[])[0])}` : ''}`); return await send(method, params) }
    const heads = new HeadWatch(provider, { minMs: 50, maxMs: 400 })
    const wallet = (await fundedWallet(fx.d, parseEther('1000'))).connect(provider)
    const client = chainClient({ network, pollMs: 50, idlePollMs: 1000 })({ wallet, provider, store: await fx.store('client'), heads })
    const ix = chainIndexer({ contracts: [{ name: 'CreditVault', address: fx.d.addresses.vault, abi: creditVaultAbi }], fromBlock: await fx.anvil.provider.getBlockNumber(), pollMs: 50 })({ provider, store: await fx.store('index'), heads })
    const removed: string[] = []
    ix.subscribe((e, gone) => { if (gone) removed.push(e.blockHash) })
    fx.cleanups.push(async () => { heads.stop(); await ix.stop(); await client.stop(); provider.destroy() })
    heads.start()
    await client.start()
    ix.start()
    await waitFor(async () => (await ix.cursor()).hash != null, { timeoutMs: 20_000, what: 'the first pass' })
    await sleep(1500)
    calls.length = 0
    await sleep(2000)
    // idle: the watch's head polls, backing off to 400 ms (no client pass: its heartbeat is 12 x 1 s away)
    expect(new Set(calls)).toEqual(new Set(['eth_getBlockByNumber:latest']))
    expect(calls.length).toBeGreaterThan(2)
    expect(calls.length).toBeLessThanOrEqual(8)

    // someone else's deposit: indexed without a sync() call, woken by the watch
    const payer = fx.anvil.wallets[6]
    await (await fx.d.token.mint(payer.address, parseEther('10'))).wait()
    await (await fx.d.token.connect(payer).approve(fx.d.addresses.vault, parseEther('10'))).wait()
    await (await fx.d.vault.connect(payer).deposit(parseEther('1'))).wait()
    const deposits = async (): Promise<IndexedEvent[]> => (await ix.query({ name: 'Deposited' })).filter(e => e.args.account === payer.address)
    const [dep] = await waitFor(async () => { const d = await deposits(); return d.length === 1 ? d : undefined }, { timeoutMs: 20_000, what: 'the deposit indexed' })

    // the client's own settlements go through and are indexed (its broadcasts poke the watch)
    const batch = await settlementBatch(fx.d, wallet.address, 'watch', 1)
    const done = await Promise.all(batch.intents.map(async i => await client.settle(i)))
    expect(done.every(r => r.state === 'done')).toBe(true)
    await waitFor(async () => (await ix.query({ name: 'Deposited' })).some(e => e.args.account === wallet.address) ? true : undefined, { timeoutMs: 20_000, what: "the client's deposit indexed" })

    // a reorg of depth 1 keeps the height and changes the head's hash: the watch reports it, the indexer rolls back
    await (await fx.d.vault.connect(payer).deposit(parseEther('1'))).wait()
    const [, second] = await waitFor(async () => { const d = await deposits(); return d.length === 2 ? d : undefined }, { timeoutMs: 20_000, what: 'the second deposit indexed' })
    expect(second.blockHash).not.toBe(dep.blockHash)
    await fx.anvil.rpc('anvil_reorg', [1, []])
    await waitFor(() => removed.includes(second.blockHash), { timeoutMs: 20_000, what: 'the reorged deposit rolled back' })
    expect((await deposits()).map(e => e.blockHash)).toEqual([dep.blockHash])
  })
})
