/**
 * The consensus service: proposals, votes, vetoes and evidence gossiped on `meshnode/consensus/1`, tallied under the
 * weights of the epoch each proposal names, QCs assembled, accepted proposals executed by their kind once the veto
 * window closed, and the epoch chain driven by `epoch` proposals (see epochs.ts). Records persist in the state store
 * (store.ts); a node that was away catches up over `/meshnode/consensus-sync/1.0.0` (sync.ts, ingest.ts).
 */
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import type { Clock } from '../../common/clock.js'
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import type { GossipProcessor } from '../../protocols/gossip.js'
import type { PenaltyBook } from '../../protocols/penalties.js'
import { ReplayGuard, SeqSource } from '../../protocols/replay.js'
import { ConsensusError } from '../errors.js'
import type { ConsensusEvents } from '../events.js'
import type { ConsensusMetrics } from '../metrics.js'
import type { ConsensusOptions } from '../options.js'
import { policyVerdict, type Assessment, type OperatorPolicy } from '../core/policy.js'
import type { GuardianSet } from '../core/tally.js'
import { electorateWeights, type ElectorateWeights } from '../core/weights.js'
import { proposalId, signConsensusRecord, type ConsensusRecordSpecs } from '../protocol/records.js'
import { CONSENSUS_SYNC_PROTOCOL, CONSENSUS_TOPIC } from '../protocol/topic.js'
import { attemptedEpoch, type Proposal, type Qc, type VoteBls, type VoteChoice } from '../protocol/schemas.js'
import { deriveBlsKeyPair, makeBlsBinding, signBlsVote, type BlsBinding, type BlsKeyPair } from '../core/bls.js'
import type { QcAggregate } from '../core/qc.js'
import type { RecordSpec } from '../../protocols/record.js'
import type { EpochsView, ProposalCreate, ProposalListQuery, ProposalView, ReputationTableView } from './api-schemas.js'
import { EpochChain } from './chain.js'
import { entryView, type Entry } from './entry.js'
import { EPOCH_KIND } from './epochs.js'
import { EpochAttempts } from './epoch-attempts.js'
import { EpochRounds } from './epoch-rounds.js'
import { Ingest } from './ingest.js'
import { KindRegistry, type ProposalKind } from './kinds.js'
import { builtinKinds } from './builtin-kinds.js'
import { GroupCommit, ops, type ConsensusOp, type ConsensusState } from './store.js'
import { serveSync } from './sync.js'
import { DIRECT_VOTE_FALLBACK_MS, VoteRouting } from './vote-routing.js'
import { ConsensusArchive, type ConsensusBlocks } from './archive.js'
import { Pruner } from './prune.js'
import { epochsView, reputationBonus, reputationPeerView, reputationView } from './views.js'

/** The service's options (the node's `consensus` options plus what it shares with other subsystems). */
export interface ConsensusInit extends ConsensusOptions {
  network: string
  recordMaxAgeMs: number
  recordMaxSkewMs: number
}

/** What the service uses. */
export interface ConsensusComponents {
  peerId: string
  privateKey: PrivateKey
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getPeers' | 'addEventListener' | 'removeEventListener' | 'hangUp'>
  gossip: Pick<GossipProcessor, 'register' | 'publish'>
  state: ConsensusState
  events: EventSink<ConsensusEvents>
  logger: Logger
  clock: Clock
  penalties?: Pick<PenaltyBook, 'penalise'>
  metrics?: ConsensusMetrics
  /** The node's blockstore: decided proposals, their decisions and evidence are put there (archive.ts); absent: not archived. */
  blocks?: ConsensusBlocks
}

type Payload<K extends keyof ConsensusRecordSpecs> = ConsensusRecordSpecs[K] extends RecordSpec<infer T> ? T : never

