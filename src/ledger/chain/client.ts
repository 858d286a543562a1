/**
 * The chain client service: settlement intents sent exactly once (see core/intents.ts for why), with nonces persisted
 * beside them, fees per network, bump-and-replace after a stall, confirmation per network with a finality-lag alarm,
 * and recovery at start and after RPC errors. One pass (`tick`) at a time, timed by pass-scheduler.ts.
 */
import { Transaction } from 'ethers'
import { silentLogger, type Logger } from '../../common/logger.js'
import { systemClock, type Clock } from '../../common/clock.js'
import { ChainReader } from './chain-reader.js'
import { CHAIN_DEFAULTS } from './constants.js'
import { bumpFees, feesFromRecord, initialFees } from './core/fees.js'
import { nextIntentStep, type IntentStep } from './core/intents.js'
import { recoverNonce } from './core/nonces.js'
import { ChainError } from './errors.js'
import { IntentStore, checkIntentInput, sameIntent } from './intent-store.js'
import { NonceStore } from './nonce-store.js'
import { PassScheduler } from './pass-scheduler.js'
import { describeRevert, proofHolds, type ProofReader } from './proofs.js'
import { isConnectionError } from './rpc.js'
import type { Fees, FinalityStatus, IntentInput, IntentRecord, IntentState, IntentTx, NetworkProfile } from './types.js'

import type { ChainClient, ChainClientInit, ChainClientComponents } from './client-types.js'

export type { ChainClient, ChainClientInit, ChainClientComponents }

/** `chainClient(init)(components)`: the chain client service. */
export function chainClient (init: ChainClientInit): (components: ChainClientComponents) => ChainClient {
  return components => new Client(init, components)
}

interface Waiter { resolve: (r: IntentRecord) => void, reject: (e: Error) => void }

class Client implements ChainClient {
  readonly address: string
  readonly network: NetworkProfile
  private readonly reader: ChainReader
  private readonly intents: IntentStore
  private readonly nonces: NonceStore
  private readonly proofs: ProofReader
  private readonly log: Logger
  private readonly clock: Clock
  private readonly stallMs: number
  private readonly pollMs: number
  private readonly idlePollMs: number
  private readonly watchBlocks: number
  private readonly feeCap: bigint
  private readonly active = new Map<string, IntentRecord>()
  private readonly unsure = new Set<string>()
  private readonly waiters = new Map<string, Waiter[]>()
  private nextNonce: number | undefined
  private seq = 0
  private running = false
  private readonly passes: PassScheduler
  private serial: Promise<void> = Promise.resolve()
  private lagging = false

  constructor (init: ChainClientInit, private readonly c: ChainClientComponents) {
    this.address = c.wallet.address
    this.network = init.network
    this.reader = new ChainReader(c.provider, init.network, this.address)
    this.intents = new IntentStore(c.store)
    this.nonces = new NonceStore(c.store, this.address)
    this.proofs = c.proofReader ?? proofHolds(c.provider)
    this.log = (c.logger ?? silentLogger).child({ module: 'ledger:chain' })
    this.clock = c.clock ?? systemClock
    this.stallMs = init.stallMs ?? CHAIN_DEFAULTS.stallMs
    this.pollMs = init.pollMs ?? CHAIN_DEFAULTS.pollMs
    this.idlePollMs = init.idlePollMs ?? this.pollMs * 5
    this.watchBlocks = init.reorgWatchBlocks ?? 64
    this.feeCap = init.maxFeeCapWei ?? CHAIN_DEFAULTS.maxFeeCapWei
    const pass = async (): Promise<void> => { await this.tick().catch(err => { this.log.warn({ err: String(err) }, 'chain client pass failed') }) }
    this.passes = new PassScheduler(pass, () => this.busy(), { pollMs: this.pollMs, idlePollMs: this.idlePollMs, heartbeatMs: CHAIN_DEFAULTS.idleHeartbeatPasses * this.idlePollMs, heads: c.heads })
  }

