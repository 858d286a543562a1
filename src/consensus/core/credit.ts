/**
 * Work credit across the epoch chain: which listed seals `weights(e+1)` may credit. Pure and deterministic, so every
 * node that applies the same epochs (live, after a restart's replay, or syncing from genesis) credits the same work.
 *
 * The state is a credit ledger carried from epoch to epoch beside the reputation table: per job, the rounds already
 * credited with their credited contributors over a window of the last `CREDIT_WINDOW_ROUNDS` rounds, and the seals
 * parked until their previous round is credited. An epoch's seal records, with the parked ones, are taken job by job,
 * rounds ascending (whatever their order in the epoch), and a (job, round) is credited when all of these hold:
 *
 * 1. **Once per (job, round).** It was not credited by an earlier epoch. Two QC'd attempts of one round (or one seal)
 *    listed in different epochs credit only the first epoch's. Several seals of one round credited in the same step
 *    credit the union of their contributors, each once (as the transition always did).
 * 2. **Inside the window.** The round is not more than `CREDIT_WINDOW_ROUNDS` below the highest round credited for
 *    the job (a seal listed that late credits nothing): the ledger stays bounded however long the chain grows.
 * 3. **Ancestry (the packed-electorate check).** A seal that names its electorate (training's `model-update` does,
 *    through its kind's `work` hook) of round r >= 1: every electorate member must be a credited contributor of r-1.
 *    Training's rule is exactly that (the electorate of round r is the previous adopted seal's contributors; a
 *    creator's reduced electorate is a subset of it), so an honest seal passes, and an aggregator with a colluding
 *    electorate cannot name a packed electorate for a round of a job whose history the chain holds. A refused seal
 *    does not take the round: the honest seal of that round may still credit. While r-1 is not credited yet, the seal
 *    is parked (at most `CREDIT_PARKED_PER_JOB` per job) and judged in the step that credits r-1: listing round r
 *    before r-1 (a leader that omits r-1) gains nothing.
 *
 * Decided and documented limits: round 0 has no ancestry (its electorate is the job's participants, which only
 * training sees), so its seal credits unchecked; a seal without an electorate (older epochs; kinds that name none)
 * skips the ancestry check; a job's round adopted without a QC (never listed) leaves its later rounds parked. What a
 * credited round is worth to whom is the transition's (epoch.ts): identities on probation earn together at most what
 * the round's established contributors earn, so a colluder's own job (round 0 unchecked) cannot farm credit for any
 * number of fresh identities; it credits them together what it credits the colluder.
 */
import { canonicalBytes, sha256 } from '../protocol/canonical.js'
import { nextWeights, type EpochRecords, type EpochTransition } from './epoch.js'
import type { ReputationParams } from './params.js'
import type { ReputationTable } from './weights.js'

/** Rounds of one job the ledger remembers below its highest credited round (older seals credit nothing). */
export const CREDIT_WINDOW_ROUNDS = 64
/** Seals of one job parked at most, waiting for their previous round (beyond: dropped, lowest rounds kept). */
export const CREDIT_PARKED_PER_JOB = 64

/** A listed seal as the credit rule reads it. */
export interface CreditSeal {
  jobId: string
  round: number
  contributors: readonly string[]
  /** The peers whose QC accepted it (its kind's electorate); absent where the kind names none or in older epochs. */
  electorate?: readonly string[]
}

/** A seal waiting in the ledger for its round r-1 to be credited. */
export interface ParkedSeal {
  round: number
  contributors: readonly string[]
  electorate: readonly string[]
}

/** One job's line in the ledger. */
export interface JobCredit {
  /** Rounds below this credit nothing (the window's floor). */
  below: number
  /** Credited rounds (>= below) -> their credited contributors, sorted. */
  rounds: ReadonlyMap<number, readonly string[]>
  /** Parked seals, sorted by round, then contributors, then electorate; distinct. */
  parked: readonly ParkedSeal[]
}

