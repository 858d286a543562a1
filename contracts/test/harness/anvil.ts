/**
 * A throwaway anvil for contract tests: started on a free 127.0.0.1 port (anvil picks it, so parallel runs cannot
 * collide), with ethers wallets for its dev accounts, time control, snapshots, and a fast transaction path
 * (`eth_sendTransactionSync`: one round trip per mined transaction) for property tests that send thousands.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Wallet } from 'ethers'
import type { ContractTransaction, JsonRpcApiProviderOptions } from 'ethers'
import type { LogLike } from '../../../src/ledger/contracts/index.js'
import { CoverageCollector, coverageDir } from './coverage.js'

/** anvil's default dev mnemonic: its accounts are funded and unlocked. */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

/** A mined transaction as `eth_sendTransactionSync` returns it (the fields the tests read). */
export interface MinedReceipt {
  hash: string
  status: number
  gasUsed: bigint
  blockNumber: number
  logs: LogLike[]
}

/** An error the node answered a request with (not a revert: a bad request, a timeout, a node problem). */
export class RpcError extends Error {
  constructor (message: string, readonly data: string | undefined) {
    super(message)
    this.name = 'RpcError'
  }
}

/** An error from a transaction that reverted (or failed gas estimation), with its revert data when there is some. */
export class TxError extends Error {
  constructor (message: string, readonly data: string | undefined) {
    super(message)
    this.name = 'TxError'
  }
}

/** A running anvil and what tests need to drive it. */
export interface Anvil {
  url: string
  chainId: bigint
  provider: JsonRpcProvider
  /** Wallets of the dev accounts (index 0 usually deploys), connected to `provider`. */
  wallets: Wallet[]
  rpc: <T = unknown>(method: string, params?: unknown[]) => Promise<T>
  /** Several requests in one JSON-RPC batch (one round trip); throws if any of them fails. */
  batch: (calls: Array<{ method: string, params: unknown[] }>) => Promise<unknown[]>
  /**
   * Sends `tx` from an unlocked dev account and returns its receipt; throws `TxError` (with the revert data, unless a
   * fixed `gas` was given: then it skips both the estimate and the replay) if it reverted.
   */
  exec: (from: string, tx: ContractTransaction | Promise<ContractTransaction>, opts?: { gas?: bigint }) => Promise<MinedReceipt>
  /** The latest block's timestamp. */
  now: () => Promise<bigint>
  /** Moves the clock forward by `seconds` and mines a block. */
  warp: (seconds: bigint | number) => Promise<void>
  snapshot: () => Promise<string>
  revert: (id: string) => Promise<void>
  stop: () => Promise<void>
}

/** Options of `startAnvil`. */
export interface AnvilOptions {
  chainId?: number
  accounts?: number
}

/** A provider that also traces each call and gas estimate it sends (coverage runs only). */
class TracingProvider extends JsonRpcProvider {
  constructor (url: string, chainId: number, options: JsonRpcApiProviderOptions, private readonly coverage: CoverageCollector) {
    super(url, chainId, options)
  }

  override async send (method: string, params: unknown[] | Record<string, unknown>): Promise<unknown> {
    if ((method !== 'eth_call' && method !== 'eth_estimateGas') || !Array.isArray(params)) return await super.send(method, params)
    try {
      return await super.send(method, params)
    } finally {
      await this.coverage.traceCall(params[0] as { to?: string | null }, params[1])
    }
  }
}

function anvilBinary (): string {
  const require = createRequire(import.meta.url)
  try {
    return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
  } catch {
    return 'anvil'
  }
}

interface RpcResponse<T> { result?: T, error?: { code: number, message: string, data?: unknown } }

