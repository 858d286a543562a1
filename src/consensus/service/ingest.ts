/**
 * Where consensus records enter a node, whichever way they came (gossip, the sync stream, this node's own signing,
 * the state store at start): each is opened and checked, kept, persisted in one batch with the status it moves its
 * proposal to, and the proposal re-tallied. Accepted proposals execute once final; an accepted epoch proposal is
 * applied to the chain. Catching up with peers is catchup.ts.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { GossipValidationError, MeshError } from '../../common/errors.js'
import { recordFingerprint } from '../../protocols/replay.js'
import type { GossipContext } from '../../protocols/gossip.js'
import { ConsensusError } from '../errors.js'
import type { EquivocationRecord } from '../core/epoch.js'
import { cidOf } from '../protocol/canonical.js'
import { proposalId } from '../protocol/records.js'
import { attemptedEpoch, type Evidence, type Proposal } from '../protocol/schemas.js'
import { checkVoteBls, openConsensusRecord, verifyEvidence, type OpenedConsensusRecord } from '../protocol/verify.js'
import { BlsVotes } from '../core/bls-votes.js'
import type { BuiltinHost } from './builtin-kinds.js'
import type { ElectorateWeights } from '../core/weights.js'
import type { WorkRecord } from './kinds.js'
import { addPrevote, addVoteRec, newEntry, qcOf, tallyEntry, type Entry } from './entry.js'
import { EPOCH_KIND, epochRecords, followsChain, type EpochPayload } from './epochs.js'
import type { ConsensusService } from './service.js'
import { loadState, ops, type ConsensusOp } from './store.js'
import { CatchUp, qcVoters } from './catchup.js'
import { QcFlow } from './qcs.js'
import { DoubleBacks, ServiceEvidence } from './evidence.js'

const NETWORK_PARAM = 'network-param'
const REPUTATION_PREFIX = 'reputation.'

/** The records of one node and everything that moves them (see the module comment). */
export class Ingest implements BuiltinHost {
  readonly entries = new Map<string, Entry>()
  readonly evidence = new Map<string, EquivocationRecord & { epoch: number | null, pair: Evidence }>()
  readonly params = new Map<string, unknown>()
  readonly bans = new Map<string, string>()
  /** Votes and vetoes that arrived before their proposal (bounded). */
  private readonly orphans = new Map<string, Uint8Array[]>()
  /** Double-backs this node turned into evidence (once per voter and epoch). */
  private readonly doubleBacks: DoubleBacks
  readonly catchUp: CatchUp
  private readonly busy = new Set<Promise<unknown>>()
  /** BLS keys and yes signatures, for aggregate QCs of large electorates (core/bls-votes.ts). */
  readonly bls: BlsVotes
  /** QCs in (vote lists, BLS aggregates, the proposer's adopted) and out (qcs.ts). */
  readonly qcs: QcFlow

  constructor (private readonly s: ConsensusService) {
    this.catchUp = new CatchUp(s, this)
    this.bls = new BlsVotes(s.network, s.blsQcThreshold)
    this.qcs = new QcFlow(s, this)
    this.doubleBacks = new DoubleBacks(this.entries, () => s.attempts)
  }

  // ---- start: read the store back, replay the chain ----

  async load (): Promise<void> {
    const st = await loadState(this.s.c.state)
    for (const [key, v] of st.params) this.params.set(key, v)
    for (const [peer, reason] of st.bans) this.bans.set(peer, reason)
    for (const [id, stored] of st.proposals) {
      const opened = await openConsensusRecord(stored.b, this.s.network).catch(() => undefined)
      if (opened?.type !== 'proposal' || proposalId(opened.record.payload) !== id) continue
      const e = newEntry(id, stored.b, opened.record.payload)
      e.status = stored.s
      e.executed = stored.x
      e.epoch = stored.e
      this.entries.set(id, e)
      this.seed(opened)
    }
    for (const list of [...st.votes.values(), ...st.vetoes.values()]) {
      for (const bytes of list) {
        const o = await openConsensusRecord(bytes, this.s.network).catch(() => undefined)
        if (o == null) continue
        this.seed(o)
        this.keep(o)
      }
    }
    for (const [id, qc] of st.qcs) {
      const e = this.entries.get(id)
      if (e != null) e.qc = qc
    }
    for (const [id, pair] of st.evidence) await this.keepEvidence(id, pair).catch(() => {})
    for (const entry of st.epochs) {
      const ep = this.entries.get(entry.proposalId)
      if (ep == null) throw new ConsensusError('ERR_RECORDS', `stored epoch ${entry.epoch} lacks its proposal`)
      this.applyToChain(ep)
    }
    for (const e of this.entries.values()) {
      if (e.qc != null && e.qcVoters == null) e.qcVoters = await qcVoters(e.qc, e.id, this.s.network)
      // a QC synced as an aggregate (catchup.ts) is this node's only certificate of its proposal: served on as it is
      if (e.qc?.aggregate != null) this.bls.adopt(e.id, e.qc.aggregate)
    }
  }