/** The consensus service (see the module comment). Its public methods are the API's. */
export class ConsensusService {
  readonly kinds = new KindRegistry()
  /** Decided proposals, decisions and evidence into the blockstore (archive.ts); pruning of settled records (prune.ts). */
  readonly archive: ConsensusArchive
  readonly pruner: Pruner
  readonly chain: EpochChain
  readonly guard: ReplayGuard
  private readonly seq: SeqSource
  private readonly ingest: Ingest
  private timer?: NodeJS.Timeout
  private started = false
  /** Epoch attempts and their contents (the voting rule's input, core/epoch-lock.ts). */
  readonly attempts: EpochAttempts
  /** This node's epoch votes and attempts (epoch-rounds.ts). */
  private readonly rounds: EpochRounds
  /** Proposals this node is signing a vote on right now. */
  private readonly casting = new Set<string>()
  /** Every write of the service, group-committed (store.ts). */
  private readonly writes: GroupCommit
  /** Where this node's votes go: yes votes straight to their proposer (vote-routing.ts). */
  readonly votes: VoteRouting
  private blsKey?: BlsKeyPair
  private blsBinding?: BlsBinding

  constructor (readonly c: ConsensusComponents, readonly init: ConsensusInit) {
    this.chain = new EpochChain(init.genesis)
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
    this.seq = new SeqSource(c.clock)
    this.writes = new GroupCommit(async batch => { await c.state.atomic(batch) })
    this.ingest = new Ingest(this)
    this.attempts = new EpochAttempts(this.ingest.entries)
    this.rounds = new EpochRounds(this, this.ingest)
    this.archive = new ConsensusArchive(c.blocks, c.logger, c.metrics)
    this.pruner = new Pruner(this, this.ingest.entries)
    for (const k of builtinKinds(this.ingest)) this.kinds.register(k)
    this.votes = new VoteRouting(this, this.ingest, init.directVoteFallbackMs ?? DIRECT_VOTE_FALLBACK_MS)
  }

  get peerId (): string { return this.c.peerId }
  get network (): string { return this.init.network }
  get blsQcThreshold (): number { return this.init.blsQcThreshold ?? 64 }
  /** The guardians (none for kinds that are not vetoable). */
  guardiansOf (kind: string): GuardianSet | undefined {
    return this.kinds.has(kind) && this.kinds.get(kind).vetoable === false ? undefined : this.chain.guardians
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.ingest.load()
    this.archive.sweep(this.ingest.entries.values())
    this.c.gossip.register({
      topic: CONSENSUS_TOPIC,
      validate: async (data, ctx) => await this.ingest.validateGossip(data, ctx),
      deliver: async (opened) => { await this.ingest.ingest(opened) }
    })
    await this.c.libp2p.handle(CONSENSUS_SYNC_PROTOCOL, (stream: Stream) => { void serveSync(stream, this.ingest.catchUp, this.init.syncTimeoutMs, err => { this.c.logger.debug({ err: err.message }, 'consensus sync request failed') }) }, { maxInboundStreams: 8 })
    await this.votes.start()
    this.c.libp2p.addEventListener('peer:identify', this.ingest.catchUp.onIdentify)
    const tickMs = Math.max(50, Math.min(500, Math.floor(this.init.epochIntervalMs / 4)))
    this.timer = setInterval(() => { void this.tick() }, tickMs)
    this.timer.unref()
    void this.ingest.catchUp.syncAll()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.c.libp2p.removeEventListener('peer:identify', this.ingest.catchUp.onIdentify)
    await this.c.libp2p.unhandle(CONSENSUS_SYNC_PROTOCOL).catch(() => {})
    await this.votes.stop()
    await this.ingest.idle()
    await this.archive.close()
  }

  /** Register a proposal kind (another subsystem's); returns its unregister function. */
  registerKind (kind: ProposalKind): () => void {
    return this.kinds.register(kind)
  }

  // ---- the API ----

  /** Proposals known here, newest first, filtered by kind and status. */
  list (q: ProposalListQuery = {}): ProposalView[] {
    return [...this.ingest.entries.values()]
      .filter(e => (q.kind == null || e.proposal.kind === q.kind) && (q.status == null || e.status === q.status))
      .sort((a, b) => b.proposal.createdAt - a.proposal.createdAt || (a.id < b.id ? -1 : 1))
      .map(entryView)
  }

  /** Sync now from every connected peer (a subsystem that sees this node is behind, e.g. training's seal voting). */
  async catchUp (): Promise<void> { await this.ingest.catchUp.syncAll() }

