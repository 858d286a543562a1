/**
 * The embedded chain of network `local`: an anvil on 127.0.0.1:<port>, shared by every node on this machine.
 *
 * A node reuses an anvil that answers there with the expected chain id, else starts one (detached, so it outlives a
 * node that others still use) with its state in the starting node's data dir. Each node holds a lease while it runs;
 * the node that releases the last lease stops an anvil that a meshnode started (never one started by someone else).
 * A lock directory serialises start, reuse and stop across processes, so two nodes starting at once spawn one anvil.
 */
import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Logger } from '../../common/logger.js'
import { LedgerError } from '../errors.js'

/** anvil's well-known dev mnemonic (its accounts are funded); the local deployer and faucet key is derived elsewhere. */
export const ANVIL_DEV_MNEMONIC = 'test test test test test test test test test test test junk'
/** The chain id of network `local`. */
export const LOCAL_CHAIN_ID = 31337
/** A lock older than this is left over from a crashed process. */
const STALE_LOCK_MS = 60_000

/** What `ensureAnvil` needs. */
export interface EnsureAnvilInit {
  /** The node's data dir: a started anvil keeps its state in `<dataDir>/ledger/anvil-state.json`. */
  dataDir: string
  port: number
  chainId?: number
  startTimeoutMs: number
  logger: Logger
  /** Where leases and the lock live (default: the OS temp dir); tests give their own. */
  runDir?: string
}

/** A running local chain and this node's lease on it. */
export interface LocalChain {
  url: string
  chainId: number
  /** Whether this call started the anvil (false: reused one). */
  started: boolean
  /** Drop this node's lease; the last lease stops an anvil a meshnode started. Idempotent. */
  release: () => Promise<void>
}

/** The anvil binary of the installed `@foundry-rs/anvil` package (else `anvil` on the PATH). */
export function anvilBinary (): string {
  const require = createRequire(import.meta.url)
  try {
    return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
  } catch {
    return 'anvil'
  }
}

/**
 * The chain id of the Ethereum node answering at `url`, or undefined when nothing listens there. Something that
 * listens but is not an Ethereum node is an error (the port is taken).
 */
export async function probeChainId (url: string, timeoutMs = 2000): Promise<number | undefined> {
  const found = await probeOnce(url, timeoutMs)
  return found === 'timeout' ? undefined : found
}

/**
 * Before starting an anvil: a port that takes the connection but does not answer in time is busy (a loaded machine,
 * another node's anvil still starting), not free: ask again with more time, and fail transiently rather than spawn a
 * second anvil that cannot bind.
 */
async function probeBeforeStart (url: string): Promise<number | undefined> {
  for (let i = 1; i <= 3; i++) {
    const found = await probeOnce(url, 2000 * i)
    if (found !== 'timeout') return found
  }
  throw new LedgerError('ERR_ANVIL', `${url} takes connections but did not answer eth_chainId in time: busy, or held by another program`)
}

async function probeOnce (url: string, timeoutMs: number): Promise<number | undefined | 'timeout'> {
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs)
    })
  } catch (err) {
    // refused or reset: nothing listens; the abort of our own timeout: something listens and is slow
    return (err as Error).name === 'TimeoutError' ? 'timeout' : undefined
  }
  const body = await res.json().catch(() => undefined) as { result?: string } | undefined
  if (typeof body?.result !== 'string') throw new LedgerError('ERR_ANVIL', `${url} answers, but not as an Ethereum node: the port is taken`)
  return Number(BigInt(body.result))
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A cross-process lock: an exclusive mkdir, taken over when stale. */
async function withLock<T> (dir: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'lock')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      // the run dir again each time: a test may remove it between runs
      await mkdir(dir, { recursive: true })
      await mkdir(lock)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const st = await stat(lock).catch(() => undefined)
      if (st !== undefined && Date.now() - st.mtimeMs > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new LedgerError('ERR_ANVIL', `timed out waiting for the local chain lock ${lock}`)
      await sleep(50)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}

/** Leases of nodes still alive (files `<pid>-<random>`; those of dead processes are removed). */
async function liveLeases (leases: string): Promise<string[]> {
  const names = await readdir(leases).catch(() => [])
  const live: string[] = []
  for (const n of names) {
    const pid = Number(n.split('-')[0])
    if (Number.isSafeInteger(pid) && alive(pid)) live.push(n)
    else await rm(join(leases, n), { force: true })
  }
  return live
}

interface OwnerFile { pid: number, stateFile: string }

/** Whether `pid` is (still) an anvil: guards against killing a reused pid. */
async function isAnvil (pid: number): Promise<boolean> {
  if (!alive(pid)) return false
  const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  return cmd === undefined || cmd.includes('anvil')
}

async function waitReady (url: string, chainId: number, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !exited()) {
    if (await probeChainId(url, 500).catch(() => undefined) === chainId) return true
    await sleep(50)
  }
  return false
}