  /** A record seen before a restart is seen again: replaying it on gossip is refused like any duplicate. */
  seed (o: OpenedConsensusRecord): void {
    try { this.s.guard.check(o.record.signer, o.record.domain, o.record.seq, recordFingerprint(o.record.bytes)) } catch { /* stale: the age check refuses it anyway */ }
  }

  // ---- gossip ----

  /** The topic validator: open the record (fresh, not replayed) and check what can be checked now. */
  async validateGossip (data: Uint8Array, ctx: GossipContext): Promise<OpenedConsensusRecord> {
    try {
      const opened = await openConsensusRecord(data, this.s.network, { source: ctx.propagationSource, guard: this.s.guard })
      if (this.bans.has(opened.record.signer)) throw new GossipValidationError('ignore', 'ERR_BANNED', 'signer is banned')
      if (opened.type === 'proposal') this.checkKind(opened.record.payload)
      if (opened.type === 'evidence') await verifyEvidence(opened.record.payload, this.s.network)
      if (opened.type === 'vote') checkVoteBls(opened.record.payload, this.bls.ring)
      if (opened.type === 'qc' && opened.record.payload.aggregate != null) await this.qcs.checkAggregate(opened.record.payload)
      return opened
    } catch (err) {
      // malformed consensus gossip costs its forwarder application score, beyond gossipsub's own topic penalty
      if (err instanceof GossipValidationError && err.action === 'reject') this.s.c.penalties?.penalise(ctx.propagationSource)
      this.s.c.metrics?.votes.inc({ result: 'refused' })
      throw err
    }
  }

  private checkKind (p: Proposal): void {
    if (p.kind === EPOCH_KIND) return
    try {
      this.s.kinds.check({ id: '', proposal: p })
    } catch (err) {
      // a kind this node has not registered may be another subsystem's: not the sender's fault
      const action = err instanceof MeshError && err.code === 'ERR_KIND' ? 'ignore' : 'reject'
      throw new GossipValidationError(action, err instanceof MeshError ? err.code : 'ERR_PAYLOAD', (err as Error).message)
    }
  }

  /** Open bytes from a trusted path (own signing, sync, a QC's votes) and take them in; on gossip later it is a replay. */
  async ingestBytes (bytes: Uint8Array): Promise<void> {
    const o = await openConsensusRecord(bytes, this.s.network)
    this.seed(o)
    await this.ingest(o)
  }

  /** Take in an opened record; tracked so `stop` can wait for the work in flight. */
  async ingest (o: OpenedConsensusRecord): Promise<void> {
    const p = this.take(o)
    this.busy.add(p)
    try { await p } finally { this.busy.delete(p) }
  }

  async idle (): Promise<void> {
    await Promise.allSettled([...this.busy, this.catchUp.syncing])
  }

