/**
 * The ledger on the embedded local chain, end to end with real processes and a real anvil: `npm start` on a fresh
 * data dir brings up anvil, deploys the contracts and funds the wallet, and `meshnode wallet balance` shows it; a
 * second node shares that anvil and finds the same contracts; bad input is refused with a clear 4xx and changes
 * nothing; a deposit and a withdrawal move exact wei; the anvil outlives its starter while another node uses it and
 * stops with the last one. An operator's `contracts deploy --network amoy` runs against an anvil standing in for Amoy.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HDNodeWallet, JsonRpcProvider, MaxUint256, Mnemonic, Wallet } from 'ethers'
import { CLI, REPO_ROOT, waitFor, freePort } from '../../harness/index.js'
import { npmStart as startNpm } from '../../harness/npm-start.js'
import { ApiClient, ClientError } from '../../../src/node/cli/client.js'
import { attachCreditVault, attachFTNSToken, localContractAddresses, parseFtns, probeChainId, type WalletView, type LedgerInfoView } from '../../../src/ledger/index.js'
import { startAnvil } from '../../../contracts/test/harness/anvil.js'
import { LOCAL_DEPLOYER_KEY } from '../../../src/ledger/local/deploy.js'
import { ANVIL_DEV_MNEMONIC } from '../../../src/ledger/local/anvil.js'

const exec = promisify(execFile)
const dirs: string[] = []
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'meshnode-ledger-'))
  dirs.push(d)
  return d
}

async function cli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const r = await exec(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

interface Daemon { dir: string, api: ApiClient, stop: () => Promise<void>, output: () => string }

/** `npm start` (what a user runs) on a fresh data dir, with loopback-only test addresses and this test's anvil port. */
async function npmStart (anvilPort: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const dir = await tempDir()
  const npm = startNpm({
    MESHNODE_DATA_DIR: dir,
    MESHNODE_API_PORT: '0',
    MESHNODE_LISTEN: '/ip4/127.0.0.1/tcp/0',
    MESHNODE_MDNS: 'false',
    MESHNODE_LOG_FORMAT: 'json',
    MESHNODE_ANVIL_PORT: String(anvilPort),
    ...extraEnv
  })
  const { stop, output } = npm
  await npm.waitForApi()
  const api = await ApiClient.fromDataDir(dir)
  // the ledger comes up in the background (anvil, deploy, faucet): the wallet answers 409 ERR_LEDGER_NOT_READY until then
  await waitFor(async () => await api.request('GET', '/v1/wallet').then(() => true, (err: ClientError) => {
    if (err.code !== 'ERR_LEDGER_NOT_READY') throw err
    return false
  }), { timeoutMs: 60_000, what: 'the ledger to be ready' }).catch(async (err: unknown) => { await stop(); throw new Error(`${(err as Error).message}\n${output().slice(-1500)}`) })
  return { dir, api, stop: async () => { await stop() }, output }
}

/** The error a request got (status and code), or fails the test when it succeeded. */
async function refusal (p: Promise<unknown>): Promise<{ status?: number, code: string, message: string }> {
  try {
    await p
  } catch (err) {
    if (err instanceof ClientError) return { status: err.status, code: err.code, message: err.message }
    throw err
  }
  throw new Error('expected the request to be refused')
}

