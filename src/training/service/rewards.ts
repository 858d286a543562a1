/**
 * Training rewards, the training side: a rewarded job (`spec.reward`) pays its contributors FTNS by vouchers after
 * each accepted round. Training owns what is about rounds (who earned what: `core/payouts.ts`, from the accepted
 * seal, identical on every node) and the wire (`payee` and `voucher` messages on the training topic); the chain work
 * (locking, signing, verifying, redeeming) is behind `RewardsPort`, which the node wires to the ledger service, so
 * training never imports the ledger.
 *
 * Flow: the creator's node reserves the total in the vault at creation. Contributors name their chain address
 * (`payee`, signed by their peer key) when they join and again while they are owed a voucher they do not hold. After
 * each accepted round the creator pays each contributor with a known address (`RewardsPort.payRound`: exactly once per
 * job, round and provider) and publishes the signed voucher; a contributor's node checks it (`RewardsPort.receive`:
 * the EIP-712 signature of the job's payer, higher than what it holds) and redeems in batches when worthwhile. When
 * the job is over and every contributor is paid, the creator returns the rest of the reserve to its free balance.
 *
 * With a live consensus (`proposals`, and an electorate to accept proposals) the creator first proposes each round's
 * payouts as a `reward-payout` proposal and signs that round's vouchers only once it is accepted (`release`, called
 * by the kind's executor); where consensus answers ERR_UNAVAILABLE it pays right after the round, as without it.
 */
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import { TrainingError } from '../errors.js'
import type { TrainingEvents } from '../events.js'
import { formatWei18 } from '../core/payouts.js'
import type { PayeeMessage, RewardVoucher, TrainingMessage } from '../protocol/messages.js'
import type { CreateJobRequest } from '../protocol/requests.js'
import type { JobSpec, RewardSpec } from '../protocol/job-schema.js'
import type { TrainingState } from './components.js'
import type { JobRuntime, RewardBook } from './runtime.js'
import type { TrainingProposals } from './hyperparams-kind.js'
import { REWARD_PAYOUT_KIND, rewardPayoutPayload, samePayouts, type RewardPayoutPayload } from '../protocol/reward-payout.js'
import type { RoundReport } from './api-types.js'

/** A voucher as the chain needs it (amounts in wei, decimal strings). */
export interface SignedVoucher { payer: string, provider: string, salt: string, cumulativeAmount: string, r: string, vs: string }

/**
 * What training needs of a ledger to pay and be paid (the node wires it to the ledger service). Every method throws
 * a MeshError with a 4xx kind when it cannot serve (ledger off, not ready, short of funds, bad amount).
 */
export interface RewardsPort {
  /** This node's chain address (payer of its jobs, payee of others'). */
  address: () => string
  /** Parse a decimal FTNS amount into wei (`name` names the field in the error). */
  parseAmount: (input: unknown, name: string) => bigint
  /** Lock `totalWei` of the free vault balance for job `jobId`, exactly once per job; refuses when the balance is short. */
  reserve: (jobId: string, totalWei: bigint) => Promise<void>
  /** Pay one round's payouts of job `jobId` from its reserve, exactly once per (job, round, provider); vouchers in item order. */
  payRound: (p: { jobId: string, round: number, items: Array<{ provider: string, wei: bigint }> }) => Promise<SignedVoucher[]>
  /** The job is over: what its reserve did not pay returns to the free balance (idempotent). */
  closeJob: (jobId: string) => Promise<void>
  /** A voucher for this node arrived: true when it is valid and new (kept for redemption). */
  receive: (v: SignedVoucher) => Promise<boolean>
  /** Redeem held vouchers when worthwhile (`force`: now, e.g. the job is over or the payer asked). */
  redeem: (opts?: { force?: boolean }) => Promise<void>
}

const SUB = 'rewards'
/** How often the bridge retries what is pending (payments, payee requests, redemptions). */
const TICK_MS = 3000
/** A `reward-payout` proposal stays open this long; one not accepted by then is proposed again. */
export const PAYOUT_PROPOSAL_TTL_S = 300

/** The training side of rewards. */
export class RewardsBridge {
  private readonly chains = new Map<string, Promise<void>>()
  /** Books read at start, attached to their jobs on first use. */
  private readonly loaded = new Map<string, RewardBook>()
  /** Steps queued or running per job (the retry tick adds none while one is pending). */
  private readonly inflight = new Map<string, number>()
  private timer?: NodeJS.Timeout
  /** When this node last proposed a round's payouts, by `job/round` (re-proposed once that proposal expired). */
  private readonly proposed = new Map<string, number>()
  /** Jobs paid without proposals: consensus answered that it cannot accept any (no electorate). */
  private readonly direct = new Set<string>()

