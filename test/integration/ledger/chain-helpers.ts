/**
 * Shared setup of the chain client's integration tests: a funded client wallet on a test anvil with the contracts
 * deployed, settlement intents of every proof kind, a TCP proxy that can drop traffic, and waiting helpers.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { Level } from 'level'
import { MaxUint256, parseEther, Wallet } from 'ethers'
import { startAnvil, type Anvil } from '../../../contracts/test/harness/anvil.js'
import { deployAll, fundInVault, type Deployment } from '../../../contracts/test/harness/deploy.js'
import { freshSalt } from '../../../contracts/test/harness/tx.js'
import { lockIdOf, signVoucher } from '../../../src/ledger/contracts/index.js'
import { probeChainId } from '../../../src/ledger/local/anvil.js'
import { levelKv, type ChainClient, type ChainKv, type IntentInput, type IntentRecord } from '../../../src/ledger/chain/index.js'

/** One test file's chain: an anvil with the contracts deployed, a scratch directory, and cleanups run at the end. */
export interface ChainFixture {
  anvil: Anvil
  d: Deployment
  dir: string
  /** Run at the end of the file, last registered first. */
  cleanups: Array<() => Promise<void>>
  /** A client store in its own Level database under `dir` (closed at the end). */
  store: (name: string) => Promise<ChainKv>
}

/** Registers the file's beforeAll/afterAll; the fields are set once beforeAll ran. */
export function chainFixture (prefix: string): ChainFixture {
  const fx = { cleanups: [] } as unknown as ChainFixture
  fx.store = async name => {
    const s = await openStore(join(fx.dir, name))
    fx.cleanups.push(s.close)
    return s.kv
  }
  beforeAll(async () => {
    fx.anvil = await startAnvil()
    fx.d = await deployAll(fx.anvil)
    fx.dir = await mkdtemp(join(tmpdir(), prefix))
  })
  afterAll(async () => {
    for (const c of fx.cleanups.reverse()) await c().catch(() => {})
    await fx.anvil?.stop()
    if (fx.dir != null) await rm(fx.dir, { recursive: true, force: true })
  })
  return fx
}

/** Opens a Level database at `dir` and its `chain` sublevel as the client's store; `close()` it last. */
export async function openStore (dir: string): Promise<{ kv: ChainKv, close: () => Promise<void> }> {
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
  await db.open()
  const sub = db.sublevel<string, unknown>('chain', { valueEncoding: 'json' })
  return { kv: levelKv(sub), close: async () => { await db.close() } }
}

/** A fresh wallet with 100 ETH and `ftns` FTNS (minted), not connected. */
export async function fundedWallet (d: Deployment, ftns: bigint, key?: string): Promise<Wallet> {
  const w = key !== undefined ? new Wallet(key) : Wallet.createRandom()
  await (await d.admin.sendTransaction({ to: w.address, value: parseEther('100') })).wait()
  await (await d.token.mint(w.address, ftns)).wait()
  return new Wallet(w.privateKey)
}

/** The settlement batch the scenarios run, and the exact balances it must leave. */
export interface Batch {
  intents: IntentInput[]
  /** The client's free vault balance after every intent landed exactly once. */
  expectFree: bigint
  /** The client's token balance after. */
  expectTokens: bigint
  /** Lock ids the client opened (payer: client), with amounts. */
  locks: Array<{ lockId: string, amount: bigint }>
  /** The lock (payer Y -> client) and the cumulative amount the client redeemed on it. */
  redeemed: { lockId: string, amount: bigint }
}

/**
 * approve + deposit (nonce proofs), `nLocks` locks to provider P (vault-lock proofs), and two cumulative vouchers
 * from payer Y redeemed by the client (voucher proofs). `tag` keeps ids unique per scenario.
 */
export async function settlementBatch (d: Deployment, client: string, tag: string, nLocks = 3): Promise<Batch> {
  const vault = d.addresses.vault
  const provider = d.anvil.wallets[2].address
  const payer = d.anvil.wallets[3]
  const deposit = parseEther('500')
  const intents: IntentInput[] = [
    { id: `${tag}:approve`, kind: 'approve', to: d.addresses.token, data: d.token.interface.encodeFunctionData('approve', [vault, MaxUint256]), proof: { type: 'nonce' } },
    { id: `${tag}:deposit`, kind: 'deposit', to: vault, data: d.vault.interface.encodeFunctionData('deposit', [deposit]), proof: { type: 'nonce' } }
  ]
  const expiry = (await d.anvil.now()) + 7n * 24n * 3600n
  const locks: Batch['locks'] = []
  for (let i = 0; i < nLocks; i++) {
    const salt = freshSalt()
    const amount = parseEther(String(10 * (i + 1)))
    const lockId = lockIdOf(client, provider, salt)
    locks.push({ lockId, amount })
    intents.push({ id: `${tag}:lock:${i}`, kind: 'lock', to: vault, data: d.vault.interface.encodeFunctionData('lock', [provider, amount, expiry, salt]), proof: { type: 'vault-lock', vault, lockId } })
  }
  // payer Y opens a lock to the client and pays it by two cumulative vouchers
  await fundInVault(d, payer, parseEther('100'))
  const ySalt = freshSalt()
  await (await d.vault.connect(payer).lock(client, parseEther('100'), expiry, ySalt)).wait()
  const yLock = lockIdOf(payer.address, client, ySalt)
  for (const cumulative of [parseEther('40'), parseEther('70')]) {
    const sig = await signVoucher(payer, d.vaultDomain, { lockId: yLock, cumulativeAmount: cumulative })
    intents.push({
      id: `${tag}:redeem:${cumulative}`,
      kind: 'redeem',
      to: vault,
      data: d.vault.interface.encodeFunctionData('redeem', [payer.address, ySalt, cumulative, sig.r, sig.vs]),
      proof: { type: 'vouchers', vault, items: [{ lockId: yLock, cumulativeAmount: cumulative.toString() }] }
    })
  }
  const locked = locks.reduce((s, l) => s + l.amount, 0n)
  return { intents, expectFree: deposit - locked + parseEther('70'), expectTokens: -deposit, locks, redeemed: { lockId: yLock, amount: parseEther('70') } }
}

