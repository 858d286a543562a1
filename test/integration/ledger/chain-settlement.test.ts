/**
 * Exactly-once settlement through the failures the issue names, against a real anvil: an RPC outage mid-settlement
 * (a proxy that loses every answer while requests still land: 5 s here, 30 s with MESHNODE_SLOW_TESTS=1), an
 * `anvil_reorg` of depth 3 under settled and in-flight intents, and a SIGKILL of the process running the client,
 * then a restart that finishes the work. Each time: every settlement lands exactly once, balances exact to the wei,
 * one nonce per intent.
 */
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseEther } from 'ethers'
import { EventBus } from '../../../src/common/events.js'
import { chainClient, createChainProvider, networkProfile, type ChainEvents } from '../../../src/ledger/chain/index.js'
import { chainFixture, checkBatch, fundedWallet, openStore, settlementBatch, startProxy, waitAllDone } from './chain-helpers.js'

const OUTAGE_MS = process.env.MESHNODE_SLOW_TESTS === '1' ? 30_000 : 5_000
const HERE = fileURLToPath(new URL('.', import.meta.url))

const fx = chainFixture('chain-settle-')

/** Resolves when `pred` holds for an event on `bus`. */
function when (bus: EventBus<ChainEvents>, pred: (e: ChainEvents['ledger.intent']) => boolean): Promise<void> {
  return new Promise(resolve => {
    const off = bus.subscribe(e => { if (e.type === 'ledger.intent' && pred(e.data)) { off(); resolve() } })
  })
}

describe('exactly-once settlement', () => {
  it(`through an RPC outage of ${OUTAGE_MS / 1000} s mid-settlement (answers lost, requests land)`, async () => {
    const wallet = await fundedWallet(fx.d, parseEther('1000'))
    const tokensBefore = await fx.d.token.balanceOf(wallet.address)
    const proxy = await startProxy(fx.anvil.url)
    fx.cleanups.push(proxy.close)
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [proxy.url], network, timeoutMs: 1_000 })
    const bus = new EventBus<ChainEvents>()
    const client = chainClient({ network, pollMs: 50, stallMs: 120_000 })({ wallet, provider, store: await fx.store('outage'), events: bus })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    const batch = await settlementBatch(fx.d, wallet.address, 'outage')
    // the outage starts the moment the third intent (the first lock) is signed and recorded: its broadcast lands
    // on anvil, its answer never comes back
    const third = batch.intents[2].id
    const dropped = when(bus, e => e.id === third && e.state === 'sent').then(() => { proxy.drop() })
    await client.start()
    for (const i of batch.intents) await client.submit(i)
    await dropped
    await new Promise(resolve => setTimeout(resolve, OUTAGE_MS))
    const during = await Promise.all(batch.intents.map(async i => (await client.get(i.id))?.state))
    expect(during.filter(s => s === 'done').length).toBeLessThan(batch.intents.length)
    proxy.restore()
    const recs = await waitAllDone(client, batch.intents.map(i => i.id), 30_000 + OUTAGE_MS)
    expect(await checkBatch(fx.d, wallet.address, batch, tokensBefore)).toEqual([])
    expect(new Set(recs.map(r => r.nonce)).size).toBe(batch.intents.length)
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(batch.intents.length)
  })

  it('through an anvil_reorg of depth 3 under settled and in-flight intents', async () => {
    const wallet = await fundedWallet(fx.d, parseEther('1000'))
    const tokensBefore = await fx.d.token.balanceOf(wallet.address)
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    const bus = new EventBus<ChainEvents>()
    const reopened: string[] = []
    bus.subscribe(e => { if (e.type === 'ledger.intent' && e.data.state === 'sent' && e.data.nonce >= 0) reopened.push(e.data.id) })
    const client = chainClient({ network, pollMs: 50 })({ wallet, provider, store: await fx.store('reorg'), events: bus })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    const batch = await settlementBatch(fx.d, wallet.address, 'reorg')
    // reorg as soon as the 5th intent is done: the last 3 blocks (settled intents) vanish while the rest are in flight
    const fifth = batch.intents[4].id
    const reorged = when(bus, e => e.id === fifth && e.state === 'done').then(async () => { await fx.anvil.rpc('anvil_reorg', [3, []]) })
    await client.start()
    for (const i of batch.intents) await client.submit(i)
    await reorged
    await waitAllDone(client, batch.intents.map(i => i.id), 30_000)
    expect(await checkBatch(fx.d, wallet.address, batch, tokensBefore)).toEqual([])
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(batch.intents.length)
    // the reorged intents went back to `sent` once more (sent once at first, again after the reorg)
    const resent = [...new Set(reopened.filter(id => reopened.filter(x => x === id).length > 1))]
    expect(resent.length).toBeGreaterThanOrEqual(1)
  })

  it('through a SIGKILL of the client process mid-settlement, then a restart', async () => {
    const wallet = await fundedWallet(fx.d, parseEther('1000'))
    const tokensBefore = await fx.d.token.balanceOf(wallet.address)
    const batch = await settlementBatch(fx.d, wallet.address, 'kill')
    const intentsFile = join(fx.dir, 'kill-intents.json')
    await writeFile(intentsFile, JSON.stringify(batch.intents))
    const storeDir = join(fx.dir, 'kill')
    // node itself runs the script (tsx as a loader), so SIGKILL hits the process that holds the store
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'chain-child.ts'), fx.anvil.url, storeDir, intentsFile], {
      env: { ...process.env, CHAIN_CHILD_KEY: wallet.privateKey }, stdio: ['ignore', 'pipe', 'inherit']
    })
    const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_c, sig) => { resolve(sig) }))
    fx.cleanups.push(async () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
    // kill it the moment it recorded the 3rd transaction: that one is on the wire, its receipt never recorded
    let sent = 0
    for await (const line of createInterface({ input: child.stdout })) {
      const e = JSON.parse(line) as { type: string, state?: string }
      if (e.type === 'ledger.intent' && e.state === 'sent' && ++sent === 3) { child.kill('SIGKILL'); break }
    }
    expect(await exited).toBe('SIGKILL')
    // restart in this process on the same store
    const { kv, close } = await openStore(storeDir)
    fx.cleanups.push(close)
    const network = networkProfile('local')
    const provider = createChainProvider({ urls: [fx.anvil.url], network })
    const client = chainClient({ network, pollMs: 50 })({ wallet, provider, store: kv })
    fx.cleanups.push(async () => { await client.stop(); provider.destroy() })
    const stored = await client.list()
    expect(stored.map(r => r.id)).toEqual(batch.intents.map(i => i.id))
    expect(stored.some(r => r.state !== 'done')).toBe(true)
    await client.start()
    await waitAllDone(client, batch.intents.map(i => i.id), 30_000)
    expect(await checkBatch(fx.d, wallet.address, batch, tokensBefore)).toEqual([])
    expect(await fx.anvil.provider.getTransactionCount(wallet.address)).toBe(batch.intents.length)
  })
})