  async start (): Promise<void> {
    if (this.running) return
    for (const r of await this.intents.all()) {
      this.active.set(r.id, r)
      // after a restart nobody knows whether the last broadcast reached a node: send it again (same bytes)
      if (r.state === 'sent') this.unsure.add(r.id)
      this.seq = Math.max(this.seq, r.seq)
    }
    this.seq = Math.max(this.seq, (await this.intents.nextSeq()) - 1)
    try {
      await this.recover()
    } catch (err) {
      if (!isConnectionError(err)) throw err
      this.log.warn({ err: String(err) }, 'chain RPC unreachable at start; recovering when it answers')
    }
    this.running = true
    this.passes.start()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.passes.stop()
    await this.serial
    for (const [id, ws] of this.waiters) for (const w of ws) w.reject(new ChainError('ERR_NOT_STARTED', `chain client stopped while waiting for intent ${id}`))
    this.waiters.clear()
  }

  async submit (input: IntentInput): Promise<IntentRecord> {
    const to = checkIntentInput(input)
    // taken before any await: concurrent submits keep their call order (nonces are reserved in seq order)
    const seq = ++this.seq
    const existing = this.active.get(input.id) ?? await this.intents.get(input.id)
    if (existing !== undefined) {
      if (!sameIntent(existing, input, to)) throw new ChainError('ERR_INTENT_CONFLICT', `intent ${input.id} exists with different content`)
      return existing
    }
    const now = this.clock.now()
    const rec: IntentRecord = {
      id: input.id, kind: input.kind, to, data: input.data, value: (input.value ?? 0n).toString(),
      gasLimit: (input.gasLimit ?? 0n).toString(), proof: input.proof, state: 'prepared', txs: [], seq, createdAt: now, updatedAt: now
    }
    await this.intents.write([this.intents.putOp(rec), this.intents.seqOp(seq)])
    this.active.set(rec.id, rec)
    this.announce(rec)
    this.passes.now()
    return rec
  }

  async settle (input: IntentInput, opts: { signal?: AbortSignal } = {}): Promise<IntentRecord> {
    const rec = await this.submit(input)
    return await this.wait(rec.id, opts)
  }

  async wait (id: string, opts: { signal?: AbortSignal } = {}): Promise<IntentRecord> {
    const rec = this.active.get(id) ?? await this.intents.get(id)
    if (rec === undefined) throw new ChainError('ERR_INTENT_NOT_FOUND', `no intent ${id}`)
    if (rec.state === 'done') return rec
    if (rec.state === 'failed') throw this.failure(rec)
    opts.signal?.throwIfAborted()
    return await new Promise<IntentRecord>((resolve, reject) => {
      const onAbort = (): void => { reject(opts.signal?.reason) }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      const list = this.waiters.get(id) ?? []
      list.push({
        resolve: r => { opts.signal?.removeEventListener('abort', onAbort); resolve(r) },
        reject: e => { opts.signal?.removeEventListener('abort', onAbort); reject(e) }
      })
      this.waiters.set(id, list)
    })
  }

  async get (id: string): Promise<IntentRecord | undefined> {
    return this.active.get(id) ?? await this.intents.get(id)
  }

  async list (opts: { states?: IntentState[] } = {}): Promise<IntentRecord[]> {
    const all = await this.intents.all()
    return opts.states === undefined ? all : all.filter(r => opts.states?.includes(r.state))
  }

  async finality (): Promise<FinalityStatus> {
    return await this.reader.finality()
  }

  async tick (): Promise<void> {
    const run = this.serial.then(async () => { await this.pass() })
    this.serial = run.catch(() => {})
    await run
  }

  /** Whether an intent is on its way (not yet done or failed): passes then come every pollMs, else every idlePollMs. */
  private busy (): boolean {
    for (const r of this.active.values()) if (r.state !== 'done' && r.state !== 'failed') return true
    return false
  }