  /** One proposal (ERR_NOT_FOUND). */
  get (id: string): ProposalView {
    return entryView(this.entry(id))
  }

  /** Create, sign and gossip a proposal; the operator who creates it votes yes with it. */
  async create (req: ProposalCreate): Promise<{ id: string }> {
    if (req.kind === EPOCH_KIND) throw new ConsensusError('ERR_KIND', 'epoch proposals are raised by the chain itself')
    const now = this.c.clock.now()
    const ttlMs = req.ttlSeconds != null ? req.ttlSeconds * 1000 : this.init.defaultTtlMs
    const p: Proposal = { kind: req.kind, payload: this.kinds.prepare(req.kind, req.payload), proposer: this.peerId, createdAt: now, expiresAt: now + ttlMs, snapshot: this.chain.epoch }
    if (this.electorateOf(p).total === 0n) throw new ConsensusError('ERR_UNAVAILABLE', 'no electorate: the genesis names no pre-trusted peer (see meshnode init --genesis)')
    return await this.propose(p, 'yes')
  }

  /** Vote as this node's operator (ERR_CLOSED when it is no longer open or this node voted otherwise). */
  async vote (id: string, choice: VoteChoice): Promise<ProposalView> {
    const e = this.entry(id)
    if (e.status !== 'pending') throw new ConsensusError('ERR_CLOSED', `proposal ${id} is ${e.status}`)
    if (this.c.clock.now() >= e.proposal.expiresAt) throw new ConsensusError('ERR_CLOSED', `proposal ${id} has expired`)
    if (!this.isMember(e)) throw new ConsensusError('ERR_NOT_MEMBER', `this node has no weight in epoch ${e.proposal.snapshot}'s electorate`)
    const mine = e.votes.get(this.peerId) ?? []
    if (mine.some(v => v.choice !== choice)) throw new ConsensusError('ERR_CLOSED', `this node already voted ${mine[0].choice} on ${id}`)
    if (mine.length === 0) await this.castVote(e, choice)
    return this.get(id)
  }

  /** Veto as a guardian (ERR_NOT_GUARDIAN on other nodes; ERR_CLOSED past the window or for the chain's own kind). */
  async veto (id: string, reason = 'vetoed by a guardian'): Promise<ProposalView> {
    const e = this.entry(id)
    const guardians = this.guardiansOf(e.proposal.kind)
    if (!this.chain.guardians.keys.includes(this.peerId)) throw new ConsensusError('ERR_NOT_GUARDIAN', 'this node is not a configured guardian')
    if (guardians == null) throw new ConsensusError('ERR_CLOSED', `${e.proposal.kind} proposals cannot be vetoed`)
    if (e.executed || this.c.clock.now() > e.proposal.expiresAt) throw new ConsensusError('ERR_CLOSED', `proposal ${id}'s veto window has closed`)
    if (!e.vetoes.has(this.peerId)) {
      const bytes = await this.sign('veto', { proposalId: id, guardian: this.peerId, reason })
      await this.ingest.ingestBytes(bytes)
      await this.publish(bytes)
    }
    return this.get(id)
  }

  reputation (): ReputationTableView { return reputationView(this.chain) }
  reputationOf (peerId: string): ReturnType<typeof reputationPeerView> { return reputationPeerView(this.chain, peerId) }
  epochs (): EpochsView { return epochsView(this.chain, this.ingest.params, this.kinds.names()) }
  /** A network parameter set by an executed `network-param` proposal. */
  param (name: string): unknown { return this.ingest.params.get(name) }
  /** A small positive bonus for gossipsub's application score from reputation (views.ts). */
  reputationBonus (peerId: string, max = 10): number { return reputationBonus(this.chain, peerId, max) }

  /** Run the topic validator on bytes as if `source` forwarded them by gossip (what the gossip handler runs). */
  async validateGossip (bytes: Uint8Array, source: string): Promise<void> {
    await this.ingest.validateGossip(bytes, { propagationSource: source })
  }

