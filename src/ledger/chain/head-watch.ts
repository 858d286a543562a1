/**
 * One poller of the chain's head for the whole ledger. The indexers, the chain client's idle passes and the withdrawal
 * check each polled on their own timers (about 90 RPCs a minute on an idle node); they now subscribe here and run when
 * the head changes (number or hash: a reorg at the same height counts). One RPC per poll; while the head stays the
 * same the pause doubles from `minMs` up to `maxMs` (core/idle-poll.ts), and a change or a `poke` (this node just sent
 * a transaction) brings `minMs` back.
 */
import type { JsonRpcProvider } from 'ethers'
import { silentLogger, type Logger } from '../../common/logger.js'
import { headUnchanged, idlePollDelay } from './core/idle-poll.js'
import type { BlockRef } from './types.js'

export interface HeadWatchInit {
  /** The pause after a change or a poke (ms). Default 500. */
  minMs?: number
  /** The longest pause while the head stays the same (ms). Default 4000. */
  maxMs?: number
}

export type HeadListener = (head: BlockRef) => void

export class HeadWatch {
  private readonly minMs: number
  private readonly maxMs: number
  private readonly listeners = new Set<HeadListener>()
  private head: BlockRef | undefined
  private quiet = 0
  private running = false
  private polling = false
  private timer: NodeJS.Timeout | undefined
  private readonly log: Logger

  constructor (private readonly provider: JsonRpcProvider, init: HeadWatchInit = {}, logger: Logger = silentLogger) {
    this.minMs = init.minMs ?? 500
    this.maxMs = init.maxMs ?? 4000
    this.log = logger.child({ module: 'ledger:heads' })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.schedule(0)
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
  }

  /** The last head seen (undefined before the first poll answered). */
  current (): BlockRef | undefined {
    return this.head
  }

  /** `listener` is called with each new head (never twice with the same one). Returns an unsubscribe. */
  subscribe (listener: HeadListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Poll now and briskly again: a transaction of ours is on its way into a block. */
  poke (): void {
    this.quiet = 0
    if (!this.polling) this.schedule(0)
  }

  private schedule (delay: number): void {
    clearTimeout(this.timer)
    if (!this.running) return
    this.timer = setTimeout(() => { void this.poll() }, delay)
  }

  private async poll (): Promise<void> {
    this.polling = true
    try {
      const b = await this.provider.send('eth_getBlockByNumber', ['latest', false]) as { number: string, hash: string } | null
      const head = b == null ? undefined : { number: Number(b.number), hash: b.hash }
      if (head === undefined || headUnchanged(this.head, head)) {
        this.quiet++
      } else {
        this.quiet = 0
        this.head = head
        for (const l of this.listeners) {
          try { l(head) } catch (err) { this.log.warn({ err: String(err) }, 'head listener failed') }
        }
      }
    } catch (err) {
      this.quiet++ // an RPC that is down is asked less and less often, like an unchanged head
      this.log.debug({ err: String(err) }, 'head poll failed; retrying')
    } finally {
      this.polling = false
      this.schedule(idlePollDelay(this.quiet, this.minMs, this.maxMs))
    }
  }
}