  /** Checks the chain id and recovers the next nonce: the store's value against the chain's pending nonce. */
  private async recover (): Promise<void> {
    const chainId = await this.reader.chainId()
    if (chainId !== this.network.chainId) throw new ChainError('ERR_WRONG_CHAIN', `the RPC serves chain ${chainId}, not ${this.network.name} (${this.network.chainId})`)
    const pending = await this.reader.nonceAt('pending')
    const held = [...this.active.values()].filter(r => r.state === 'sent' || r.state === 'mined').map(r => r.nonce ?? -1)
    const rec = recoverNonce(await this.nonces.load(), pending, held)
    if (rec.reason !== undefined) this.log.info({ next: rec.next, pending, reason: rec.reason, gaps: rec.gaps.length }, 'nonce recovered')
    this.nextNonce = rec.next
    await this.intents.write([this.nonces.op(rec.next)])
    for (const nonce of rec.gaps) await this.fillGap(nonce)
  }

  /** A 0-value self-transfer at `nonce`, so that the transactions above a lost nonce can be mined. */
  private async fillGap (nonce: number): Promise<void> {
    const now = this.clock.now()
    const base: IntentRecord = {
      id: `gap:${nonce}:${now}`, kind: 'gap', to: this.address, data: '0x', value: '0', gasLimit: '21000', proof: { type: 'nonce' },
      state: 'sent', nonce, txs: [], seq: 0, createdAt: now, updatedAt: now
    }
    const tx = await this.sign(base, nonce, initialFees(this.network.fees, await this.reader.feeSuggestion()))
    const rec = { ...base, txs: [tx] }
    await this.intents.write([this.intents.putOp(rec)])
    this.active.set(rec.id, rec)
    await this.broadcast(rec, tx, 'gap')
  }

  private async pass (): Promise<void> {
    if (this.nextNonce === undefined) await this.recover()
    const fin = await this.reader.finality()
    this.alarm(fin)
    const confirmedNonce = await this.confirmedNonce(fin)
    const order = [...this.active.values()].sort((a, b) => (a.nonce ?? Infinity) - (b.nonce ?? Infinity) || a.seq - b.seq)
    try {
      for (const rec of order) {
        if (rec.state === 'failed' || (rec.state === 'done' && (rec.doneAtBlock ?? 0) + this.watchBlocks < fin.latest)) {
          this.active.delete(rec.id)
          continue
        }
        let step = await this.observe(rec, fin, confirmedNonce)
        if (step.do === 'fail' && rec.state !== 'prepared') {
          // a verdict from a snapshot the chain may have moved away from (a reorg mid-pass): confirm it on a fresh one
          const fresh = await this.reader.finality()
          const again = await this.observe(rec, fresh, await this.confirmedNonce(fresh))
          if (again.do !== 'fail') step = { do: 'wait' }
        }
        await this.apply(rec, step, fin)
      }
    } catch (err) {
      if (!isConnectionError(err)) throw err
      // an outage: whatever was broadcast may not have arrived; every open intent is checked again next pass
      for (const r of this.active.values()) if (r.state === 'sent') this.unsure.add(r.id)
      this.log.debug({ err: String(err) }, 'chain RPC unreachable; retrying next pass')
    }
  }

  /** The account's nonce at the confirmed height; 0 (conclude nothing) where the node cannot serve that state. */
  private async confirmedNonce (fin: FinalityStatus): Promise<number> {
    return await this.reader.nonceAt(fin.confirmedUpTo).catch((err: unknown) => {
      if (isConnectionError(err)) throw err
      return 0
    })
  }

  private async observe (rec: IntentRecord, fin: FinalityStatus, confirmedNonce: number): Promise<IntentStep> {
    const receipt = rec.txs.length === 0 ? null : await this.reader.receiptOf(rec.txs.map(t => t.hash))
    // a pruned (non-archive) node may not serve state 500 blocks back (the depth fallback): read the head instead;
    // a reorg that later undoes what the head shows reopens the intent (the done watch)
    const proof = await this.proofs(rec.proof, fin.confirmedUpTo).catch(async (err: unknown) => {
      if (isConnectionError(err)) throw err
      return await this.proofs(rec.proof, 'latest')
    })
    // a pending transaction the node no longer knows (dropped from its pool, or from a reorged block on a node that
    // does not re-inject them, like anvil) is sent again now rather than after the stall
    if (rec.state === 'sent' && receipt === null && rec.txs.length > 0 && !this.unsure.has(rec.id) && !(await this.reader.knows(rec.txs.map(t => t.hash)))) this.unsure.add(rec.id)
    return nextIntentStep(rec, {
      now: this.clock.now(), receipt, proofHolds: proof, confirmedNonce, confirmedUpTo: fin.confirmedUpTo, stallMs: this.stallMs, unsure: this.unsure.has(rec.id)
    })
  }