  /** Take in a signed record from outside gossip (a file, a relay): signature and records checked, no freshness window. */
  async ingestRecord (bytes: Uint8Array): Promise<void> {
    await this.ingest.ingestBytes(bytes)
  }

  // ---- internals shared with ingest.ts ----

  entry (id: string): Entry {
    const e = this.ingest.entries.get(id)
    if (e == null) throw new ConsensusError('ERR_NOT_FOUND', `no proposal ${id} is known here`)
    return e
  }

  isMember (e: Entry): boolean {
    if (e.proposal.snapshot > this.chain.epoch) return false
    return this.electorateOf(e.proposal).weights.has(this.peerId)
  }

  /**
   * Who votes on a proposal and with what weight: its snapshot's electorate, restricted to the kind's electorate
   * where the kind names one (a round's electorate for `model-update`). The snapshot must be known here.
   */
  electorateOf (p: Proposal): ElectorateWeights {
    const restricted = this.kinds.electorate(p)
    return restricted == null ? this.chain.electorate(p.snapshot) : electorateWeights(this.chain.snapshot(p.snapshot), restricted)
  }

  async sign<K extends keyof ConsensusRecordSpecs> (type: K, payload: Payload<K>): Promise<Uint8Array> {
    return await signConsensusRecord(this.c.privateKey, this.network, type, this.seq.next(), payload)
  }

  async publish (bytes: Uint8Array): Promise<void> {
    try {
      await this.c.gossip.publish(CONSENSUS_TOPIC, bytes)
    } catch (err) {
      this.c.logger.debug({ err: (err as Error).message }, 'consensus publish failed')
    }
  }

  /** Sign and gossip a proposal (checked by its kind first); `myVote` is cast at once. */
  async propose (p: Proposal, myVote?: VoteChoice): Promise<{ id: string }> {
    const id = proposalId(p)
    this.kinds.check({ id, proposal: p })
    const bytes = await this.sign('proposal', p)
    await this.ingest.ingestBytes(bytes)
    await this.publish(bytes)
    const e = this.entry(id)
    if (myVote != null && this.isMember(e) && !e.votes.has(this.peerId)) await this.castVote(e, myVote)
    return { id }
  }

  async castVote (e: Entry, choice: VoteChoice): Promise<void> {
    // one vote per proposal at a time: two overlapping decisions (a beat and an arrival) must not sign yes and no
    if (this.casting.has(e.id)) throw new ConsensusError('ERR_CLOSED', `this node is already voting on ${e.id}`)
    const epoch = attemptedEpoch(e.proposal)
    // an epoch yes keeps the two-phase rule (core/epoch-lock.ts), checked and taken with no await in between
    const done = epoch != null && choice === 'yes' ? this.rounds.begin(e, 'yes') : undefined
    this.casting.add(e.id)
    try { await this.signAndSend(e, choice, epoch) } finally { this.casting.delete(e.id); done?.() }
  }

  /** Whether this node is signing a vote on `id` right now. */
  isCasting (id: string): boolean { return this.casting.has(id) }

  /** Sign this node's prevote on an epoch attempt (epoch-rounds.ts). */
  async castPrevote (e: Entry): Promise<void> {
    const done = this.rounds.begin(e, 'prevote')
    try { await this.signAndSend(e, 'yes', attemptedEpoch(e.proposal), true) } finally { done() }
  }

  /** Sign and send this node's vote (`prevote`: an epoch attempt's prevote, gossiped to every member at once). */
  private async signAndSend (e: Entry, choice: VoteChoice, epoch: number | undefined, prevote = false): Promise<void> {
    // the BLS part only where an aggregate may be built: small electorates keep today's records, byte for byte
    const bls = !prevote && choice === 'yes' && this.electorateOf(e.proposal).weights.size > this.blsQcThreshold ? this.blsVote(e.id) : undefined
    const vote = { proposalId: e.id, choice, voter: this.peerId, network: this.network, ...(prevote ? { phase: 'prevote' as const } : {}), ...(bls != null ? { bls } : {}) }
    const send = async (bytes: Uint8Array): Promise<void> => { await (prevote ? this.publish(bytes) : this.votes.send(e, choice, bls != null, bytes)) }
    if (epoch != null) {
      // an epoch vote is stored before it leaves: after a crash, the lock and rounds are read back from it
      const seq = this.seq.next()
      const signed = await signConsensusRecord(this.c.privateKey, this.network, 'vote', seq, vote)
      await this.write([ops.vote(e.id, this.peerId, seq, signed)])
      await send(signed)
      await this.ingest.ingestBytes(signed)
      return
    }
    const bytes = await this.sign('vote', vote)
    await send(bytes)
    await this.ingest.ingestBytes(bytes)
  }