  private async take (o: OpenedConsensusRecord): Promise<void> {
    if (o.type === 'evidence') {
      const pair = ServiceEvidence.of(o.record.payload)
      const id = cidOf(pair)
      if (!this.evidence.has(id)) {
        await this.keepEvidence(id, pair)
        await this.s.write([ops.evidence(id, pair)])
      }
      return
    }
    if (o.type === 'qc') { await this.qcs.take(o.record.signer, o.record.payload); return }
    if (o.type === 'proposal') {
      const id = proposalId(o.record.payload)
      if (this.entries.has(id)) return
      if (o.record.payload.kind !== EPOCH_KIND) this.s.kinds.check({ id, proposal: o.record.payload })
      const e = newEntry(id, o.record.bytes, o.record.payload)
      this.entries.set(id, e)
      await this.s.write([ops.entry(e)])
      this.s.c.events.emit('proposal.created', { id, kind: e.proposal.kind, proposer: e.proposal.proposer, expiresAt: e.proposal.expiresAt })
      for (const bytes of this.orphans.get(id) ?? []) await this.ingestBytes(bytes).catch(() => {})
      this.orphans.delete(id)
      await this.retally(e)
      await this.s.decide(e)
      return
    }
    const pid = o.record.payload.proposalId
    const e = this.entries.get(pid)
    if (e == null) {
      const list = this.orphans.get(pid) ?? []
      if (this.orphans.size < 10_000 && list.length < 4096) { list.push(o.record.bytes); this.orphans.set(pid, list) }
      return
    }
    if (o.type === 'vote') await this.takeVotes(e, [o])
    else if (this.keep(o)) await this.retally(e, [ops.veto(pid, o.record.signer, o.record.bytes)])
  }

  /**
   * Votes on one known proposal (one from gossip, or a QC's): kept, then one tally, the records written in the same
   * batch as the status they move it to (the deciding vote's QC is not held back behind writes of its own).
   */
  async takeVotes (e: Entry, votes: OpenedConsensusRecord[]): Promise<void> {
    const batch: ConsensusOp[] = []
    const yes: Array<[string, boolean]> = []
    for (const o of votes) {
      if (o.type !== 'vote' || o.record.payload.proposalId !== e.id || !this.keep(o)) continue
      const prevote = o.record.payload.phase === 'prevote'
      this.s.c.metrics?.votes.inc({ result: prevote ? 'prevote' : 'counted' })
      if (!prevote) this.s.c.events.emit('proposal.voted', { id: e.id, voter: o.record.signer, choice: o.record.payload.choice })
      batch.push(ops.vote(e.id, o.record.signer, o.record.seq, o.record.bytes))
      if (o.record.payload.choice === 'yes') yes.push([o.record.signer, prevote])
    }
    if (batch.length === 0) return
    await this.retally(e, batch)
    for (const [voter, prevote] of yes) {
      const doubleBack = this.doubleBacks.check(e, voter, prevote)
      if (doubleBack != null) await this.sendEvidence(doubleBack)
    }
    // a prevote may complete a polka: this node's yes may be due now (core/epoch-lock.ts)
    if (yes.some(([, prevote]) => prevote)) await this.s.decide(e)
  }

  /** Sign equivocation evidence (a vote's conflict, or a yes that broke the epoch lock: evidence.ts), take it in here and gossip it. */
  private async sendEvidence (pair: Evidence): Promise<void> {
    const bytes = await this.s.sign('evidence', pair)
    await this.ingestBytes(bytes).catch(() => {})
    await this.s.publish(bytes)
  }

  /** Keep a vote or veto on its (known) entry; returns whether it was new. */
  private keep (o: OpenedConsensusRecord): boolean {
    if (o.type === 'vote') {
      const e = this.entries.get(o.record.payload.proposalId)
      const rec = { voter: o.record.signer, choice: o.record.payload.choice, seq: o.record.seq, bytes: o.record.bytes }
      // a prevote counts only on an epoch attempt (core/epoch-lock.ts); anywhere else it is dropped
      if (o.record.payload.phase === 'prevote') return e != null && attemptedEpoch(e.proposal) != null && addPrevote(e, rec)
      const added = e != null && addVoteRec(e, rec)
      if (added) this.bls.note(o.record.payload, o.record.bytes)
      return added
    }
    if (o.type === 'veto') {
      const e = this.entries.get(o.record.payload.proposalId)
      if (e == null || e.vetoes.has(o.record.signer)) return false
      e.vetoes.set(o.record.signer, { guardian: o.record.signer, reason: o.record.payload.reason, at: o.record.seq, bytes: o.record.bytes })
      return true
    }
    return false
  }