/** Runs passes until every intent in `ids` is `done` (and stays so for one more pass), or fails after `ms`. */
export async function waitAllDone (client: ChainClient, ids: string[], ms = 30_000): Promise<IntentRecord[]> {
  const deadline = Date.now() + ms
  let stable = 0
  for (;;) {
    await client.tick().catch(() => {})
    const recs = await Promise.all(ids.map(async id => await client.get(id)))
    const failed = recs.find(r => r?.state === 'failed')
    if (failed !== undefined) throw new Error(`intent ${failed.id} failed: ${failed.error ?? ''}`)
    if (recs.every(r => r?.state === 'done')) {
      if (++stable >= 2) return recs as IntentRecord[]
    } else stable = 0
    if (Date.now() > deadline) throw new Error(`not done in ${ms} ms: ${recs.map(r => `${r?.id ?? '?'}=${r?.state ?? '?'}`).join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Asserts the batch landed exactly once: balances exact to the wei, each lock once with its amount, the vouchers once. */
export async function checkBatch (d: Deployment, client: string, b: Batch, tokensBefore: bigint): Promise<string[]> {
  const problems: string[] = []
  const free = await d.vault.freeBalanceOf(client)
  if (free !== b.expectFree) problems.push(`free balance ${free} != ${b.expectFree}`)
  const tokens = await d.token.balanceOf(client)
  if (tokens !== tokensBefore + b.expectTokens) problems.push(`token balance ${tokens} != ${tokensBefore + b.expectTokens}`)
  for (const l of b.locks) {
    const lock = await d.vault.getLock(l.lockId)
    if (lock.amount !== l.amount) problems.push(`lock ${l.lockId} amount ${lock.amount} != ${l.amount}`)
  }
  const y = await d.vault.getLock(b.redeemed.lockId)
  if (y.redeemed !== b.redeemed.amount) problems.push(`redeemed ${y.redeemed} != ${b.redeemed.amount}`)
  // every LockOpened of the client's locks exactly once on the canonical chain
  const opened = await d.vault.queryFilter(d.vault.filters.LockOpened(undefined, client), 0, 'latest')
  const ids = opened.map(e => String(e.topics[1]))
  for (const l of b.locks) if (ids.filter(x => x === l.lockId).length !== 1) problems.push(`lock ${l.lockId} opened ${ids.filter(x => x === l.lockId).length} times`)
  return problems
}

/** A TCP proxy in front of `target` that can drop traffic for a while (requests arrive, answers are lost). */
export interface DroppingProxy {
  url: string
  /** Drops every answer until `restore()`; connections that lost one are cut when it ends. */
  drop: () => void
  restore: () => void
  close: () => Promise<void>
}

/** Starts a dropping proxy on 127.0.0.1 in front of `targetUrl`. */
export async function startProxy (targetUrl: string): Promise<DroppingProxy> {
  const target = new URL(targetUrl)
  let dropping = false
  const sockets = new Set<Socket>()
  const tainted = new Set<Socket>()
  const server: Server = createServer(client => {
    const upstream = connect(Number(target.port), target.hostname)
    sockets.add(client); sockets.add(upstream)
    if (dropping) { tainted.add(client); tainted.add(upstream) }
    // while dropping, requests still reach anvil and only the answers are lost: the nastiest outage for
    // exactly-once (a transaction lands, the client never hears of it)
    client.on('data', chunk => { upstream.write(chunk); if (dropping) { tainted.add(client); tainted.add(upstream) } })
    upstream.on('data', chunk => { if (!dropping) client.write(chunk); else { tainted.add(client); tainted.add(upstream) } })
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    drop: () => { dropping = true },
    restore: () => {
      dropping = false
      // an HTTP connection that lost an answer is out of step: cut it, as a real outage would
      for (const s of tainted) s.destroy()
      tainted.clear()
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/**
 * After a test's nodes closed: the last node out stops the anvil they shared; if that was cut short (a slow shutdown
 * on a loaded machine), stop the anvil on `port` rather than leave it running.
 */
export async function stopLeftoverAnvil (port: number): Promise<void> {
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
