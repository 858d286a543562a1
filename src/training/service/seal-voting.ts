/**
 * Seals through consensus (`training.sealVoting: 'consensus'`): the bridge between the round machines and the
 * `model-update` kind (seal-kind.ts).
 *
 * - The aggregator's node proposes every seal its machine publishes for the round in progress, to the round's
 *   electorate. The round protocol itself is unchanged: seals, votes and promises still travel on the training topic,
 *   because attempts, promises and re-proposal (liveness) stay training's.
 * - Each vote the machine casts becomes this node's consensus vote on the matching proposal: yes only when the
 *   proposal carries exactly the seal the machine approved (deltas, contributors, aggregate) under the electorate it
 *   holds for that round. So a node approves in consensus only what it recomputed, and never below its Paxos promises.
 * - The machine's acceptance (`ConsensusSealAcceptance`) adopts a seal of a full electorate only once a QC accepted a
 *   proposal of that seal naming that very electorate; the votes it also counts answer the machine's per-voter
 *   questions (who approved, who can no longer approve), which drive promises and re-proposal. A node that catches up
 *   takes the QC (its signed votes, each checked, under the snapshot it names) instead of re-tallying training votes.
 * - A voter lost for good (round/electorate.ts): once the creator's record reduces a round's electorate, the aggregator
 *   also proposes each seal of the attempts it covers to the reduced electorate, and members vote yes there on what
 *   they approved. The machine adopts under the reduced electorate only by that proposal's QC (and all its members'
 *   approvals: a QC may hold only 2/3 of it).
 */
import { VerifiedMajority, type SealAcceptanceSnapshot, type SealBallot, type SealOutcome, type SealRef, type VoteReceipt } from '../../consensus/index.js'
import type { Logger } from '../../common/logger.js'
import type { RoundSeal, SealVote } from '../protocol/messages.js'
import type { TrainingProposals } from './hyperparams-kind.js'
import type { RoundAcceptance } from '../round/index.js'
import { MODEL_UPDATE_KIND, ModelUpdatePayloadSchema, modelUpdateKind, proposesSeal, refKey, sameElectorate, sealPayload, type ModelUpdatePayload } from './seal-kind.js'
import type { ProposalKind } from '../../consensus/index.js'

/** Bounds on what the bridge remembers (oldest first out). */
const MAX_REFS = 4096
const MAX_SEALS_PER_REF = 4

/** At most one catch-up request per this long (consensus's sync joins a request while one runs anyway). */
const CATCH_UP_EVERY_MS = 5000

/** What the bridge uses of consensus (the node passes its consensus service). */
export type SealProposals = Pick<TrainingProposals, 'create' | 'list' | 'vote' | 'catchUp'>

/** What the bridge reads of the node's jobs. */
export interface SealVotingHost {
  proposals: SealProposals
  /** Wake a job's machine (a QC arrived: it adopts at this step). */
  poke: (jobId: string) => void
  logger: Logger
  /** The clock of the catch-up rate limit (tests); default Date.now. */
  now?: () => number
}

/**
 * Where the job's machine stood when it published (read in the same step); `reduced`: the creator's record for that
 * round (round/electorate.ts), from whose attempt on all of its electorate is a quorum too.
 */
export interface RoundAt {
  round: number
  electorate: readonly string[]
  sealTimeoutMs: number
  reduced?: { fromAttempt: number, electorate: readonly string[] }
}

/** The machine's vote on one seal reference, with what it approved (and the reduced electorate it may name). */
interface Ballot { approve: boolean, seal?: RoundSeal, electorate?: string[], reduced?: string[] }

/** The reduced electorate that applies to `attempt` of the round `at` stands in, if any. */
const reducedFor = (at: RoundAt, round: number, attempt: number): readonly string[] | undefined =>
  at.round === round && at.reduced != null && attempt >= at.reduced.fromAttempt ? at.reduced.electorate : undefined