  async keepEvidence (id: string, pair: Evidence): Promise<void> {
    const { voter, proposalId: pid } = await verifyEvidence(pair, this.s.network)
    this.evidence.set(id, { voter, proposalId: pid, epoch: null, pair })
    this.s.archive.keepEvidence(id, pair)
    this.s.c.metrics?.evidence.inc()
    // local suspicion: the gossip score drops at once; the reputation slash waits for the next epoch
    this.s.c.penalties?.penalise(voter, 10)
  }

  // ---- tally, finality, execution ----

  /** Re-tally every proposal that can still move (expiry, finality), on the chain's beat. */
  async retallyOpen (): Promise<void> {
    for (const e of [...this.entries.values()]) {
      if (e.status === 'pending' || (e.status === 'accepted' && !e.executed)) await this.retally(e)
    }
  }

  /** Tally one proposal and act on a change of status; `records` (the vote or veto just kept) are written with it. */
  async retally (e: Entry, records: ConsensusOp[] = []): Promise<void> {
    if (e.proposal.snapshot > this.s.chain.epoch) { await this.s.write(records); void this.catchUp.syncSoon(); return }
    if (e.status !== 'pending' && !(e.status === 'accepted' && !e.executed)) { await this.s.write(records); return }
    const now = this.s.c.clock.now()
    const guardians = this.s.guardiansOf(e.proposal.kind)
    const t = tallyEntry(e, this.s.electorateOf(e.proposal), guardians, now)
    e.tally = t
    for (const eq of t.evidence) {
      if (e.evidenced.has(eq.voter) || eq.first.record == null || eq.second.record == null) continue
      e.evidenced.add(eq.voter)
      await this.sendEvidence(ServiceEvidence.of({ first: eq.first.record.bytes, second: eq.second.record.bytes }))
    }
    const batch: ConsensusOp[] = [...records]
    const before = e.status
    if (t.status === 'vetoed' && !e.executed) e.status = 'vetoed'
    else if (before === 'pending' && t.status !== 'pending') e.status = t.status
    if (e.status === 'accepted' && e.qc == null) {
      e.qcVoters = t.yesVoters
      e.qc = qcOf(e, t.yesVoters)
      batch.push(ops.qc(e.qc))
      if (e.proposal.proposer === this.s.peerId) { e.qcPublic = true; void this.qcs.publish(e, e.qc) }
    }
    if (e.status !== before) {
      batch.push(ops.entry(e))
      await this.s.write(batch)
      this.s.c.metrics?.proposals.inc({ status: e.status })
      const { kind } = e.proposal
      this.s.archive.keep(e)
      if (e.status === 'accepted') this.s.c.events.emit('proposal.accepted', { id: e.id, kind, yes: String(t.yes), quorum: String(t.quorum) })
      else if (e.status === 'vetoed') this.s.c.events.emit('proposal.vetoed', { id: e.id, kind, vetoes: t.vetoes })
      else if (e.status === 'rejected') this.s.c.events.emit('proposal.rejected', { id: e.id, kind })
      else if (e.status === 'expired') this.s.c.events.emit('proposal.expired', { id: e.id, kind })
    } else if (batch.length > 0) await this.s.write(batch)
    if (e.status === 'accepted' && !e.executed) await this.finalize(e, now)
  }

  /** Execute an accepted proposal once its veto window (and the finality delay) is over; apply an accepted epoch. */
  private async finalize (e: Entry, now: number): Promise<void> {
    if (e.proposal.kind === EPOCH_KIND) { await this.applyEpoch(e); return }
    const vetoable = this.s.guardiansOf(e.proposal.kind)
    const due = vetoable != null && vetoable.threshold > 0 ? e.proposal.expiresAt + this.s.init.finalityDelayMs : 0
    if (now < due) return
    await this.execute(e)
  }

