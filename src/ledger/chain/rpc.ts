/**
 * An ethers JSON-RPC provider over a failover list of URLs: a request that cannot reach a node (connection refused or
 * reset, a timeout, an HTTP 5xx or 429) is retried on the next URL; the one that answered stays current. A JSON-RPC
 * error answer (a revert, a bad request) is the node's verdict and is not retried elsewhere. On automining chains the
 * provider must not cache results (`cacheTimeout: -1`), or a second transaction sees a stale nonce.
 */
import { JsonRpcProvider, Network } from 'ethers'
import type { JsonRpcPayload, JsonRpcResult } from 'ethers'
import { ChainError } from './errors.js'
import { CHAIN_DEFAULTS } from './constants.js'
import type { NetworkProfile } from './types.js'
import type { EventSink } from '../../common/events.js'
import type { ChainEvents } from './events.js'
import type { ChainMetrics } from './metrics.js'

/** How `createChainProvider` builds a provider. */
export interface ChainProviderInit {
  /** RPC URLs, tried in order; at least one. */
  urls: readonly string[]
  network: Pick<NetworkProfile, 'chainId' | 'automine'>
  /** Per-request timeout before the next URL is tried. Default `CHAIN_DEFAULTS.rpcTimeoutMs`. */
  timeoutMs?: number
  /** Called when a request moves to another URL (indexes into `urls`; the URL itself may hold an API key). */
  onFailover?: (from: number, to: number, reason: string) => void
}

/** Whether `err` means "the node could not be reached" (worth trying elsewhere or later), not a node's answer. */
export function isConnectionError (err: unknown): boolean {
  if (err instanceof ChainError) return err.code === 'ERR_RPC_UNAVAILABLE'
  if (typeof err !== 'object' || err === null) return false
  const name = String(Reflect.get(err, 'name') ?? '')
  if (name === 'TimeoutError' || name === 'AbortError') return true
  const code = String(Reflect.get(err, 'code') ?? '')
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'TIMEOUT', 'SERVER_ERROR', 'NETWORK_ERROR'].includes(code)) return true
  if (err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message)) return true
  const cause: unknown = Reflect.get(err, 'cause') ?? Reflect.get(err, 'error')
  return cause !== undefined && cause !== err && isConnectionError(cause)
}

class HttpStatusError extends Error {
  constructor (readonly status: number) { super(`HTTP ${status}`); this.name = 'HttpStatusError' }
}

/** A JsonRpcProvider that posts each request to the first of its URLs that answers. */
export class FailoverProvider extends JsonRpcProvider {
  private current = 0
  readonly urls: readonly string[]
  private readonly timeoutMs: number
  private readonly onFailover?: (from: number, to: number, reason: string) => void

  constructor (init: ChainProviderInit) {
    if (init.urls.length === 0) throw new ChainError('ERR_RPC_UNAVAILABLE', 'no RPC URL configured')
    const network = Network.from(init.network.chainId)
    super(init.urls[0], network, {
      staticNetwork: network,
      batchMaxCount: 1,
      pollingInterval: init.network.automine ? 100 : 2_000,
      ...(init.network.automine ? { cacheTimeout: -1 } : {})
    })
    this.urls = [...init.urls]
    this.timeoutMs = init.timeoutMs ?? CHAIN_DEFAULTS.rpcTimeoutMs
    if (init.onFailover !== undefined) this.onFailover = init.onFailover
  }

  /** The index of the URL requests go to now. */
  get currentUrlIndex (): number { return this.current }

  override async _send (payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const body = JSON.stringify(payload)
    let lastErr: unknown
    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const index = (this.current + attempt) % this.urls.length
      try {
        const res = await fetch(this.urls[index], {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs)
        })
        if (res.status >= 500 || res.status === 429) throw new HttpStatusError(res.status)
        const json: unknown = await res.json()
        if (index !== this.current) {
          const from = this.current
          this.current = index
          this.onFailover?.(from, index, 'unreachable')
        }
        // the node's JSON-RPC answer, by ethers' own contract for _send
        return (Array.isArray(json) ? json : [json]) as JsonRpcResult[]
      } catch (err) {
        if (!(err instanceof HttpStatusError) && !isConnectionError(err)) throw err
        lastErr = err
      }
    }
    throw new ChainError('ERR_RPC_UNAVAILABLE', `no RPC node answered (${this.urls.length} tried)`, { cause: lastErr })
  }
}

/** A failover provider for `init.urls` on `init.network`. */
export function createChainProvider (init: ChainProviderInit): FailoverProvider {
  return new FailoverProvider(init)
}

/** An `onFailover` callback that emits `ledger.rpc-failover` and counts it in the chain metrics. */
export function reportFailover (c: { events?: EventSink<ChainEvents>, metrics?: ChainMetrics }): (from: number, to: number, reason: string) => void {
  return (from, to, reason) => {
    c.metrics?.rpcFailovers.inc()
    c.events?.emit('ledger.rpc-failover', { from, to, reason })
  }
}