/** Whether `sub` could be a creator's reduced electorate of `full`: a subset holding at least half of it. */
const couldReduce = (sub: readonly string[], full: readonly string[]): boolean =>
  sub.length > 0 && sub.length < full.length && 2 * sub.length >= full.length && sub.every(p => full.includes(p))

const remember = <K, V>(m: Map<K, V>, k: K, v: V): void => {
  m.delete(k)
  m.set(k, v)
  if (m.size > MAX_REFS) m.delete(m.keys().next().value as K)
}

/** The bridge (see the module comment); one per node. */
export class SealVoting {
  /** Seal reference -> ids of proposals of it. */
  private readonly byRef = new Map<string, Set<string>>()
  private readonly payloads = new Map<string, ModelUpdatePayload>()
  private readonly accepted = new Set<string>()
  /** Distinct seals seen per reference (an aggregator that equivocates shows several). */
  private readonly seals = new Map<string, RoundSeal[]>()
  private readonly ballots = new Map<string, Ballot>()
  private lastCatchUp = -Infinity

  constructor (private readonly h: SealVotingHost) {}

  /** The kind to register with consensus. */
  kind (): ProposalKind<typeof ModelUpdatePayloadSchema> {
    return modelUpdateKind({
      index: (id, p) => { this.index(id, p) },
      assess: p => this.assess(p),
      adopt: (id, p) => {
        this.index(id, p)
        if (this.accepted.has(id)) return
        this.accepted.add(id)
        this.h.poke(p.jobId)
      }
    })
  }

  /** Read back the proposals consensus holds (at start, before the machines resume). */
  load (): void {
    for (const v of this.h.proposals.list({ kind: MODEL_UPDATE_KIND })) {
      const p = v.payload as ModelUpdatePayload
      this.index(v.id, p)
      if (v.status === 'accepted') this.accepted.add(v.id)
    }
  }

  /** A job's acceptance: consensus QCs for full electorates, the machine's counted votes for single voters. */
  acceptance (): RoundAcceptance {
    return new ConsensusSealAcceptance((ref, electorate) => this.qcAccepted(ref, electorate))
  }

  /** A seal seen on the training topic or published here (kept to tell what a later vote approved). */
  noteSeal (seal: RoundSeal): void {
    this.maybeCatchUp(seal)
    const key = refKey(seal)
    const list = this.seals.get(key) ?? []
    if (list.some(s => JSON.stringify(s) === JSON.stringify(seal)) || list.length >= MAX_SEALS_PER_REF) return
    remember(this.seals, key, [...list, seal])
  }

  /** The machine published a seal: propose it to the round's electorate when it is the round in progress here. */
  async onOwnSeal (seal: RoundSeal, job: RoundAt): Promise<void> {
    this.noteSeal(seal)
    this.noteReduced(job)
    // a seal of an earlier round re-sent to a straggler was proposed (and decided) back then
    if (job.round !== seal.round || job.electorate.length === 0) return
    // to the round's electorate, and, where the creator's record applies, to its reduced electorate as well (all of
    // which is then a quorum too: round/electorate.ts); each electorate adopts only by a QC naming it
    const reduced = reducedFor(job, seal.round, seal.attempt)
    for (const electorate of reduced == null ? [job.electorate] : [job.electorate, reduced]) await this.propose(seal, electorate, job.sealTimeoutMs)
  }

  private async propose (seal: RoundSeal, electorate: readonly string[], sealTimeoutMs: number): Promise<void> {
    const ids = this.byRef.get(refKey(seal)) ?? new Set()
    if ([...ids].some(id => { const p = this.payloads.get(id); return p != null && sameElectorate(p, electorate) })) return
    const ttlSeconds = Math.max(30, Math.ceil(8 * sealTimeoutMs / 1000))
    try {
      const { id } = await this.h.proposals.create({ kind: MODEL_UPDATE_KIND, payload: sealPayload(seal, electorate), ttlSeconds })
      this.h.logger.debug({ job: seal.jobId, round: seal.round, attempt: seal.attempt, proposal: id, electorate: electorate.length }, 'seal proposed to consensus')
    } catch (err) {
      this.h.logger.warn({ job: seal.jobId, round: seal.round, err: (err as Error).message }, 'proposing a seal to consensus failed')
    }
  }

