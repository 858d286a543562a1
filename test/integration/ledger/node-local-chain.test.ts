/**
 * The embedded local chain's rules, with real anvils and no node around them: concurrent starters spawn one anvil and
 * deploy once; the last lease stops it and its state survives into the next start (contracts found, not redeployed);
 * an anvil someone else started is reused but never stopped; a port serving another chain is refused; a ready
 * ledger at idle asks its chain for the head only (one poller: no indexer, client or withdrawal polls of their own).
 */
import { describe, it, expect, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JsonRpcProvider, Wallet } from 'ethers'
import { silentLogger } from '../../../src/common/logger.js'
import { waitFor, freePort } from '../../harness/index.js'
import { anvilBinary, ensureAnvil, probeChainId, withLocalChainLock } from '../../../src/ledger/local/anvil.js'
import { ensureLocalContracts, localContractAddresses } from '../../../src/ledger/local/deploy.js'
import { fundFromFaucet } from '../../../src/ledger/local/faucet.js'
import { attachFTNSToken } from '../../../src/ledger/contracts/index.js'
import { EventBus } from '../../../src/common/events.js'
import { ledger, defaultLedgerOptions, type LedgerEvents } from '../../../src/ledger/index.js'
import { memoryKv } from '../../../src/ledger/chain/index.js'

const dirs: string[] = []
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'meshnode-localchain-'))
  dirs.push(d)
  return d
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

const provider = (port: number): JsonRpcProvider => new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })

describe('the embedded local chain', () => {
  it('concurrent nodes start one anvil and deploy once; the last lease stops it; its state comes back on the next start', async () => {
    const port = await freePort()
    const runDir = await tempDir()
    const [d1, d2] = [await tempDir(), await tempDir()]
    const opts = { port, startTimeoutMs: 20_000, logger: silentLogger, runDir }
    const [a, b] = await Promise.all([ensureAnvil({ ...opts, dataDir: d1 }), ensureAnvil({ ...opts, dataDir: d2 })])
    expect([a.started, b.started].filter(Boolean)).toHaveLength(1)
    const p = provider(port)
    const wallet = Wallet.createRandom().address
    try {
      const deploys = await Promise.all([1, 2, 3].map(async () => await withLocalChainLock(port, async () => await ensureLocalContracts(p), { runDir })))
      expect(deploys.filter(d => d.deployed)).toHaveLength(1)
      for (const d of deploys) expect(d.addresses).toEqual(localContractAddresses())
      const given = await withLocalChainLock(port, async () => await fundFromFaucet(p, localContractAddresses().FTNSToken, wallet, 10n ** 21n, 10n ** 18n), { runDir })
      expect(given).toEqual({ ftns: 10n ** 21n, eth: 10n ** 18n })
      // a second drip tops up to the target only
      expect(await fundFromFaucet(p, localContractAddresses().FTNSToken, wallet, 10n ** 21n, 10n ** 18n)).toEqual({ ftns: 0n, eth: 0n })
    } finally {
      p.destroy()
    }
    await a.release()
    expect(await probeChainId(a.url)).toBe(31337)
    await b.release()
    await waitFor(async () => await probeChainId(a.url, 300) === undefined, { timeoutMs: 10_000, what: 'anvil to stop with the last lease' })
    const starter = a.started ? d1 : d2
    expect(existsSync(join(starter, 'ledger', 'anvil-state.json'))).toBe(true)

    // the next start loads that state: contracts and balances are still there
    const again = await ensureAnvil({ ...opts, dataDir: starter })
    const q = provider(port)
    try {
      expect(again.started).toBe(true)
      expect((await ensureLocalContracts(q)).deployed).toBe(false)
      expect(await attachFTNSToken(localContractAddresses().FTNSToken, q).balanceOf(wallet)).toBe(10n ** 21n)
    } finally {
      q.destroy()
      await again.release()
    }
  })

  it('reuses an anvil someone else started without ever stopping it, and refuses a port that serves another chain', async () => {
    const port = await freePort()
    const runDir = await tempDir()
    const theirs = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', '--silent'], { stdio: 'ignore' })
    try {
      await waitFor(async () => await probeChainId(`http://127.0.0.1:${port}`, 300) === 31337, { timeoutMs: 20_000, what: 'their anvil' })
      const lease = await ensureAnvil({ port, startTimeoutMs: 20_000, logger: silentLogger, runDir, dataDir: await tempDir() })
      expect(lease.started).toBe(false)
      await lease.release()
      expect(await probeChainId(lease.url)).toBe(31337)
    } finally {
      theirs.kill('SIGKILL')
    }

    const other = await freePort()
    const foreign = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(other), '--chain-id', '1337', '--silent'], { stdio: 'ignore' })
    try {
      await waitFor(async () => await probeChainId(`http://127.0.0.1:${other}`, 300) === 1337, { timeoutMs: 20_000, what: 'a foreign chain' })
      await expect(ensureAnvil({ port: other, startTimeoutMs: 20_000, logger: silentLogger, runDir, dataDir: await tempDir() }))
        .rejects.toMatchObject({ code: 'ERR_CHAIN_MISMATCH', message: expect.stringContaining('serves chain 1337, not the local chain 31337') })
    } finally {
      foreign.kill('SIGKILL')
    }
  })

  it('a node whose local chain cannot start retries, and its ledger comes up once the port is free', async () => {
    const port = await freePort()
    // something that is not an Ethereum node holds the chain's port at start
    const squatter = createServer((_req, res) => { res.end('not a chain') })
    await new Promise<void>(resolve => squatter.listen(port, '127.0.0.1', resolve))
    const events = new EventBus<LedgerEvents>()
    const l = ledger({ ...defaultLedgerOptions, anvil: { port, startTimeoutMs: 20_000 }, dataDir: await tempDir(), runDir: await tempDir(), network: 'local', chainId: 31337, rpcUrls: [], contracts: {} })(
      { logger: silentLogger, events, passphrase: async () => 'a passphrase for the test wallet' })
    try {
      await l.start()
      expect(await l.whenStarted()).toBe('failed')
      await expect(l.wallet()).rejects.toMatchObject({ code: 'ERR_ANVIL', message: expect.stringContaining('the port is taken') })
      await new Promise<void>(resolve => squatter.close(() => { resolve() }))
      // the next try (5 s later) starts anvil on the freed port, deploys and funds the wallet
      await waitFor(() => l.state === 'ready' || undefined, { timeoutMs: 60_000, intervalMs: 200, what: 'the ledger to come up on retry' })
      expect((await l.wallet()).ftns).toBe('1000')
    } finally {
      squatter.close()
      await l.stop()
    }
    await waitFor(async () => await probeChainId(`http://127.0.0.1:${port}`, 300) === undefined, { timeoutMs: 10_000, what: 'the node\'s anvil to stop with it' })
  })

  it('a ready ledger at idle asks its chain for the head only, every few seconds', async () => {
    const port = await freePort()
    const dataDir = await tempDir()
    const l = ledger({ ...defaultLedgerOptions, withdrawalPollMs: 100, anvil: { port, startTimeoutMs: 20_000 }, dataDir, runDir: await tempDir(), network: 'local', chainId: 31337, rpcUrls: [], contracts: {} })(
      { logger: silentLogger, events: new EventBus<LedgerEvents>(), passphrase: async () => 'a passphrase for the test wallet', store: memoryKv() })
    // anvil logs each JSON-RPC method it serves, one per line
    const methods = async (): Promise<string[]> => (await readFile(join(dataDir, 'ledger', 'anvil.log'), 'utf8')).split('\n').filter(x => /^[a-z]+_[A-Za-z]+$/.test(x.trim())).map(x => x.trim())
    try {
      await l.start()
      expect(await l.whenStarted()).toBe('ready')
      // the bring-up's own transactions (the faucet's) are a few seconds old before the client's idle pass follows them
      await new Promise(resolve => setTimeout(resolve, 6000))
      const before = (await methods()).length
      await new Promise(resolve => setTimeout(resolve, 8000))
      const idle = (await methods()).slice(before)
      // the head watch only, backed off to 4 s (before: the indexer's and the client's heads, nonces, the vault's withdrawal, ~12 a minute each)
      expect(new Set(idle)).toEqual(new Set(['eth_getBlockByNumber']))
      expect(idle.length).toBeLessThanOrEqual(4)
    } finally {
      await l.stop()
    }
  })
})
