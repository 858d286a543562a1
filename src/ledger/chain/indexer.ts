/**
 * The event indexer: the watched contracts' logs, decoded, into the chain store (`idx/ev/<block>/<logIndex>`), with a
 * persisted cursor, so it resumes where it stopped. Writes are idempotent (an entry is keyed by its position and
 * carries its block hash). It keeps the hashes of the last `keepBlocks` blocks it indexed; when the chain's hash of
 * one differs (a reorg), it deletes every entry from the fork point on and indexes again from there, in one batch.
 * At idle a periodic pass costs one RPC (the head) and no store read: while the head is the block it caught up to,
 * nothing is new, and the pause between passes doubles up to `maxIdlePollMs` (core/idle-poll.ts); a new head brings
 * the full pass and `pollMs` back. `sync()` always runs the full pass. Given the ledger's `heads` (head-watch.ts), it
 * polls nothing itself: a new head starts a pass, and a timer runs only to retry a failed pass or to finish catching up.
 */
import { Interface, type InterfaceAbi, type JsonRpcProvider } from 'ethers'
import type { Service } from '../../common/service.js'
import type { EventSink } from '../../common/events.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { CHAIN_DEFAULTS } from './constants.js'
import { findForkPoint, trimBlockWindow } from './core/reorg.js'
import { headUnchanged, idlePollDelay } from './core/idle-poll.js'
import type { ChainEvents } from './events.js'
import type { ChainKv, KvOp } from './kv.js'
import type { ChainMetrics } from './metrics.js'
import type { BlockRef, IndexedEvent } from './types.js'
import type { HeadWatch } from './head-watch.js'

/** A contract whose events are indexed. */
export interface WatchedContract {
  /** Stored with each event (`CreditVault`, ...). */
  name: string
  address: string
  abi: InterfaceAbi
}

/** The indexer's options. */
export interface ChainIndexerInit {
  contracts: WatchedContract[]
  /** The first block to index on a fresh store (the contracts' deployment block). */
  fromBlock: number
  /** Block hashes kept for reorg detection (the deepest reorg handled exactly). Default 128. */
  keepBlocks?: number
  /** Blocks per `eth_getLogs`. Default 2000. */
  batchBlocks?: number
  /** Pause between syncs when caught up (ms). Default 1000. */
  pollMs?: number
  /**
   * The longest pause while the head stays unchanged (ms): the pause doubles from `pollMs` up to this. Default
   * 4 x pollMs, so a new block (every transaction on the embedded anvil) is indexed within 4 s at worst.
   */
  maxIdlePollMs?: number
}

/** What the indexer uses. */
export interface ChainIndexerComponents {
  provider: JsonRpcProvider
  store: ChainKv
  events?: EventSink<ChainEvents>
  metrics?: ChainMetrics
  logger?: Logger
  /** The ledger's one head poller: when given, passes follow its heads instead of a timer of their own. */
  heads?: HeadWatch
}

/** The last block indexed (-1 / null before the first). */
export interface IndexerCursor {
  block: number
  hash: string | null
}

/** A filter over indexed events. */
export interface IndexedEventQuery {
  contract?: string
  name?: string
  fromBlock?: number
  toBlock?: number
  limit?: number
}

/** The indexer service. */
export interface ChainIndexer extends Service {
  /** Indexes up to the head now (rolling back a reorg first); returns the cursor. */
  sync: () => Promise<IndexerCursor>
  cursor: () => Promise<IndexerCursor>
  /** Indexed events in chain order. */
  query: (q?: IndexedEventQuery) => Promise<IndexedEvent[]>
  /** Called for each event indexed (`removed: false`) or rolled back (`removed: true`). Returns an unsubscribe. */
  subscribe: (listener: (e: IndexedEvent, removed: boolean) => void) => () => void
}

/** `chainIndexer(init)(components)`: the event indexer service. */
export function chainIndexer (init: ChainIndexerInit): (components: ChainIndexerComponents) => ChainIndexer {
  return components => new Indexer(init, components)
}

const CURSOR = 'idx/cursor'
const WINDOW = 'idx/blocks'
const EV = 'idx/ev/'
const evKey = (block: number, logIndex: number): string => `${EV}${String(block).padStart(12, '0')}/${String(logIndex).padStart(6, '0')}`
const hex = (n: number): string => '0x' + n.toString(16)

interface RawLog { address: string, topics: string[], data: string, blockNumber: string, blockHash: string, logIndex: string, transactionHash: string, removed?: boolean }

function plain (v: unknown): string | boolean | string[] {
  if (typeof v === 'boolean') return v
  if (Array.isArray(v)) return v.map(x => String(x))
  return String(v)
}