  /** The machine voted on a seal: the same verdict becomes this node's consensus vote on its proposals. */
  async onOwnVote (vote: SealVote, job: RoundAt): Promise<void> {
    this.noteReduced(job)
    const key = refKey(vote)
    const seen = this.seals.get(key) ?? []
    const ballot: Ballot = { approve: vote.approve }
    // an approval binds the one seal it approved; an aggregator that equivocated leaves it unbound (votes no)
    if (seen.length === 1) ballot.seal = seen[0]
    if (job.round === vote.round) ballot.electorate = [...job.electorate]
    const reduced = reducedFor(job, vote.round, vote.attempt)
    if (reduced != null) ballot.reduced = [...reduced]
    remember(this.ballots, key, ballot)
    for (const id of this.byRef.get(key) ?? []) {
      const p = this.payloads.get(id)
      if (p == null) continue
      const verdict = this.assess(p)
      if (verdict.pending === true) continue
      await this.h.proposals.vote(id, verdict.valid ? 'yes' : 'no').catch((err: Error) => {
        this.h.logger.debug({ proposal: id, err: err.message }, 'consensus vote on a seal not cast')
      })
    }
  }

  /**
   * The kind's automatic verdict: the machine's vote on exactly this seal, under the round's electorate or the reduced
   * electorate of the creator's record for that attempt. A proposal naming what could be such a reduced electorate that
   * we hold no record of yet waits (the creator's record may reach us later; consensus asks again at its tick).
   */
  assess (p: ModelUpdatePayload): { valid: boolean, pending?: boolean } {
    const b = this.ballots.get(refKey(p))
    if (b == null) return { valid: false, pending: true }
    if (!b.approve || b.seal == null || b.electorate == null || !proposesSeal(p, b.seal)) return { valid: false }
    if (sameElectorate(p, b.electorate) || (b.reduced != null && sameElectorate(p, b.reduced))) return { valid: true }
    if (b.reduced == null && couldReduce(p.electorate, b.electorate)) return { valid: false, pending: true }
    return { valid: false }
  }

  /** A later step of the job's machine learned the creator's record for a round we voted in: our ballots there name it. */
  noteReduced (job: RoundAt): void {
    if (job.reduced == null) return
    for (const [key, b] of this.ballots) {
      if (b.reduced != null || b.electorate == null) continue
      const [jobId, round, attempt] = key.split('\n')
      if (b.seal?.jobId !== jobId || Number(round) !== job.round) continue
      const reduced = reducedFor(job, job.round, Number(attempt))
      if (reduced != null) b.reduced = [...reduced]
    }
  }

  /** Whether a QC accepted a proposal of this seal naming exactly this electorate. */
  qcAccepted (ref: SealRef, electorate: readonly string[]): boolean {
    for (const id of this.byRef.get(refKey(ref)) ?? []) {
      const p = this.payloads.get(id)
      if (this.accepted.has(id) && p != null && sameElectorate(p, electorate)) return true
    }
    return false
  }

  /**
   * Seals adopt only by QCs, which reach a node by gossip or by consensus's sync. A node that was away (restarted) gets
   * the seals it missed re-sent by its peers (round/intake.ts helpStraggler), but a QC finalized while it was not yet in
   * the topic mesh reaches it only at consensus's next stalled-sync, a minute or more later. A seal of a later round
   * while we hold one of a round below it with no accepted proposal here says we are behind: ask consensus to sync now.
   */
  private maybeCatchUp (seal: RoundSeal): void {
    if (this.behind(seal)) this.catchUp(seal.jobId, seal.round, 'behind on seal certificates')
  }