/** The credit ledger: the part of the chain's state the work rule needs. Immutable: a step returns a new one. */
export interface CreditLedger {
  jobs: ReadonlyMap<string, JobCredit>
}

/**
 * What became of a listed seal in its epoch's step: credited; parked (r-1 not credited yet; judged again later);
 * or credited nothing: its round was already credited, it is outside the window, its electorate is not within r-1's
 * contributors, or the job's parking is full.
 */
export type CreditVerdict = 'credited' | 'parked' | 'already-credited' | 'outside-window' | 'electorate' | 'dropped'

/** The outcome of one epoch's credit step. */
export interface CreditStep {
  /** What the transition credits: one record per credited (job, round), contributors the union, sorted. */
  credited: Array<{ jobId: string, round: number, contributors: string[] }>
  /** Every listed seal's verdict, in the order given. */
  verdicts: CreditVerdict[]
  ledger: CreditLedger
}

/** The empty ledger (genesis). */
export const emptyCreditLedger: CreditLedger = { jobs: new Map() }

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const sortedDistinct = (xs: readonly string[]): string[] => [...new Set(xs)].sort(byCodeUnit)
const listKey = (xs: readonly string[]): string => xs.join(',')

/** A candidate of one step: a parked seal (`at` -1) or the epoch's seal number `at`. */
interface Candidate extends ParkedSeal { at: number, electorateNamed: boolean }

const byRoundThenContent = (a: Candidate, b: Candidate): number =>
  a.round - b.round || byCodeUnit(listKey(a.contributors), listKey(b.contributors)) || byCodeUnit(listKey(a.electorate), listKey(b.electorate)) ||
  Number(a.electorateNamed) - Number(b.electorateNamed)

/** One job's step: its parked seals and this epoch's, rounds ascending. */
function stepJob (prior: JobCredit | undefined, fresh: Candidate[], verdicts: CreditVerdict[], window: number): { job: JobCredit, credited: Array<{ round: number, contributors: string[] }> } {
  let below = prior?.below ?? 0
  const rounds = new Map(prior?.rounds ?? [])
  const all: Candidate[] = [...(prior?.parked ?? []).map(p => ({ ...p, at: -1, electorateNamed: true })), ...fresh].sort(byRoundThenContent)
  const credited: Array<{ round: number, contributors: string[] }> = []
  const parked: Candidate[] = []
  const verdict = (c: Candidate, v: CreditVerdict): void => { if (c.at >= 0) verdicts[c.at] = v }
  let i = 0
  while (i < all.length) {
    const round = all[i].round
    const group: Candidate[] = []
    for (; i < all.length && all[i].round === round; i++) group.push(all[i])
    if (rounds.has(round)) { for (const c of group) verdict(c, 'already-credited'); continue }
    if (round < below) { for (const c of group) verdict(c, 'outside-window'); continue }
    const parent = round >= 1 ? rounds.get(round - 1) : undefined
    const union = new Set<string>()
    const waiting: Candidate[] = []
    for (const c of group) {
      if (!c.electorateNamed || round === 0) { verdict(c, 'credited'); for (const p of c.contributors) union.add(p); continue }
      if (parent === undefined) { waiting.push(c); continue }
      if (!c.electorate.every(p => parent.includes(p))) { verdict(c, 'electorate'); continue }
      verdict(c, 'credited')
      for (const p of c.contributors) union.add(p)
    }
    if (union.size === 0) {
      for (const c of waiting) { verdict(c, 'parked'); parked.push(c) }
      continue
    }
    // a seal without an electorate credited the round: the waiting ones of it can no longer credit
    for (const c of waiting) verdict(c, 'already-credited')
    const contributors = [...union].sort(byCodeUnit)
    rounds.set(round, contributors)
    credited.push({ round, contributors })
    below = Math.max(below, round - window + 1)
  }
  for (const r of rounds.keys()) if (r < below) rounds.delete(r)
  // distinct, inside the window, lowest rounds first up to the cap (the sort order, so every node keeps the same)
  const kept: ParkedSeal[] = []
  const seen = new Set<string>()
  for (const c of parked) {
    const key = `${c.round}\n${listKey(c.contributors)}\n${listKey(c.electorate)}`
    if (c.round < below || rounds.has(c.round)) { verdict(c, 'outside-window'); continue }
    if (seen.has(key)) continue
    if (kept.length >= CREDIT_PARKED_PER_JOB) { verdict(c, 'dropped'); continue }
    seen.add(key)
    kept.push({ round: c.round, contributors: c.contributors, electorate: c.electorate })
  }
  return { job: { below, rounds, parked: kept }, credited }
}