  constructor (private readonly c: {
    self: string
    port?: RewardsPort
    /** Consensus, where the node runs it: round payouts go through `reward-payout` proposals when it is live. */
    proposals?: Pick<TrainingProposals, 'create'>
    state: TrainingState
    jobs: () => JobRuntime[]
    job: (id: string) => JobRuntime | undefined
    publish: (msg: TrainingMessage) => Promise<void>
    events: EventSink<TrainingEvents>
    logger: Logger
  }) {}

  /** Read the persisted books (before the runner resumes jobs, whose replayed rounds may pay). */
  async load (): Promise<void> {
    for await (const [id, book] of this.c.state.sublevel<RewardBook>(SUB).iterator()) this.loaded.set(id, book)
  }

  /** Attach the persisted books to their jobs and start retrying what is pending. */
  async start (): Promise<void> {
    for (const job of this.c.jobs()) if (job.spec.reward != null) this.book(job)
    if (this.c.port == null) return
    this.timer = setInterval(() => { this.tick() }, TICK_MS)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.chains.values()])
  }

  /** The spec's reward for a create request (undefined when it has none); refuses when no ledger can pay. */
  rewardOf (req: CreateJobRequest): RewardSpec | undefined {
    if (req.reward == null) return undefined
    const port = this.c.port
    if (port == null) throw new TrainingError('ERR_JOB', 'this node has no ledger to pay rewards from')
    const totalWei = port.parseAmount(req.reward.total, 'reward.total')
    if (totalWei === 0n) throw new TrainingError('ERR_BOUNDS', 'reward.total must be greater than zero')
    return { totalWei: totalWei.toString(), payer: port.address() }
  }

  /** Lock the reward of a job created here (before it is announced: a refusal announces nothing). */
  async reserve (spec: JobSpec): Promise<void> {
    if (spec.reward == null || this.c.port == null) return
    await this.c.port.reserve(spec.id, BigInt(spec.reward.totalWei))
  }

  /** A round was accepted or the job ended: the creator pays; a contributor names its address. */
  onRound (job: JobRuntime): void {
    if (job.spec.reward == null || this.c.port == null) return
    if (job.spec.creator === this.c.self) this.serial(job, async () => await this.payPending(job))
    else if (this.owedAndMissing(job) > 0n) void this.announcePayee(job)
  }

  /** This node joined a rewarded job: name the address its vouchers pay. */
  onJoin (job: JobRuntime): void {
    if (job.spec.reward != null && job.spec.creator !== this.c.self) void this.announcePayee(job)
  }

  /** A `payee` or `voucher` message of a known job. */
  onMessage (job: JobRuntime, from: string, msg: PayeeMessage | RewardVoucher): void {
    const reward = job.spec.reward
    if (reward == null || this.c.port == null) return
    if (msg.type === 'payee') {
      if (job.spec.creator !== this.c.self || from === this.c.self) return
      const book = this.book(job)
      if (book.payees[from] == null) {
        book.payees[from] = msg.address
        this.serial(job, async () => { await this.save(job) })
      }
      // the payee asks again while it misses a voucher: send what it is owed (again)
      for (const v of book.vouchers) if (v.peerId === from && v.direction === 'sent') void this.c.publish(this.wire(job, v)).catch(() => {})
      this.serial(job, async () => await this.payPending(job))
      return
    }
    if (msg.peerId !== this.c.self || from !== job.spec.creator || msg.payer.toLowerCase() !== reward.payer.toLowerCase()) return
    this.serial(job, async () => await this.take(job, msg))
  }

  private async take (job: JobRuntime, msg: RewardVoucher): Promise<void> {
    const port = this.c.port as RewardsPort
    const book = this.book(job)
    if (book.vouchers.some(v => v.round === msg.round && v.direction === 'received' && BigInt(v.voucher.cumulativeAmount) >= BigInt(msg.cumulativeAmount))) return
    const voucher: SignedVoucher = { payer: msg.payer, provider: msg.provider, salt: msg.salt, cumulativeAmount: msg.cumulativeAmount, r: msg.r, vs: msg.vs }
    if (!await port.receive(voucher)) return
    book.vouchers = book.vouchers.filter(v => !(v.round === msg.round && v.direction === 'received'))
    book.vouchers.push({ round: msg.round, peerId: this.c.self, amountWei: msg.cumulativeAmount, direction: 'received', voucher })
    await this.save(job)
    this.c.events.emit('training.reward', { jobId: job.spec.id, round: msg.round, peerId: this.c.self, amount: formatWei18(BigInt(msg.cumulativeAmount)), direction: 'received' })
    this.c.logger.info({ job: job.spec.id, round: msg.round, amount: formatWei18(BigInt(msg.cumulativeAmount)) }, 'received a reward voucher')
    await port.redeem({ force: msg.settle === true || this.over(job) }).catch(err => { this.c.logger.warn({ err: (err as Error).message }, 'redeeming reward vouchers failed; retrying') })
  }

  /** The creator pays every payout of an accepted round whose payee it knows; then, once all is paid and the job is over, closes the reserve. */
  private async payPending (job: JobRuntime): Promise<void> {
    const book = this.book(job)
    let unpaid = 0
    // reports are replaced (not appended) as rounds are measured: pay until a pass saw the newest list
    let seen: JobRuntime['reports'] | undefined
    while (seen !== job.reports) {
      seen = job.reports
      unpaid = 0
      for (const report of seen) {
        const due: Array<{ peerId: string, provider: string, wei: string }> = []
        const outstanding = (report.payouts ?? []).filter(p => p.peerId !== this.c.self && BigInt(p.wei) !== 0n &&
          !book.vouchers.some(v => v.direction === 'sent' && v.round === report.round && v.peerId === p.peerId))
        if (outstanding.length === 0) continue
        // with a live consensus, a round's vouchers wait for its accepted `reward-payout` proposal
        if (!await this.released(job, report)) { unpaid += outstanding.length; continue }
        for (const p of outstanding) {
          const provider = book.payees[p.peerId]
          if (provider == null) unpaid++
          else due.push({ peerId: p.peerId, provider, wei: p.wei })
        }
        if (due.length > 0) await this.payRound(job, report.round, due)
      }
    }
    if (unpaid === 0 && this.over(job) && book.closed !== true) {
      await (this.c.port as RewardsPort).closeJob(job.spec.id)
      book.closed = true
      await this.save(job)
      this.c.logger.info({ job: job.spec.id }, 'every contributor paid: the rest of the reward reserve is free again')
    }
  }

  /**
   * Whether the creator may sign this round's vouchers: always without a live consensus; with one, once an accepted
   * proposal released exactly these payouts (proposed here when none is open).
   */
  private async released (job: JobRuntime, report: RoundReport): Promise<boolean> {
    const proposals = this.c.proposals
    if (proposals == null || this.direct.has(job.spec.id)) return true
    const approved = this.book(job).approved?.[String(report.round)]
    if (approved != null) {
      if (samePayouts(approved, report.payouts ?? [])) return true
      this.c.logger.warn({ job: job.spec.id, round: report.round }, 'the accepted reward payouts differ from this node\'s: the round is not paid')
      return false
    }
    const key = `${job.spec.id}/${report.round}`
    const last = this.proposed.get(key)
    if (last != null && Date.now() < last + PAYOUT_PROPOSAL_TTL_S * 1000 + TICK_MS) return false
    const payload = rewardPayoutPayload(job.spec.id, report)
    if (payload == null) return false
    try {
      const { id } = await proposals.create({ kind: REWARD_PAYOUT_KIND, payload, ttlSeconds: PAYOUT_PROPOSAL_TTL_S })
      this.proposed.set(key, Date.now())
      this.c.logger.info({ job: job.spec.id, round: report.round, proposal: id }, 'proposed the round\'s reward payouts')
      return false
    } catch (err) {
      // no electorate (the genesis names no pre-trusted peer): consensus cannot accept proposals, so pay directly
      if ((err as { code?: string }).code === 'ERR_UNAVAILABLE') {
        this.direct.add(job.spec.id)
        this.c.logger.info({ job: job.spec.id, err: (err as Error).message }, 'consensus cannot accept proposals: reward payouts are paid without them')
        return true
      }
      this.c.logger.warn({ job: job.spec.id, round: report.round, err: (err as Error).message }, 'proposing the round\'s reward payouts failed; retrying')
      return false
    }
  }

  /**
   * An accepted `reward-payout` proposal (the kind's executor, on every node): the job's creator records the round
   * as released and pays it. Idempotent; other nodes have nothing to do.
   */
  async release (payload: RewardPayoutPayload, proposalId: string): Promise<void> {
    const job = this.c.job(payload.jobId)
    if (job == null || job.spec.creator !== this.c.self || job.spec.reward == null) return
    const book = this.book(job)
    const key = String(payload.round)
    // only payouts equal to this node's own release a round (a proposal accepted with others, or before this node
    // adopted the round's seal, releases nothing: its own proposal, re-raised after expiry, will)
    const own = job.reports.find(r => r.round === payload.round)?.payouts
    if (own == null || !samePayouts(payload.payouts, own)) {
      this.c.logger.warn({ job: job.spec.id, round: payload.round, proposal: proposalId }, 'accepted reward payouts differ from this node\'s own: not released')
      return
    }
    if (book.approved?.[key] == null) {
      book.approved = { ...book.approved, [key]: payload.payouts.map(p => ({ peerId: p.peerId, wei: p.wei })) }
      await this.save(job)
      this.c.logger.info({ job: job.spec.id, round: payload.round, proposal: proposalId }, 'reward payouts accepted by consensus')
    }
    if (this.c.port != null) this.serial(job, async () => await this.payPending(job))
  }

  private async payRound (job: JobRuntime, round: number, due: Array<{ peerId: string, provider: string, wei: string }>): Promise<void> {
    const vouchers = await (this.c.port as RewardsPort).payRound({ jobId: job.spec.id, round, items: due.map(d => ({ provider: d.provider, wei: BigInt(d.wei) })) })
    const entries = due.map((d, i) => ({ round, peerId: d.peerId, amountWei: d.wei, direction: 'sent' as const, voucher: vouchers[i] }))
    this.book(job).vouchers.push(...entries)
    await this.save(job)
    for (const e of entries) {
      await this.c.publish(this.wire(job, e)).catch(() => {})
      this.c.events.emit('training.reward', { jobId: job.spec.id, round, peerId: e.peerId, amount: formatWei18(BigInt(e.amountWei)), direction: 'sent' })
      this.c.logger.info({ job: job.spec.id, round, peer: e.peerId, amount: formatWei18(BigInt(e.amountWei)) }, 'paid a reward voucher')
    }
  }

  private wire (job: JobRuntime, v: RewardBook['vouchers'][number]): RewardVoucher {
    return { type: 'voucher', jobId: job.spec.id, round: v.round, peerId: v.peerId, ...v.voucher, ...(v.round === job.spec.rounds - 1 ? { settle: true } : {}) }
  }

  /** What this contributor's accepted rounds earned that it holds no voucher for. */
  private owedAndMissing (job: JobRuntime): bigint {
    const book = job.rewards
    let missing = 0n
    for (const r of job.reports) {
      const mine = r.payouts?.find(p => p.peerId === this.c.self)
      if (mine == null || BigInt(mine.wei) === 0n) continue
      if (book?.vouchers.some(v => v.direction === 'received' && v.round === r.round) !== true) missing += BigInt(mine.wei)
    }
    return missing
  }

  private async announcePayee (job: JobRuntime): Promise<void> {
    try {
      await this.c.publish({ type: 'payee', jobId: job.spec.id, address: (this.c.port as RewardsPort).address() })
    } catch (err) {
      this.c.logger.debug({ job: job.spec.id, err: (err as Error).message }, 'cannot name a payee address yet')
    }
  }

  /** Retry what is pending: payments (creator), payee requests and redemptions (contributors). */
  private tick (): void {
    let active = false
    for (const job of this.c.jobs()) {
      if (job.spec.reward == null || job.rewards?.closed === true || (this.inflight.get(job.spec.id) ?? 0) > 0) continue
      if (job.spec.creator === this.c.self) {
        if (job.reports.some(r => r.payouts != null)) this.serial(job, async () => await this.payPending(job))
        continue
      }
      const missing = this.owedAndMissing(job)
      if (missing > 0n && (job.join != null || job.reports.length > 0)) void this.announcePayee(job)
      if (job.rewards?.vouchers.some(v => v.direction === 'received') !== true) continue
      if (!this.over(job)) { active = true; continue }
      // the job is over: redeem now; once nothing is missing either, this job needs no more ticks
      this.serial(job, async () => {
        await (this.c.port as RewardsPort).redeem({ force: true })
        if (missing === 0n) { this.book(job).closed = true; await this.save(job) }
      })
    }
    // running jobs: redeem when worthwhile or near a lock's expiry (the port decides)
    if (active) void this.c.port?.redeem().catch(() => {})
  }

  /** The job is over and its last accepted round is reported (the machine finishes before the reports catch up). */
  private over (job: JobRuntime): boolean {
    if (job.stopped != null) return true
    const v = job.machine.view()
    return v.phase === 'finished' && job.reports.some(r => r.round === v.round - 1)
  }

  private book (job: JobRuntime): RewardBook {
    job.rewards ??= this.loaded.get(job.spec.id) ?? { payees: {}, vouchers: [] }
    return job.rewards
  }

  private async save (job: JobRuntime): Promise<void> {
    if (job.rewards != null) await this.c.state.sublevel<RewardBook>(SUB).put(job.spec.id, job.rewards)
  }

  /** One chain step at a time per job (payments must not race: each draws from the job's reserve in turn). */
  private serial (job: JobRuntime, fn: () => Promise<void>): void {
    const id = job.spec.id
    this.inflight.set(id, (this.inflight.get(id) ?? 0) + 1)
    const next = (this.chains.get(id) ?? Promise.resolve()).then(fn).catch(err => {
      this.c.logger.warn({ job: id, err: (err as Error).message }, 'reward step failed; retrying')
    }).finally(() => { this.inflight.set(id, (this.inflight.get(id) ?? 1) - 1) })
    this.chains.set(id, next)
  }
}