/** Spawn a detached anvil; resolves with its pid once it answers, or undefined if it exited or never answered. */
async function spawnAnvil (init: EnsureAnvilInit, url: string, chainId: number, stateFile: string): Promise<number | undefined> {
  await mkdir(dirname(stateFile), { recursive: true })
  const log = openSync(join(dirname(stateFile), 'anvil.log'), 'a')
  const child = spawn(anvilBinary(), [
    '--host', '127.0.0.1', '--port', String(init.port), '--chain-id', String(chainId),
    '--mnemonic', ANVIL_DEV_MNEMONIC, '--accounts', '10', '--balance', '10000',
    '--state', stateFile, '--state-interval', '5'
  ], { detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  let exited = false
  child.once('exit', () => { exited = true })
  child.once('error', () => { exited = true })
  child.unref()
  const ok = await waitReady(url, chainId, init.startTimeoutMs, () => exited)
  if (!ok && !exited) child.kill('SIGKILL')
  return ok ? child.pid : undefined
}

function runDirOf (port: number, runDir?: string): string {
  return join(runDir ?? tmpdir(), `meshnode-anvil-${port}`)
}

/**
 * Run `fn` while holding the local chain's cross-process lock: deploying and the faucet (both send from the shared
 * deployer key) run under it, so concurrent nodes never race for the deployer's nonces.
 */
export async function withLocalChainLock<T> (port: number, fn: () => Promise<T>, opts: { runDir?: string, timeoutMs?: number } = {}): Promise<T> {
  const run = runDirOf(port, opts.runDir)
  await mkdir(run, { recursive: true })
  return await withLock(run, opts.timeoutMs ?? 60_000, fn)
}

/**
 * Reuse or start the local anvil and take a lease on it. Throws ERR_CHAIN_MISMATCH when the port serves another chain,
 * ERR_ANVIL when anvil cannot be started.
 */
export async function ensureAnvil (init: EnsureAnvilInit): Promise<LocalChain> {
  const chainId = init.chainId ?? LOCAL_CHAIN_ID
  const url = `http://127.0.0.1:${init.port}`
  const run = runDirOf(init.port, init.runDir)
  const leases = join(run, 'leases')
  const ownerFile = join(run, 'owner.json')
  await mkdir(leases, { recursive: true })
  const lease = join(leases, `${process.pid}-${randomBytes(4).toString('hex')}`)
  const log = init.logger

  const started = await withLock(run, init.startTimeoutMs + 10_000, async () => {
    const found = await probeBeforeStart(url)
    if (found !== undefined && found !== chainId) {
      throw new LedgerError('ERR_CHAIN_MISMATCH', `${url} serves chain ${found}, not the local chain ${chainId}: stop it or set ledger.anvil.port`)
    }
    let didStart = false
    if (found === undefined) {
      const stateFile = join(init.dataDir, 'ledger', 'anvil-state.json')
      let pid = await spawnAnvil(init, url, chainId, stateFile)
      if (pid === undefined && existsSync(stateFile)) {
        // a damaged state file keeps anvil from starting: keep it aside and start a fresh chain
        const aside = `${stateFile}.${Date.now()}.bad`
        log.warn({ stateFile, aside }, 'anvil did not start with its saved state; starting a fresh local chain')
        await rename(stateFile, aside)
        pid = await spawnAnvil(init, url, chainId, stateFile)
      }
      if (pid === undefined) {
        const tail = await readFile(join(dirname(stateFile), 'anvil.log'), 'utf8').catch(() => '')
        throw new LedgerError('ERR_ANVIL', `anvil did not start on ${url}: ${tail.trim().split('\n').slice(-3).join(' | ') || 'no output'}`)
      }
      await writeFile(ownerFile, JSON.stringify({ pid, stateFile } satisfies OwnerFile))
      didStart = true
      log.info({ url, pid, stateFile }, 'started the local chain (anvil)')
    } else {
      log.info({ url }, 'reusing the local chain already running')
    }
    await mkdir(leases, { recursive: true })
    await writeFile(lease, '')
    return didStart
  })

  let released = false
  return {
    url,
    chainId,
    started,
    release: async () => {
      if (released) return
      released = true
      await withLock(run, 15_000, async () => {
        await rm(lease, { force: true })
        if ((await liveLeases(leases)).length > 0) return
        const owner = await readFile(ownerFile, 'utf8').then(s => JSON.parse(s) as OwnerFile, () => undefined)
        if (owner === undefined) return // not started by a meshnode: not ours to stop
        await rm(ownerFile, { force: true })
        if (!await isAnvil(owner.pid)) return
        // SIGTERM: anvil writes its state file on the way out
        process.kill(owner.pid, 'SIGTERM')
        const deadline = Date.now() + 5000
        while (Date.now() < deadline && await probeChainId(url, 300).catch(() => undefined) !== undefined) await sleep(50)
        log.info({ url, pid: owner.pid }, 'stopped the local chain (last node using it)')
      })
    }
  }
}