  /**
   * A round of ours needs another attempt: the QC that decided it may exist elsewhere (a node that was away when it
   * formed finds its peers past the round, re-sending the seal of the round it is in, which `behind` cannot tell).
   */
  stalled (jobId: string, round: number): void {
    this.catchUp(jobId, round, 'round stalled')
  }

  /** Ask consensus to sync now, at most once per CATCH_UP_EVERY_MS. */
  private catchUp (jobId: string, round: number, why: string): void {
    const catchUp = this.h.proposals.catchUp
    if (catchUp == null) return
    const now = (this.h.now ?? Date.now)()
    if (now - this.lastCatchUp < CATCH_UP_EVERY_MS) return
    this.lastCatchUp = now
    this.h.logger.debug({ job: jobId, round }, `${why}: consensus sync requested`)
    catchUp.call(this.h.proposals).catch((err: Error) => { this.h.logger.debug({ err: err.message }, 'consensus sync for seal certificates failed') })
  }

  /** Whether we hold a seal of `seal`'s job, of a round below it, while no proposal of that round is accepted here. */
  behind (seal: Pick<RoundSeal, 'jobId' | 'round'>): boolean {
    const certified = new Set<number>()
    for (const id of this.accepted) {
      const p = this.payloads.get(id)
      if (p?.jobId === seal.jobId) certified.add(p.round)
    }
    for (const list of this.seals.values()) {
      const s = list[0]
      if (s.jobId === seal.jobId && s.round < seal.round && !certified.has(s.round)) return true
    }
    return false
  }

  /** Proposals of this node's jobs known here: how many, and how many a QC accepted (for tests and logs). */
  counts (): { proposals: number, accepted: number } {
    return { proposals: this.payloads.size, accepted: this.accepted.size }
  }

  private index (id: string, p: ModelUpdatePayload): void {
    if (this.payloads.has(id)) return
    const key = refKey(p)
    remember(this.payloads, id, p)
    const ids = this.byRef.get(key) ?? new Set()
    ids.add(id)
    remember(this.byRef, key, ids)
  }
}

/**
 * The round machine's acceptance when seals go through consensus. It certifies (round/types.ts RoundAcceptance): the
 * machine adopts a seal only with a QC naming the electorate it adopts under, a creator's reduced one included.
 * `outcome` over an electorate of two or more is
 * `accepted` only once a QC accepted a proposal of the seal naming that electorate (`rejected` when a majority of it
 * voted against, as the machine's promises need); over one voter it is that voter's counted vote, which the machine
 * asks to tell who approved and who can no longer approve. Votes, prune and snapshots are the counted votes'.
 */
export class ConsensusSealAcceptance implements RoundAcceptance {
  private readonly votes = new VerifiedMajority()

  constructor (private readonly qcAccepted: (ref: SealRef, electorate: readonly string[]) => boolean) {}

  onVote (vote: SealBallot, from: string): VoteReceipt { return this.votes.onVote(vote, from) }

  /** A QC accepted a proposal of this seal naming exactly this electorate (any size: a reduced one too). */
  certified (ref: SealRef, electorate: readonly string[]): boolean { return this.qcAccepted(ref, electorate) }

  outcome (ref: SealRef, electorate: readonly string[]): SealOutcome {
    if (electorate.length <= 1) return this.votes.outcome(ref, electorate)
    if (this.qcAccepted(ref, electorate)) return 'accepted'
    return this.votes.outcome(ref, electorate) === 'rejected' ? 'rejected' : 'pending'
  }

  prune (jobId: string, belowRound: number): void { this.votes.prune(jobId, belowRound) }
  snapshot (): SealAcceptanceSnapshot { return this.votes.snapshot() }
  restore (snapshot: SealAcceptanceSnapshot): void { this.votes.restore(snapshot) }
}