describe('ledger on the embedded local chain', () => {
  let port: number
  let a: Daemon
  let b: Daemon
  let anvilUrl: string

  beforeAll(async () => {
    port = await freePort()
    anvilUrl = `http://127.0.0.1:${port}`
    // at once, as two nodes on one machine would: one starts the anvil and deploys, the other waits and reuses them
    ;[a, b] = await Promise.all([npmStart(port), npmStart(port)])
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
    await rm(join(tmpdir(), `meshnode-anvil-${port}`), { recursive: true, force: true })
  })

  it('npm start on a fresh data dir brings up anvil, deploys and funds the wallet; `meshnode wallet balance` shows it', async () => {
    expect(await probeChainId(anvilUrl)).toBe(31337)
    expect(existsSync(join(a.dir, 'wallet.json'))).toBe(true)
    const human = await cli(['wallet', 'balance', '--data-dir', a.dir])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/wallet\s+1000 FTNS/)
    expect(human.stdout).toMatch(/vault free\s+0 FTNS/)
    const w = JSON.parse((await cli(['wallet', 'balance', '--json', '--data-dir', a.dir])).stdout) as WalletView
    expect(w).toMatchObject({ chainId: 31337, ftns: '1000', vault: { free: '0', locked: '0', pending: '0', readyAt: null }, locks: [] })
    const address = (await cli(['wallet', 'address', '--data-dir', a.dir])).stdout.trim()
    expect(address).toBe(w.address)
    // the chain agrees, to the wei
    const provider = new JsonRpcProvider(anvilUrl, 31337, { staticNetwork: true, cacheTimeout: -1 })
    try {
      expect(await attachFTNSToken(localContractAddresses().FTNSToken, provider).balanceOf(w.address)).toBe(parseFtns('1000'))
    } finally {
      provider.destroy()
    }
  })

  it('a second node shares the anvil and finds the same contracts, at the deterministic local addresses', async () => {
    const [la, lb] = await Promise.all([a.api.request<LedgerInfoView>('GET', '/v1/ledger'), b.api.request<LedgerInfoView>('GET', '/v1/ledger')])
    expect(la).toMatchObject({ network: 'local', chainId: 31337, rpc: 'embedded anvil' })
    expect(lb.contracts).toEqual(la.contracts)
    expect(la.contracts).toEqual(localContractAddresses())
    expect(lb.blockNumber).toBeGreaterThan(0)
    const [wa, wb] = await Promise.all([a.api.request<WalletView>('GET', '/v1/wallet'), b.api.request<WalletView>('GET', '/v1/wallet')])
    expect(wb.address).not.toBe(wa.address)
    expect(wb.ftns).toBe('1000')
  })

  it('bad input gets a 4xx with a clear message and changes nothing', async () => {
    const before = await b.api.request<WalletView>('GET', '/v1/wallet')
    const cases: Array<[string, unknown, number, string, string]> = [
      ['/v1/wallet/deposit', { amount: '1000.000000000000000001' }, 409, 'ERR_INSUFFICIENT_FUNDS', 'cannot deposit 1000.000000000000000001 FTNS: the wallet holds 1000 FTNS'],
      ['/v1/wallet/withdraw', { amount: '1' }, 409, 'ERR_INSUFFICIENT_FUNDS', 'cannot withdraw 1 FTNS: the vault\'s free balance is 0 FTNS'],
      ['/v1/wallet/deposit', { amount: '-5' }, 400, 'ERR_AMOUNT', 'amount must not be negative'],
      ['/v1/wallet/deposit', { amount: '1.0000000000000000001' }, 400, 'ERR_AMOUNT', 'too many decimals'],
      ['/v1/wallet/deposit', { amount: 'ten' }, 400, 'ERR_AMOUNT', 'amount is not a number'],
      ['/v1/wallet/withdraw', { amount: '1e3' }, 400, 'ERR_AMOUNT', 'amount is not a number'],
      ['/v1/wallet/deposit', { amount: '0' }, 400, 'ERR_AMOUNT', 'amount must be greater than zero'],
      ['/v1/wallet/deposit', { amount: 12.5 }, 400, 'ERR_VALIDATION', 'amount'],
      ['/v1/wallet/send', { to: '0x1234', amount: '1' }, 400, 'ERR_ADDRESS', 'to must be a 0x-prefixed address'],
      ['/v1/wallet/send', { to: before.address, amount: '5000' }, 409, 'ERR_INSUFFICIENT_FUNDS', 'cannot send 5000 FTNS']
    ]
    for (const [path, body, status, code, message] of cases) {
      const r = await refusal(b.api.request('POST', path, { json: body }))
      expect(r, `${path} ${JSON.stringify(body)}`).toMatchObject({ status, code })
      expect(r.message).toContain(message)
    }
    // the CLI says the same, in one line
    const bad = await cli(['wallet', 'deposit', '-0.5', '--data-dir', b.dir])
    expect(bad.code).not.toBe(0)
    expect(await b.api.request<WalletView>('GET', '/v1/wallet')).toEqual(before)
    const settled = await b.api.request<{ settlements: unknown[] }>('GET', '/v1/ledger/settlements')
    expect(settled.settlements).toEqual([])
  })

  it('a deposit then a withdrawal move exact wei; the withdrawal completes by itself after the delay', async () => {
    const dep = JSON.parse((await cli(['wallet', 'deposit', '12.5', '--json', '--data-dir', b.dir])).stdout)
    expect(dep).toMatchObject({ op: 'deposit', amount: '12.5', wallet: { ftns: '987.5', vault: { free: '12.5' } } })
    const wd = await b.api.request<{ readyAt: string, wallet: WalletView }>('POST', '/v1/wallet/withdraw', { json: { amount: '2.000000000000000001' } })
    expect(wd.wallet.vault).toMatchObject({ free: '10.499999999999999999', pending: '2.000000000000000001' })
    expect(Date.parse(wd.readyAt)).toBeGreaterThan(Date.now())
    // the vault's delay (60 s on local) passes on the chain's clock
    const provider = new JsonRpcProvider(anvilUrl, 31337, { staticNetwork: true, cacheTimeout: -1 })
    try {
      await provider.send('evm_increaseTime', [61])
      await provider.send('evm_mine', [])
      const done = await waitFor(async () => {
        const w = await b.api.request<WalletView>('GET', '/v1/wallet')
        return w.vault.pending === '0' ? w : undefined
      }, { timeoutMs: 20_000, what: 'the node to complete its withdrawal' })
      expect(done).toMatchObject({ ftns: '989.500000000000000001', vault: { free: '10.499999999999999999', pending: '0', readyAt: null } })
      const { FTNSToken, CreditVault } = localContractAddresses()
      expect(await attachFTNSToken(FTNSToken, provider).balanceOf(done.address)).toBe(parseFtns('989.500000000000000001'))
      expect(await attachCreditVault(CreditVault, provider).freeBalanceOf(done.address)).toBe(parseFtns('10.499999999999999999'))
    } finally {
      provider.destroy()
    }
    // each transaction was a settlement intent of the chain client, done once its block counted
    const settlements = await waitFor(async () => {
      const r = await b.api.request<{ settlements: Array<{ kind: string, state: string, tx: string | null }> }>('GET', '/v1/ledger/settlements')
      return r.settlements.length === 4 && r.settlements.every(s => s.state === 'done') ? r.settlements : undefined
    }, { timeoutMs: 10_000, what: 'four settlements done' })
    expect(settlements.map(s => s.kind).sort()).toEqual(['approve', 'deposit', 'withdraw-complete', 'withdraw-request'])
    expect(settlements.every(s => s.tx?.startsWith('0x'))).toBe(true)
  })

  it('a lock that pays this wallet shows in `meshnode wallet locks`, read through the indexer', async () => {
    const provider = new JsonRpcProvider(anvilUrl, 31337, { staticNetwork: true, cacheTimeout: -1 })
    try {
      const { FTNSToken, CreditVault } = localContractAddresses()
      // a payer from anvil's funded dev accounts, given FTNS by the local deployer (the faucet's minter)
      const payer = new Wallet(HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_DEV_MNEMONIC), "m/44'/60'/0'/0/1").privateKey, provider)
      await (await attachFTNSToken(FTNSToken, new Wallet(LOCAL_DEPLOYER_KEY, provider)).mint(payer.address, parseFtns('5'))).wait()
      await (await attachFTNSToken(FTNSToken, payer).approve(CreditVault, MaxUint256)).wait()
      const vault = attachCreditVault(CreditVault, payer)
      await (await vault.deposit(parseFtns('5'))).wait()
      const head = await provider.getBlock('latest')
      const me = (await b.api.request<WalletView>('GET', '/v1/wallet')).address
      await (await vault.lock(me, parseFtns('3.25'), BigInt(head?.timestamp ?? 0) + 3600n, 7n)).wait()
      const r = await cli(['wallet', 'locks', '--json', '--data-dir', b.dir])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ role: 'provider', payer: payer.address, provider: me, amount: '3.25', redeemed: '0', closed: false })])
      expect((await cli(['wallet', 'locks', '--data-dir', b.dir])).stdout).toMatch(/^LOCK\s+ROLE\s+PAYER[\s\S]+provider/m)
      // locked counts what this wallet pays, not what it is paid
      expect((await b.api.request<WalletView>('GET', '/v1/wallet')).vault.locked).toBe('0')
    } finally {
      provider.destroy()
    }
  })

  it('the anvil outlives a node that used it while another still does, and stops with the last one', async () => {
    await a.stop()
    expect(await probeChainId(anvilUrl)).toBe(31337)
    expect((await b.api.request<WalletView>('GET', '/v1/wallet')).ftns).toBe('989.500000000000000001')
    await b.stop()
    await waitFor(async () => await probeChainId(anvilUrl, 300) === undefined, { timeoutMs: 10_000, what: 'the last node to stop anvil' })
    // its state stayed in the starter's data dir
    expect([a.dir, b.dir].filter(d => existsSync(join(d, 'ledger', 'anvil-state.json')))).toHaveLength(1)
  })

  it('`meshnode wallet` commands load only the API client and their formatting', async () => {
    const heavy = /^node_modules\/(@sinclair\/typebox|libp2p|@libp2p|helia|@helia|@tensorflow|fastify|pino|level|ethers)\/|\/src\/(training|consensus|ledger|protocols)\/|\/src\/node\/(node|options|identity|libp2p|api\/)/
    // one run covers the group: every wallet subcommand is registered by the same module
    for (const args of [['wallet', 'balance']]) {
      const r = await exec(process.execPath, ['--import', join(REPO_ROOT, 'test/harness/trace-imports.mjs'), ...CLI, ...args, '--data-dir', a.dir], { cwd: REPO_ROOT, timeout: 60_000 }).catch((e: { stderr: string }) => e)
      const mods = [...r.stderr.matchAll(/^import-trace (\S+)$/gm)].map(m => m[1].replace(`file://${REPO_ROOT}/`, ''))
      expect(mods.length, args.join(' ')).toBeGreaterThan(5)
      expect(mods.filter(m => heavy.test(m)), args.join(' ')).toEqual([])
    }
  })

  it('`meshnode contracts deploy --network amoy` deploys with an operator key, refusing a chain that is not Amoy', async () => {
    const amoy = await startAnvil({ chainId: 80002, accounts: 1 })
    try {
      const dir = await tempDir()
      const env = { MESHNODE_RPC_URLS: amoy.url, MESHNODE_DEPLOYER_KEY: amoy.wallets[0].privateKey }
      const r = await cli(['contracts', 'deploy', '--network', 'amoy', '--json', '--data-dir', dir], env)
      expect(r.code, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout)
      expect(out).toMatchObject({ network: 'amoy', chainId: 80002, deployer: amoy.wallets[0].address })
      expect(r.stdout).not.toContain(amoy.wallets[0].privateKey.slice(2))
      const vault = attachCreditVault(out.contracts.CreditVault, amoy.provider)
      expect(await vault.token()).toBe(out.contracts.FTNSToken)
      expect(await vault.withdrawalDelay()).toBe(86400n)
      expect(await amoy.provider.getCode(out.contracts.ComputeMarket)).not.toBe('0x')
      expect(out.fromBlock).toBeGreaterThan(0)
      const wrong = await cli(['contracts', 'deploy', '--network', 'polygon', '--data-dir', dir], env)
      expect(wrong.code).toBe(2)
      expect(wrong.stderr.trim()).toBe('meshnode: the RPC serves chain 80002, not chain 137: refusing to deploy')
    } finally {
      await amoy.stop()
    }
  })
})