  private async apply (rec: IntentRecord, step: IntentStep, fin: FinalityStatus): Promise<void> {
    const last = rec.txs[rec.txs.length - 1]
    switch (step.do) {
      case 'wait': return
      case 'assign': return await this.assign(rec)
      case 'rebroadcast': return await this.broadcast(rec, last, 'rebroadcast')
      case 'bump': return await this.bump(rec, last)
      case 'mined': return await this.commit({ ...rec, state: 'mined', receipt: step.receipt })
      case 'unmined':
      case 'reopen': {
        const back: IntentRecord = { ...rec, state: rec.txs.length === 0 ? 'prepared' : 'sent' }
        delete back.receipt; delete back.doneBy; delete back.doneAtBlock
        this.log.warn({ id: rec.id, from: rec.state }, 'settlement undone by a reorg; sending again')
        await this.commit(back)
        if (last !== undefined) await this.broadcast(back, last, 'rebroadcast')
        return
      }
      case 'done': return await this.commit({ ...rec, state: 'done', doneBy: step.by, doneAtBlock: fin.latest, ...(step.receipt !== undefined ? { receipt: step.receipt } : {}) })
      case 'fail': return await this.commit({ ...rec, state: 'failed', error: step.error, doneAtBlock: fin.latest })
    }
  }

  private async assign (rec: IntentRecord): Promise<void> {
    if (this.nextNonce === undefined) return
    let gasLimit = BigInt(rec.gasLimit)
    if (gasLimit === 0n) {
      try {
        const est = await this.reader.estimateGas({ to: rec.to, data: rec.data, value: BigInt(rec.value) })
        gasLimit = est * (1000n + CHAIN_DEFAULTS.gasHeadroomPerMille) / 1000n
      } catch (err) {
        if (isConnectionError(err)) throw err
        // it may depend on an earlier intent of ours still in flight (a deposit after its approve): fail only once none is
        if ([...this.active.values()].some(r => r.seq < rec.seq && r.seq > 0 && (r.state === 'prepared' || r.state === 'sent' || r.state === 'mined'))) return
        return await this.commit({ ...rec, state: 'failed', error: `would revert: ${describeRevert(rec.to, err)}` })
      }
    }
    const nonce = this.nextNonce
    const tx = await this.sign({ ...rec, gasLimit: gasLimit.toString() }, nonce, initialFees(this.network.fees, await this.reader.feeSuggestion()))
    const next: IntentRecord = { ...rec, state: 'sent', nonce, gasLimit: gasLimit.toString(), txs: [tx], updatedAt: this.clock.now() }
    // the nonce and the signed transaction are stored together, before anything goes on the wire
    await this.intents.write([this.intents.putOp(next), this.nonces.op(nonce + 1)])
    this.nextNonce = nonce + 1
    this.remember(next)
    await this.broadcast(next, tx, 'first')
  }

  private async bump (rec: IntentRecord, last: IntentTx): Promise<void> {
    const fees = bumpFees(feesFromRecord(last), this.network.fees, await this.reader.feeSuggestion())
    if (fees.maxFeePerGas > this.feeCap) {
      this.log.warn({ id: rec.id, nonce: rec.nonce }, 'transaction stuck at the fee cap; not bumping further')
      return
    }
    const tx = await this.sign(rec, rec.nonce ?? -1, fees)
    const next: IntentRecord = { ...rec, txs: [...rec.txs, tx], updatedAt: this.clock.now() }
    await this.intents.write([this.intents.putOp(next)])
    this.active.set(next.id, next)
    this.c.events?.emit('ledger.tx-replaced', { id: rec.id, nonce: rec.nonce ?? -1, oldHash: last.hash, newHash: tx.hash, maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas })
    this.log.info({ id: rec.id, nonce: rec.nonce, maxFeePerGas: tx.maxFeePerGas }, 'replaced a stuck transaction')
    await this.broadcast(next, tx, 'replace')
  }