  /** Report a QC'd epoch proposal conflicting with an epoch final here (EpochAttempts.conflict); never applied. */
  epochConflict (epoch: number, id: string, payload: unknown): boolean {
    const c = this.attempts.conflict(this.chain.entries[epoch - 1]?.proposalId, epoch, id, payload)
    if (c != null) this.c.logger.error(c, 'a QC on conflicting content for a finalized epoch')
    if (c != null) this.c.events.emit('epoch.conflict', c)
    return c != null
  }

  /** This node's BLS key (derived from its identity, core/bls.ts), its binding, and its yes signature on `id`. */
  private blsVote (id: string): VoteBls {
    this.blsKey ??= deriveBlsKeyPair(this.c.privateKey.raw)
    this.blsBinding ??= makeBlsBinding(this.blsKey, this.peerId)
    return { ...this.blsBinding, sig: signBlsVote(this.blsKey, this.network, id, 'yes') }
  }

  /** This node's automatic vote on a proposal it can vote on, by the kind's policy (epochs: `judgeEpoch`). */
  async decide (e: Entry): Promise<void> {
    if (!this.started || e.status !== 'pending' || e.votes.has(this.peerId) || this.casting.has(e.id) || !this.isMember(e)) return
    if (this.c.clock.now() >= e.proposal.expiresAt) return
    if (e.proposal.kind === EPOCH_KIND) { await this.rounds.decide(e); return }
    const kind = this.kinds.get(e.proposal.kind)
    const policy: OperatorPolicy = this.init.policies[e.proposal.kind] ?? kind.defaultPolicy ?? { mode: 'manual' }
    let assessment: Assessment = { valid: true }
    try {
      assessment = kind.assess != null ? await kind.assess(e.proposal.payload, { id: e.id, proposal: e.proposal }) : assessment
    } catch (err) {
      this.c.logger.warn({ err: (err as Error).message, id: e.id }, 'proposal assessment failed')
      assessment = { valid: false }
    }
    const verdict = policyVerdict(policy, assessment)
    if (verdict !== 'wait' && !e.votes.has(this.peerId) && !this.casting.has(e.id)) await this.castVote(e, verdict)
  }

  /** The chain's beat: re-tally, execute what became final, vote where waiting, raise the next epoch proposal. */
  async tick (): Promise<void> {
    if (!this.started) return
    try {
      await this.ingest.retallyOpen()
      const now = this.c.clock.now()
      const open = [...this.ingest.entries.values()].filter(e => e.status === 'pending')
      for (const e of open) await this.decide(e)
      await this.rounds.maybePropose(now, open)
      await this.votes.sweep(now, open)
      await this.pruner.maybePrune()
      void this.ingest.catchUp.syncIfStalled()
    } catch (err) {
      this.c.logger.warn({ err: (err as Error).message }, 'consensus tick failed')
    }
  }

  /** Persist a batch (the ingest's writes go through here). */
  async write (batch: ConsensusOp[]): Promise<void> {
    await this.writes.write(batch)
  }

  /** The QC this node holds for a proposal, if any. */
  qc (id: string): Qc | undefined { return this.ingest.entries.get(id)?.qc }
  /** The BLS aggregate QC this node built or verified for a proposal, if any (large electorates only). */
  aggregateQc (id: string): QcAggregate | undefined { return this.ingest.bls.get(id) }
}

/** The consensus service factory: `consensus(init)(components)`. */
export function consensus (init: ConsensusInit): (components: ConsensusComponents) => ConsensusService {
  return components => new ConsensusService(components, init)
}