class Indexer implements ChainIndexer {
  private readonly byAddress = new Map<string, { name: string, iface: Interface }>()
  private readonly keep: number
  private readonly batch: number
  private readonly pollMs: number
  private readonly maxIdlePollMs: number
  private readonly log: Logger
  private readonly listeners = new Set<(e: IndexedEvent, removed: boolean) => void>()
  private running = false
  private timer: NodeJS.Timeout | undefined
  private serial: Promise<unknown> = Promise.resolve()
  /** The block the last full pass caught up to (number and hash as indexed); cleared when a pass fails. */
  private caughtUp: BlockRef | undefined
  /** Periodic passes in a row that found the head unchanged (the backoff's exponent). */
  private quiet = 0
  private unwatch: (() => void) | undefined

  constructor (private readonly init: ChainIndexerInit, private readonly c: ChainIndexerComponents) {
    for (const w of init.contracts) this.byAddress.set(w.address.toLowerCase(), { name: w.name, iface: new Interface(w.abi) })
    this.keep = Math.max(2, init.keepBlocks ?? CHAIN_DEFAULTS.indexerKeepBlocks)
    this.batch = Math.max(1, init.batchBlocks ?? CHAIN_DEFAULTS.indexerBatchBlocks)
    this.pollMs = init.pollMs ?? CHAIN_DEFAULTS.indexerPollMs
    this.maxIdlePollMs = init.maxIdlePollMs ?? this.pollMs * 4
    this.log = (c.logger ?? silentLogger).child({ module: 'ledger:indexer' })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.unwatch = this.c.heads?.subscribe(() => { this.schedule(0) })
    this.schedule(0)
  }

  async stop (): Promise<void> {
    this.running = false
    this.unwatch?.()
    clearTimeout(this.timer)
    await this.serial.catch(() => {})
  }