  private async sign (rec: IntentRecord, nonce: number, fees: Fees): Promise<IntentTx> {
    const raw = await this.c.wallet.signTransaction({
      type: 2, chainId: this.network.chainId, nonce, to: rec.to, data: rec.data, value: BigInt(rec.value), gasLimit: BigInt(rec.gasLimit),
      maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas
    })
    const hash = Transaction.from(raw).hash ?? ''
    return { hash, raw, maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(), signedAt: this.clock.now() }
  }

  private async broadcast (rec: IntentRecord, tx: IntentTx | undefined, reason: 'first' | 'replace' | 'rebroadcast' | 'gap'): Promise<void> {
    if (tx === undefined) return
    try {
      await this.reader.broadcast(tx.raw)
      this.c.heads?.poke()
      this.c.metrics?.txs.inc({ reason })
      this.unsure.delete(rec.id)
    } catch (err) {
      if (isConnectionError(err)) { this.unsure.add(rec.id); throw err }
      const msg = String((err as Error).message ?? err)
      // the node has it already, or one of its versions is mined: receipts decide
      if (/already known|nonce too low|already imported|replacement transaction underpriced|known transaction/i.test(msg)) { this.unsure.delete(rec.id); return }
      this.unsure.add(rec.id)
      this.log.warn({ id: rec.id, nonce: rec.nonce, reason, err: msg.slice(0, 200) }, 'broadcast refused; retrying next pass')
    }
  }

  private async commit (next: IntentRecord): Promise<void> {
    const rec = { ...next, updatedAt: this.clock.now() }
    await this.intents.write([this.intents.putOp(rec)])
    this.remember(rec)
  }

  private remember (rec: IntentRecord): void {
    this.active.set(rec.id, rec)
    this.announce(rec)
    if (rec.state === 'done' || rec.state === 'failed') {
      const ws = this.waiters.get(rec.id) ?? []
      this.waiters.delete(rec.id)
      for (const w of ws) rec.state === 'done' ? w.resolve(rec) : w.reject(this.failure(rec))
    }
  }

  private announce (rec: IntentRecord): void {
    this.c.metrics?.intents.inc({ state: rec.state })
    const txHash = rec.receipt?.hash ?? rec.txs[rec.txs.length - 1]?.hash
    this.c.events?.emit('ledger.intent', {
      id: rec.id, kind: rec.kind, state: rec.state, nonce: rec.nonce ?? -1,
      ...(txHash !== undefined ? { txHash } : {}), ...(rec.doneBy !== undefined ? { doneBy: rec.doneBy } : {}), ...(rec.error !== undefined ? { error: rec.error } : {})
    })
  }

  private alarm (fin: FinalityStatus): void {
    if (this.network.confirmation.kind !== 'finalized') return
    this.c.metrics?.finalityLagSeconds.set(fin.lagMs < 0 ? -1 : fin.lagMs / 1000)
    this.c.metrics?.finalityLagging.set(fin.lagging ? 1 : 0)
    if (fin.lagging === this.lagging) return
    this.lagging = fin.lagging
    this.log.warn({ lagMs: fin.lagMs, latest: fin.latest, finalized: fin.finalized }, fin.lagging ? 'finality lags: crediting by depth' : 'finality caught up')
    this.c.events?.emit('ledger.finality-lag', { chainId: this.network.chainId.toString(), lagging: fin.lagging, lagSeconds: fin.lagMs / 1000, latest: fin.latest, finalized: fin.finalized })
  }

  private failure (rec: IntentRecord): ChainError {
    return new ChainError('ERR_INTENT_FAILED', `intent ${rec.id} failed: ${rec.error ?? 'unknown'}`)
  }
}
