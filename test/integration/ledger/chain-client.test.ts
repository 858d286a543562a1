/**
 * The chain client against a real anvil: a settlement batch of every proof kind lands exactly once, a stuck
 * transaction is replaced by a bumped one, RPC failover, the finality-lag alarm, and the event indexer (idempotent
 * across restarts, rolled back and re-indexed after an `anvil_reorg`).
 */
import { describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { EventBus } from '../../../src/common/events.js'
import { fundInVault } from '../../../contracts/test/harness/deploy.js'
import { creditVaultAbi, computeMarketAbi, lockIdOf, signVoucher } from '../../../src/ledger/contracts/index.js'
import {
  chainClient, chainIndexer, createChainMetrics, createChainProvider, networkProfile, reportFailover, type ChainEvents, type IndexedEvent
} from '../../../src/ledger/chain/index.js'
import { waitFor } from '../../harness/index.js'
import { chainFixture, checkBatch, fundedWallet, settlementBatch, waitAllDone } from './chain-helpers.js'
import { parseEther } from 'ethers'

const fx = chainFixture('chain-client-')

describe('chain client on anvil', () => {
  it('settles a batch of every proof kind exactly once, and resubmitting an id returns the first', async () => {
    const wallet = await fundedWallet(fx.d, parseEther('1000'))
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    const bus = new EventBus<ChainEvents>()
    const states: string[] = []
    bus.subscribe(e => { if (e.type === 'ledger.intent') states.push(`${e.data.id}:${e.data.state}`) })
    const client = chainClient({ network, pollMs: 50 })({ wallet, provider, store: await fx.store('happy'), events: bus, metrics: createChainMetrics(new Registry()) })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    await client.start()
    const tokensBefore = await fx.d.token.balanceOf(wallet.address)
    const batch = await settlementBatch(fx.d, wallet.address, 'happy')
    const results = await Promise.all(batch.intents.map(async i => await client.settle(i)))
    expect(results.map(r => r.state)).toEqual(batch.intents.map(() => 'done'))
    expect(results.every(r => r.doneBy === 'receipt' && r.txs.length === 1)).toBe(true)
    expect(await checkBatch(fx.d, wallet.address, batch, tokensBefore)).toEqual([])
    // nonces: one per intent, in submission order, none wasted
    expect(results.map(r => r.nonce)).toEqual(batch.intents.map((_, i) => i))
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(batch.intents.length)
    expect(states.filter(s => s.endsWith(':prepared')).length).toBe(batch.intents.length)
    // the same id again: the stored intent, nothing sent
    const again = await client.settle(batch.intents[1])
    expect(again.txs[0].hash).toBe(results[1].txs[0].hash)
    await expect(client.submit({ ...batch.intents[1], data: '0x00' })).rejects.toMatchObject({ code: 'ERR_INTENT_CONFLICT' })
    // the same lock under a new intent id: its proof already holds, so it completes without sending anything
    const dup = await client.settle({ ...batch.intents[2], id: 'happy:lock-again' })
    expect(dup).toMatchObject({ state: 'done', doneBy: 'proof', txs: [] })
    // a call that would revert fails before it takes a nonce, with the contract's error name
    const vault = fx.d.addresses.vault
    const tooMuch = fx.d.vault.interface.encodeFunctionData('lock', [fx.anvil.wallets[2].address, parseEther('100000'), (await fx.anvil.now()) + 3600n, 77n])
    await expect(client.settle({ id: 'happy:too-much', kind: 'lock', to: vault, data: tooMuch, proof: { type: 'vault-lock', vault, lockId: '0x' + '77'.repeat(32) } }))
      .rejects.toMatchObject({ code: 'ERR_INTENT_FAILED' })
    expect((await client.get('happy:too-much'))?.error).toMatch(/InsufficientFreeBalance/)
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(batch.intents.length)
  })

  it('redeems a batch of vouchers from two payers in one redeemMany, once; the same batch again completes by proof', async () => {
    const wallet = await fundedWallet(fx.d, 0n)
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    const client = chainClient({ network, pollMs: 50 })({ wallet, provider, store: await fx.store('many') })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    await client.start()
    const vault = fx.d.addresses.vault
    const expiry = (await fx.anvil.now()) + 3600n
    const claims: Array<{ payer: string, salt: bigint, cumulativeAmount: bigint, r: string, vs: string }> = []
    const items: Array<{ lockId: string, cumulativeAmount: string }> = []
    for (const [i, payer] of [fx.anvil.wallets[7], fx.anvil.wallets[8]].entries()) {
      await fundInVault(fx.d, payer, parseEther('50'))
      const salt = BigInt(1000 + i)
      await (await fx.d.vault.connect(payer).lock(wallet.address, parseEther('50'), expiry, salt)).wait()
      const lockId = lockIdOf(payer.address, wallet.address, salt)
      const amount = parseEther(String(5 + i))
      const sig = await signVoucher(payer, fx.d.vaultDomain, { lockId, cumulativeAmount: amount })
      claims.push({ payer: payer.address, salt, cumulativeAmount: amount, r: sig.r, vs: sig.vs })
      items.push({ lockId, cumulativeAmount: amount.toString() })
    }
    const data = fx.d.vault.interface.encodeFunctionData('redeemMany', [claims])
    const first = await client.settle({ id: 'many:1', kind: 'redeem-many', to: vault, data, proof: { type: 'vouchers', vault, items } })
    expect(first).toMatchObject({ state: 'done', doneBy: 'receipt' })
    expect(await fx.d.vault.freeBalanceOf(wallet.address)).toBe(parseEther('11'))
    const again = await client.settle({ id: 'many:2', kind: 'redeem-many', to: vault, data, proof: { type: 'vouchers', vault, items } })
    expect(again).toMatchObject({ state: 'done', doneBy: 'proof', txs: [] })
    expect(await fx.d.vault.freeBalanceOf(wallet.address)).toBe(parseEther('11'))
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(1)
  })

  it('replaces a stuck transaction with bumped fees at the same nonce; only the replacement is mined', async () => {
    const wallet = await fundedWallet(fx.d, parseEther('10'))
    await fx.anvil.rpc('evm_setAutomine', [false])
    try {
      const network = networkProfile('local', { automine: false })
      const provider = createChainProvider({ urls: [fx.anvil.url], network })
      const bus = new EventBus<ChainEvents>()
      const replaced: Array<ChainEvents['ledger.tx-replaced']> = []
      bus.subscribe(e => { if (e.type === 'ledger.tx-replaced') replaced.push(e.data) })
      const client = chainClient({ network, pollMs: 50, stallMs: 300 })({ wallet, provider, store: await fx.store('bump'), events: bus })
      fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
      await client.start()
      const data = fx.d.token.interface.encodeFunctionData('transfer', [fx.anvil.wallets[5].address, parseEther('1')])
      await client.submit({ id: 'bump:transfer', kind: 'transfer', to: fx.d.addresses.token, data, gasLimit: 100_000n, proof: { type: 'nonce' } })
      const deadline = Date.now() + 10_000
      while (replaced.length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
      expect(replaced.length).toBeGreaterThanOrEqual(2)
      const rec = await client.get('bump:transfer')
      const first = rec?.txs[0]
      const last = rec?.txs[rec.txs.length - 1]
      expect(BigInt(last?.maxPriorityFeePerGas ?? 0) * 1000n).toBeGreaterThanOrEqual(BigInt(first?.maxPriorityFeePerGas ?? 0) * 1125n * 1125n / 1000n)
      await fx.anvil.rpc('evm_mine')
      const [done] = await waitAllDone(client, ['bump:transfer'], 10_000)
      // one transaction at that nonce was mined: a replacement, and the transfer happened once
      expect(done.receipt?.hash).not.toBe(first?.hash)
      expect(done.txs.map(t => t.hash)).toContain(done.receipt?.hash)
      expect(await fx.d.token.balanceOf(wallet.address)).toBe(parseEther('9'))
      expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(1)
    } finally {
      await fx.anvil.rpc('evm_setAutomine', [true])
    }
  })

  it('settles dependent intents submitted together on a chain that mines every second (no automine)', async () => {
    const wallet = await fundedWallet(fx.d, parseEther('10'))
    await fx.anvil.rpc('evm_setAutomine', [false])
    await fx.anvil.rpc('evm_setIntervalMining', [1])
    try {
      const network = networkProfile('local', { automine: false })
      const provider = createChainProvider({ urls: [fx.anvil.url], network })
      const client = chainClient({ network, pollMs: 100 })({ wallet, provider, store: await fx.store('interval') })
      fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
      await client.start()
      const vault = fx.d.addresses.vault
      const ids = ['interval:approve', 'interval:deposit']
      await client.submit({ id: ids[0], kind: 'approve', to: fx.d.addresses.token, data: fx.d.token.interface.encodeFunctionData('approve', [vault, parseEther('4')]), proof: { type: 'nonce' } })
      await client.submit({ id: ids[1], kind: 'deposit', to: vault, data: fx.d.vault.interface.encodeFunctionData('deposit', [parseEther('4')]), proof: { type: 'nonce' } })
      await waitAllDone(client, ids, 20_000)
      expect(await fx.d.vault.freeBalanceOf(wallet.address)).toBe(parseEther('4'))
      expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(2)
    } finally {
      await fx.anvil.rpc('evm_setIntervalMining', [0])
      await fx.anvil.rpc('evm_setAutomine', [true])
    }
  })

  it('fails over to the next RPC URL when the first cannot be reached', async () => {
    const bus = new EventBus<ChainEvents>()
    const switched: Array<ChainEvents['ledger.rpc-failover']> = []
    bus.subscribe(e => { if (e.type === 'ledger.rpc-failover') switched.push(e.data) })
    const registry = new Registry()
    const onFailover = reportFailover({ events: bus, metrics: createChainMetrics(registry) })
    const provider = createChainProvider({ urls: ['http://127.0.0.1:9', fx.anvil.url], network: networkProfile('local'), timeoutMs: 1_000, onFailover })
    try {
      expect(await provider.getBlockNumber()).toBeGreaterThan(0)
      expect(await provider.getBlockNumber()).toBeGreaterThan(0)
      expect(provider.currentUrlIndex).toBe(1)
      expect(switched).toEqual([{ from: 0, to: 1, reason: 'unreachable' }])
      expect(await registry.getSingleMetricAsString('meshnode_ledger_chain_rpc_failovers_total')).toMatch(/ 1$/m)
      const dead = createChainProvider({ urls: ['http://127.0.0.1:9'], network: networkProfile('local'), timeoutMs: 500 })
      await expect(dead.send('eth_blockNumber', [])).rejects.toMatchObject({ code: 'ERR_RPC_UNAVAILABLE' })
      dead.destroy()
    } finally {
      provider.destroy()
    }
  })

  it('raises the finality-lag alarm (metric and event) and credits by depth while finality lags', async () => {
    await fx.anvil.rpc('anvil_mine', ['0x50', '0x2']) // anvil finalizes 64 blocks behind the head: 128 s of lag here
    const wallet = await fundedWallet(fx.d, 0n)
    const registry = new Registry()
    const metrics = createChainMetrics(registry)
    const bus = new EventBus<ChainEvents>()
    const lag: Array<ChainEvents['ledger.finality-lag']> = []
    bus.subscribe(e => { if (e.type === 'ledger.finality-lag') lag.push(e.data) })
    const network = networkProfile('local', { confirmation: { kind: 'finalized', fallbackDepth: 10, maxLagMs: 60_000 } })
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    const client = chainClient({ network, pollMs: 50 })({ wallet, provider, store: await fx.store('finality'), events: bus, metrics })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    await client.start()
    await client.tick()
    const fin = await client.finality()
    expect(fin.finalized).toBe(fin.latest - 64)
    expect(fin.lagging).toBe(true)
    expect(fin.confirmedUpTo).toBe(fin.latest - 9)
    expect(lag).toHaveLength(1)
    expect(lag[0].lagging).toBe(true)
    expect(lag[0].lagSeconds).toBeGreaterThan(60)
    expect(await registry.getSingleMetricAsString('meshnode_ledger_chain_finality_lagging')).toMatch(/ 1$/m)
    // the same chain under a patient rule: credited at the finalized tag, no alarm
    const patient = networkProfile('local', { confirmation: { kind: 'finalized', fallbackDepth: 10, maxLagMs: 3_600_000 } })
    const c2 = chainClient({ network: patient })({ wallet, provider, store: await fx.store('finality2') })
    const f2 = await c2.finality()
    expect(f2.lagging).toBe(false)
    expect(f2.confirmedUpTo).toBe(f2.finalized)
  })

  it('indexes vault events idempotently across restarts, and rolls back and re-indexes after a reorg', async () => {
    const kv = await fx.store('indexer')
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    fx.cleanups.push(async () => { provider.destroy() })
    const contracts = [{ name: 'CreditVault', address: fx.d.addresses.vault, abi: creditVaultAbi }, { name: 'ComputeMarket', address: fx.d.addresses.market, abi: computeMarketAbi }]
    const bus = new EventBus<ChainEvents>()
    const reorgs: Array<ChainEvents['ledger.reorg']> = []
    bus.subscribe(e => { if (e.type === 'ledger.reorg') reorgs.push(e.data) })
    const make = (): ReturnType<ReturnType<typeof chainIndexer>> => chainIndexer({ contracts, fromBlock: 0, batchBlocks: 50, keepBlocks: 16 })({ provider, store: kv, events: bus })
    const payer = fx.anvil.wallets[6]
    await (await fx.d.token.mint(payer.address, parseEther('10'))).wait()
    await (await fx.d.token.connect(payer).approve(fx.d.addresses.vault, parseEther('10'))).wait()
    for (let i = 0; i < 3; i++) await (await fx.d.vault.connect(payer).deposit(parseEther('1'))).wait()
    const ix = make()
    const cur = await ix.sync()
    expect(cur.block).toBe(await fx.anvil.provider.getBlockNumber())
    const deposits = async (): Promise<number> => (await ix.query({ contract: 'CreditVault', name: 'Deposited' })).filter(e => e.args.account === payer.address).length
    expect(await deposits()).toBe(3)
    // a fresh indexer on the same store resumes from the cursor and writes nothing twice
    const ix2 = make()
    expect((await ix2.cursor()).block).toBe(cur.block)
    await ix2.sync()
    expect(await deposits()).toBe(3)
    // reorg the 3 deposit blocks away, then one new deposit on the new branch
    const before = (await ix2.query({ name: 'Deposited' })).filter(e => e.args.account === payer.address)
    const removed: string[] = []
    ix2.subscribe((e, gone) => { if (gone) removed.push(e.blockHash) })
    await fx.anvil.rpc('anvil_reorg', [3, []])
    await (await fx.d.vault.connect(payer).deposit(parseEther('1'))).wait()
    await ix2.sync()
    const after = (await ix2.query({ name: 'Deposited' })).filter(e => e.args.account === payer.address)
    expect(reorgs).toHaveLength(1)
    expect(reorgs[0].removed).toBe(3)
    expect(removed.sort()).toEqual(before.map(e => e.blockHash).sort())
    expect(after).toHaveLength(1)
    expect(before.map(e => e.blockHash)).not.toContain(after[0].blockHash)
    // every stored event's block hash is the chain's
    for (const e of await ix2.query()) expect((await fx.anvil.provider.getBlock(e.blockNumber))?.hash).toBe(e.blockHash)
    expect(await fx.d.vault.freeBalanceOf(payer.address)).toBe(parseEther('1'))
  })

  it('an idle running indexer asks only for the head, less and less often; a new block or a same-height reorg brings the full pass back', async () => {
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    fx.cleanups.push(async () => { provider.destroy() })
    // the real provider, with each JSON-RPC method it is asked recorded
    const calls: string[] = []
    const send = provider.send.bind(provider)
    provider.send = async (method: string, params: unknown[] | Record<string, unknown>) => { calls.push(`${method}${method === 'eth_getBlockByNumber' ? `:${String((params as unknown[])[0])}` : ''}`); return await send(method, params) }
    const payer = fx.anvil.wallets[7]
    await (await fx.d.token.mint(payer.address, parseEther('10'))).wait()
    await (await fx.d.token.connect(payer).approve(fx.d.addresses.vault, parseEther('10'))).wait()
    const ix = chainIndexer({ contracts: [{ name: 'CreditVault', address: fx.d.addresses.vault, abi: creditVaultAbi }], fromBlock: await fx.anvil.provider.getBlockNumber(), pollMs: 50, maxIdlePollMs: 400 })({ provider, store: await fx.store('idle') })
    const removed: string[] = []
    ix.subscribe((e, gone) => { if (gone) removed.push(e.blockHash) })
    fx.cleanups.push(async () => { await ix.stop() })
    await ix.start()
    await waitFor(async () => (await ix.cursor()).hash != null, { timeoutMs: 20_000, what: 'the first pass' })
    await new Promise(resolve => setTimeout(resolve, 300))
    calls.length = 0
    await new Promise(resolve => setTimeout(resolve, 2000))
    // idle: the head, nothing else (no eth_blockNumber, no block hashes by number); at 50 ms with no backoff 40 passes
    expect(calls.length).toBeGreaterThan(0)
    expect(new Set(calls)).toEqual(new Set(['eth_getBlockByNumber:latest']))
    expect(calls.length).toBeLessThanOrEqual(10)
    // a new block: indexed by the running indexer, without a sync() call
    const deposits = async (): Promise<IndexedEvent[]> => (await ix.query({ name: 'Deposited' })).filter(e => e.args.account === payer.address)
    await (await fx.d.vault.connect(payer).deposit(parseEther('1'))).wait()
    const [dep] = await waitFor(async () => { const d = await deposits(); return d.length === 1 ? d : undefined }, { timeoutMs: 20_000, what: 'the deposit indexed' })
    // a reorg of depth 1 keeps the height and changes the head's hash: rolled back without a sync() call
    await waitFor(async () => { await new Promise(resolve => setTimeout(resolve, 500)); return calls.at(-1) === 'eth_getBlockByNumber:latest' }, { timeoutMs: 20_000, what: 'idle again' })
    const height = await fx.anvil.provider.getBlockNumber()
    expect(dep.blockNumber).toBe(height)
    await fx.anvil.rpc('anvil_reorg', [1, []])
    expect(await fx.anvil.provider.getBlockNumber()).toBe(height)
    await waitFor(() => removed.includes(dep.blockHash), { timeoutMs: 20_000, what: 'the reorged deposit rolled back' })
    expect(await deposits()).toEqual([])
  })
})