  subscribe (listener: (e: IndexedEvent, removed: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  async cursor (): Promise<IndexerCursor> {
    const v = await this.c.store.get(CURSOR)
    if (typeof v === 'object' && v !== null && typeof Reflect.get(v, 'block') === 'number') {
      const hash: unknown = Reflect.get(v, 'hash')
      return { block: Number(Reflect.get(v, 'block')), hash: typeof hash === 'string' ? hash : null }
    }
    return { block: this.init.fromBlock - 1, hash: null }
  }

  async query (q: IndexedEventQuery = {}): Promise<IndexedEvent[]> {
    const lo = q.fromBlock !== undefined ? evKey(q.fromBlock, 0) : EV
    const hi = q.toBlock !== undefined ? evKey(q.toBlock + 1, 0) : EV + '\uffff'
    const out: IndexedEvent[] = []
    for (const [, v] of await this.c.store.range(lo, hi)) {
      const e = v as IndexedEvent // written by this indexer
      if ((q.contract === undefined || e.contract === q.contract) && (q.name === undefined || e.name === q.name)) out.push(e)
      if (q.limit !== undefined && out.length >= q.limit) break
    }
    return out
  }

  async sync (): Promise<IndexerCursor> {
    const run = this.serial.then(async () => await this.fullPass())
    this.serial = run.catch(() => {})
    return await run
  }

  /** A periodic pass: the head only (the watch's, or one RPC), when it is the block caught up to; else the full pass. */
  private async pass (): Promise<void> {
    const run = this.serial.then(async () => {
      const head = this.caughtUp === undefined ? undefined : this.c.heads !== undefined ? this.c.heads.current() : await this.head()
      if (headUnchanged(this.caughtUp, head)) { this.quiet++; return }
      this.quiet = 0
      await this.fullPass()
    })
    this.serial = run.catch(() => {})
    await run
  }

  private async fullPass (): Promise<IndexerCursor> {
    this.caughtUp = undefined
    const cur = await this.catchUp()
    if (cur.hash != null) this.caughtUp = { number: cur.block, hash: cur.hash }
    return cur
  }

  private schedule (delay: number): void {
    clearTimeout(this.timer) // a head may come while a retry waits: one timer, never two loops
    if (!this.running) return
    this.timer = setTimeout(() => {
      let failed = false
      this.pass().catch(err => { failed = true; this.quiet = 0; this.log.debug({ err: String(err) }, 'index sync failed; retrying') })
        .finally(() => {
          const watched = this.c.heads?.current()
          // following the watch: no timer once caught up to its head (or before it has one); the next head wakes us
          if (this.c.heads !== undefined && !failed && (watched === undefined || headUnchanged(this.caughtUp, watched))) return
          this.schedule(idlePollDelay(this.quiet, this.pollMs, this.maxIdlePollMs))
        })
    }, delay)
  }

  private async head (): Promise<BlockRef | undefined> {
    const b = await this.c.provider.send('eth_getBlockByNumber', ['latest', false]) as { number: string, hash: string } | null
    return b == null ? undefined : { number: Number(b.number), hash: b.hash }
  }

  private async window (): Promise<BlockRef[]> {
    const v = await this.c.store.get(WINDOW)
    return Array.isArray(v) ? v as BlockRef[] : []
  }

  private async hashOf (n: number): Promise<string | undefined> {
    const b = await this.c.provider.send('eth_getBlockByNumber', [hex(n), false]) as { hash: string } | null
    return b?.hash
  }

  private async catchUp (): Promise<IndexerCursor> {
    for (;;) {
      await this.rollbackReorg()
      const cur = await this.cursor()
      const latest = Number(await this.c.provider.send('eth_blockNumber', []) as string)
      if (cur.block >= latest) return cur
      await this.indexRange(cur.block + 1, Math.min(latest, cur.block + this.batch))
    }
  }

  /** Compares the kept window with the chain and rolls back from the fork point. */
  private async rollbackReorg (): Promise<void> {
    const kept = await this.window()
    if (kept.length === 0) return
    const newest = kept[kept.length - 1]
    if ((await this.hashOf(newest.number))?.toLowerCase() === newest.hash.toLowerCase()) return
    const chain = new Map<number, string>()
    for (const b of kept) {
      const h = await this.hashOf(b.number)
      if (h !== undefined) chain.set(b.number, h)
    }
    const fork = findForkPoint(kept, chain)
    if (fork.kind === 'none') return
    if (fork.kind === 'deep') this.log.warn({ from: fork.from, keep: this.keep }, 'reorg deeper than the kept window: re-indexing the whole window')
    const removed = await this.c.store.range(evKey(fork.from, 0), EV + '\uffff')
    const ops: KvOp[] = removed.map(([k]) => ({ type: 'del', key: k }))
    const window = kept.filter(b => b.number < fork.from)
    const prev = window[window.length - 1]
    ops.push({ type: 'put', key: WINDOW, value: window })
    ops.push({ type: 'put', key: CURSOR, value: { block: fork.from - 1, hash: prev?.hash ?? null } })
    await this.c.store.batch(ops)
    this.c.metrics?.reorgs.inc()
    this.c.events?.emit('ledger.reorg', { fromBlock: fork.from, depth: newest.number - fork.from + 1, removed: removed.length })
    this.log.info({ from: fork.from, removed: removed.length }, 'reorg: rolled back indexed events')
    for (const [, v] of removed) this.notify(v as IndexedEvent, true)
  }

  private async indexRange (from: number, to: number): Promise<void> {
    const logs = await this.c.provider.send('eth_getLogs', [{ fromBlock: hex(from), toBlock: hex(to), address: [...this.byAddress.keys()] }]) as RawLog[]
    // the hashes of the blocks we keep, read after the logs: a log whose block hash differs was reorged meanwhile
    const refs: BlockRef[] = []
    for (let n = Math.max(from, to - this.keep + 1); n <= to; n++) {
      const h = await this.hashOf(n)
      if (h === undefined) return // the chain got shorter under us: retry next sync
      refs.push({ number: n, hash: h })
    }
    const hashAt = new Map(refs.map(r => [r.number, r.hash.toLowerCase()]))
    const ops: KvOp[] = []
    const added: IndexedEvent[] = []
    for (const l of logs) {
      if (l.removed === true) continue
      const n = Number(l.blockNumber)
      const expected = hashAt.get(n)
      if (expected !== undefined && expected !== l.blockHash.toLowerCase()) return // reorg in flight: retry
      const w = this.byAddress.get(l.address.toLowerCase())
      const parsed = w?.iface.parseLog({ topics: l.topics, data: l.data })
      if (w === undefined || parsed == null) continue
      const args: Record<string, string | boolean | string[]> = {}
      parsed.fragment.inputs.forEach((input, i) => { args[input.name !== '' ? input.name : String(i)] = plain(parsed.args[i]) })
      const e: IndexedEvent = { blockNumber: n, blockHash: l.blockHash, logIndex: Number(l.logIndex), txHash: l.transactionHash, contract: w.name, address: l.address, name: parsed.name, args }
      ops.push({ type: 'put', key: evKey(n, e.logIndex), value: e })
      added.push(e)
    }
    const window = trimBlockWindow(await this.window(), refs, this.keep)
    const top = refs[refs.length - 1]
    ops.push({ type: 'put', key: WINDOW, value: window })
    ops.push({ type: 'put', key: CURSOR, value: { block: to, hash: top?.hash ?? null } })
    await this.c.store.batch(ops)
    this.c.metrics?.indexedBlock.set(to)
    for (const e of added) this.notify(e, false)
  }

  private notify (e: IndexedEvent, removed: boolean): void {
    for (const l of this.listeners) {
      try { l(e, removed) } catch { /* a listener's failure is its own */ }
    }
  }
}