  private async execute (e: Entry): Promise<void> {
    if (e.executed) return
    // a kind another subsystem registers at its own start (training's hyperparams, after consensus started and began
    // catching up): left accepted-not-executed, so the next beat executes it once the kind is there
    if (!this.s.kinds.has(e.proposal.kind)) return
    try {
      await this.s.kinds.get(e.proposal.kind).execute(e.proposal.payload, { id: e.id, proposal: e.proposal })
    } catch (err) {
      this.s.c.logger.warn({ err: (err as Error).message, id: e.id, kind: e.proposal.kind }, 'proposal executor failed')
    }
    e.executed = true
    await this.s.write([ops.entry(e)])
    this.s.archive.keep(e)
    this.s.c.events.emit('proposal.executed', { id: e.id, kind: e.proposal.kind })
  }

  /** Apply an accepted epoch proposal to the chain, once every record it lists is held here (else sync first). */
  async applyEpoch (e: Entry): Promise<void> {
    const p = e.proposal.payload as EpochPayload
    // a QC'd epoch for an epoch final here is never applied: the same content is a no-op, other content is reported
    if (!e.executed && p.epoch <= this.s.chain.epoch) this.s.epochConflict(p.epoch, e.id, p)
    if (e.executed || p.epoch <= this.s.chain.epoch) {
      if (!e.executed) { e.executed = true; await this.s.write([ops.entry(e)]) }
      return
    }
    // a QC on an epoch that does not follow this chain (another previous hash, credit ledger or snapshot) takes byzantine weight of 1/3
    if (p.epoch === this.s.chain.epoch + 1 && (!followsChain(p, this.s.chain) || e.proposal.snapshot !== this.s.chain.epoch)) return
    const missing = p.epoch !== this.s.chain.epoch + 1 || p.accepted.some(a => this.entries.get(a.id)?.qc == null) || p.evidence.some(id => !this.evidence.has(id))
    if (missing) { void this.catchUp.syncSoon(); return }
    const entry = this.applyToChain(e)
    const batch: ConsensusOp[] = [ops.epoch(entry), ops.entry(e)]
    for (const { id } of p.accepted) {
      const x = this.entries.get(id)
      if (x == null) continue
      if (!x.executed) await this.execute(x)
      batch.push(ops.entry(x))
    }
    await this.s.write(batch)
    this.s.c.metrics?.epoch.set(entry.epoch)
    this.s.c.events.emit('epoch.finalized', { epoch: entry.epoch, hash: entry.hash, proposalId: e.id, records: p.accepted.length + p.evidence.length })
  }

  /** The chain step of an epoch proposal (also the replay at start): mark what it lists, run the transition. */
  private applyToChain (e: Entry): ReturnType<ConsensusService['chain']['apply']> {
    const p = e.proposal.payload as EpochPayload
    const changes: Record<string, unknown> = {}
    for (const { id, voters } of p.accepted) {
      const x = this.entries.get(id)
      if (x == null) continue
      x.epoch = p.epoch
      x.qcVoters = voters
      x.status = 'accepted'
      const pl = x.proposal.payload as { name?: unknown, value?: unknown }
      if (x.proposal.kind === NETWORK_PARAM && typeof pl.name === 'string' && pl.name.startsWith(REPUTATION_PREFIX)) changes[pl.name.slice(REPUTATION_PREFIX.length)] = pl.value
    }
    for (const id of p.evidence) {
      const ev = this.evidence.get(id)
      if (ev != null) ev.epoch = p.epoch
    }
    e.epoch = p.epoch
    e.executed = true
    return this.s.chain.apply({ epoch: p.epoch, proposalId: e.id, createdAt: e.proposal.createdAt, accepted: p.accepted.map(a => a.id), evidence: [...p.evidence] },
      epochRecords(p, this), changes)
  }

  // ---- what epochs.ts reads of the kinds ----

  electorateOf (p: Proposal): ElectorateWeights { return this.s.electorateOf(p) }
  workOf (p: Proposal): WorkRecord | undefined { return this.s.kinds.work(p) }

  // ---- builtin kinds' host ----

  async setParam (name: string, value: unknown): Promise<void> {
    this.params.set(name, value)
    await this.s.write([ops.param(name, value)])
  }

  async ban (peer: string, reason: string): Promise<void> {
    this.bans.set(peer, reason)
    await this.s.write([ops.ban(peer, reason)])
    this.s.c.penalties?.penalise(peer, 100)
    await this.s.c.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
  }
}