/** Starts anvil and waits until it answers; `stop()` it in `afterAll`. */
export async function startAnvil (opts: AnvilOptions = {}): Promise<Anvil> {
  const chainId = opts.chainId ?? 31337
  const accounts = opts.accounts ?? 10
  const child = spawn(anvilBinary(), [
    '--host', '127.0.0.1', '--port', '0', '--chain-id', String(chainId), '--accounts', String(accounts),
    '--mnemonic', DEV_MNEMONIC, '--balance', '1000000', ...(coverageDir() !== undefined ? ['--steps-tracing'] : [])
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { reject(new Error(`anvil did not start: ${out.slice(-500)}`)) }, 20_000)
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        child.stdout.off('data', onData)
        child.stdout.resume() // keep draining its per-request log
        resolve(`http://${m[1]}`)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (c: Buffer) => { out += c.toString() })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`anvil exited (${String(code)}): ${out.slice(-500)}`)) })
  })
  child.stderr.resume()

  let id = 0
  const rpc = async <T = unknown>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params })
    })
    const body = await res.json() as RpcResponse<T>
    if (body.error !== undefined) {
      const data = typeof body.error.data === 'string' ? body.error.data : undefined
      // a call or gas estimate that reverts answers with its revert data: that is a revert, not a node problem
      if (data !== undefined || /revert/i.test(body.error.message)) throw new TxError(`${method}: ${body.error.message}`, data)
      throw new RpcError(`${method}: ${body.error.message}`, data)
    }
    return body.result as T
  }

  const batch = async (calls: Array<{ method: string, params: unknown[] }>): Promise<unknown[]> => {
    if (calls.length === 0) return []
    const first = id + 1
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(calls.map(c => ({ jsonrpc: '2.0', id: ++id, method: c.method, params: c.params })))
    })
    const body = await res.json() as Array<RpcResponse<unknown> & { id: number }>
    const out: unknown[] = new Array(calls.length)
    for (const r of body) {
      if (r.error !== undefined) throw new TxError(`batch: ${r.error.message}`, typeof r.error.data === 'string' ? r.error.data : undefined)
      out[r.id - first] = r.result
    }
    return out
  }

  const dir = coverageDir()
  const coverage = dir !== undefined ? new CoverageCollector(rpc, dir) : undefined
  const snapshotBlocks = new Map<string, number>()

  // cacheTimeout -1: an automining chain changes every call; batchMaxCount 1: no 10 ms batching stall per call
  const options = { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 }
  const provider = coverage === undefined ? new JsonRpcProvider(url, chainId, options) : new TracingProvider(url, chainId, options, coverage)
  const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), "m/44'/60'/0'/0")
  const wallets = Array.from({ length: accounts }, (_, i) => new Wallet(root.deriveChild(i).privateKey, provider))

  const exec = async (from: string, txp: ContractTransaction | Promise<ContractTransaction>, opts: { gas?: bigint } = {}): Promise<MinedReceipt> => {
    const tx = await txp
    const hex = (x: bigint | undefined): string | undefined => x === undefined ? undefined : '0x' + x.toString(16)
    const r = await rpc<{ transactionHash: string, status: string, gasUsed: string, blockNumber: string, logs: Array<{ address: string, topics: string[], data: string }> }>(
      'eth_sendTransactionSync', [{ from, to: tx.to, data: tx.data, value: hex(tx.value), gas: hex(opts.gas) }])
    if (r.status !== '0x1' && opts.gas !== undefined) throw new TxError(`transaction ${r.transactionHash} reverted`, undefined)
    if (r.status !== '0x1') {
      // anvil mines a reverting transaction: replay it on the state before its block for the revert data
      const call = { from, to: tx.to, data: tx.data }
      const before = '0x' + (BigInt(r.blockNumber) - 1n).toString(16)
      const data = await rpc('eth_call', [call, before]).then(() => undefined, (err: unknown) => err instanceof TxError ? err.data : undefined)
      throw new TxError(`transaction ${r.transactionHash} reverted`, data)
    }
    return {
      hash: r.transactionHash,
      status: Number(r.status),
      gasUsed: BigInt(r.gasUsed),
      blockNumber: Number(r.blockNumber),
      logs: r.logs.map(l => ({ address: l.address, topics: l.topics, data: l.data }))
    }
  }

  const now = async (): Promise<bigint> => {
    const b = await rpc<{ timestamp: string }>('eth_getBlockByNumber', ['latest', false])
    return BigInt(b.timestamp)
  }

  return {
    url,
    chainId: BigInt(chainId),
    provider,
    wallets,
    rpc,
    batch,
    exec,
    now,
    warp: async seconds => {
      await rpc('evm_increaseTime', [Number(seconds)])
      await rpc('evm_mine')
    },
    snapshot: async () => {
      const id = await rpc<string>('evm_snapshot')
      if (coverage !== undefined) snapshotBlocks.set(id, Number(await rpc<string>('eth_blockNumber')))
      return id
    },
    revert: async snap => {
      await coverage?.beforeRevert(snapshotBlocks.get(snap) ?? 0)
      const ok = await rpc<boolean>('evm_revert', [snap])
      if (!ok) throw new Error(`evm_revert ${snap} failed`)
    },
    stop: async () => {
      if (coverage !== undefined && child.exitCode === null) await coverage.finish()
      provider.destroy()
      if (child.exitCode !== null) return
      await new Promise<void>(resolve => {
        child.once('exit', () => { resolve() })
        child.kill('SIGTERM')
      })
    }
  }
}