/** Apply one epoch's listed seals to the ledger (see the module comment for the rule). */
export function creditSeals (ledger: CreditLedger, seals: readonly CreditSeal[], window = CREDIT_WINDOW_ROUNDS): CreditStep {
  const verdicts: CreditVerdict[] = new Array<CreditVerdict>(seals.length)
  const byJob = new Map<string, Candidate[]>()
  seals.forEach((s, at) => {
    const list = byJob.get(s.jobId) ?? []
    list.push({ round: s.round, contributors: sortedDistinct(s.contributors), electorate: sortedDistinct(s.electorate ?? []), electorateNamed: s.electorate !== undefined, at })
    byJob.set(s.jobId, list)
  })
  const jobs = new Map(ledger.jobs)
  const credited: CreditStep['credited'] = []
  for (const jobId of [...byJob.keys()].sort(byCodeUnit)) {
    const step = stepJob(ledger.jobs.get(jobId), byJob.get(jobId) ?? [], verdicts, window)
    jobs.set(jobId, step.job)
    for (const c of step.credited) credited.push({ jobId, ...c })
  }
  return { credited, verdicts, ledger: { jobs } }
}

/**
 * The ledger's canonical bytes: `[[jobId, below, [[round, [contributor, ...]], ...], [[round, [contributor, ...],
 * [elector, ...]], ...]], ...]`, all sorted.
 */
export function creditLedgerBytes (ledger: CreditLedger): Uint8Array {
  const rows = [...ledger.jobs.entries()].sort(([a], [b]) => byCodeUnit(a, b))
    .map(([job, c]) => [job, c.below, [...c.rounds.entries()].sort(([a], [b]) => a - b).map(([r, cs]) => [r, [...cs]]),
      c.parked.map(p => [p.round, [...p.contributors], [...p.electorate]])])
  return canonicalBytes(rows)
}

/** The ledger's hash, lowercase hex SHA-256 of its canonical bytes: nodes that applied the same epochs hold the same. */
export function creditLedgerHash (ledger: CreditLedger): string {
  return Buffer.from(sha256(creditLedgerBytes(ledger))).toString('hex')
}

/** The chain's state after an epoch: the reputation table and the credit ledger. */
export interface ChainState {
  table: ReputationTable
  credits: CreditLedger
}

/**
 * One epoch step: the credit rule picks the work `nextWeights` may count (once per (job, round), ancestry checked),
 * then the transition runs on it. Every node applies this same step, live, at a restart's replay and when syncing.
 */
export function epochStep (state: ChainState, records: EpochRecords, params: ReputationParams): EpochTransition & { credits: CreditLedger, verdicts: CreditVerdict[] } {
  const step = creditSeals(state.credits, records.seals)
  const transition = nextWeights(state.table, { ...records, seals: step.credited }, params)
  return { ...transition, credits: step.ledger, verdicts: step.verdicts }
}

/** Replay a chain of epochs from `start` with the credit rule (what a newcomer or a restarted node computes). */
export function replayChain (start: ChainState, history: readonly EpochRecords[], params: ReputationParams): ChainState {
  let state = start
  for (const records of history) {
    const step = epochStep(state, records, params)
    state = { table: step.table, credits: step.credits }
  }
  return state
}
