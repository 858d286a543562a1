/**
 * The `epoch` kind: the chain itself. An epoch proposal for epoch e+1 names the hash of table e and lists, sorted, the
 * proposals finalized (accepted, past their veto window, executed) and equivocation evidence, one per offence not yet
 * listed by an earlier epoch, with the work those proposals credit (training's accepted seals and their contributors,
 * by the kind's `work` hook). A member votes yes only when it holds every listed record itself, finalized, and credits the same work;
 * its QC under epoch e's weights finalizes the epoch, and `weights(e+1) = nextWeights(weights(e), records(e))`.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { EpochRecords, OutcomeRecord, EquivocationRecord, SealRecord } from '../core/epoch.js'
import type { PolicyVerdict } from '../core/policy.js'
import { CidStringSchema, EPOCH_KIND, PeerIdSchema, type Proposal } from '../protocol/schemas.js'
import { reachesQuorum, type ElectorateWeights } from '../core/weights.js'
import type { WorkRecord } from './kinds.js'
import type { EpochChain } from './chain.js'
import type { Entry } from './entry.js'

/** The kind name of the chain's own proposals (defined with the records: double-back evidence names it). */
export { EPOCH_KIND }

/** An epoch proposal's payload. */
export const EpochPayloadSchema = Type.Object({
  epoch: Type.Integer({ minimum: 1, maximum: 2 ** 32 }),
  prev: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'reputation hash of the previous epoch\'s table' }),
  /**
   * The credit ledger's hash after the previous epoch (chain.ts `creditsRef`), absent while it is empty. With `prev`
   * it binds the whole state the transition builds on: a node whose ledger differs votes no at once instead of
   * diverging one epoch later.
   */
  credits: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  /** Each finalized proposal with the voters of its QC (sorted): the chain's agreed record of who voted with it. */
  accepted: Type.Array(Type.Object({ id: CidStringSchema, voters: Type.Array(PeerIdSchema, { minItems: 1, maxItems: 4096 }) }, { additionalProperties: false }), { maxItems: 4096 }),
  evidence: Type.Array(CidStringSchema, { maxItems: 4096 }),
  /**
   * The work credited by listed proposals whose kind names it (training's accepted seals with their contributors),
   * sorted by proposal id; absent when none. The transition counts it, so every node credits the same work.
   */
  seals: Type.Optional(Type.Array(Type.Object({
    id: CidStringSchema,
    jobId: Type.String({ minLength: 1, maxLength: 128 }),
    round: Type.Integer({ minimum: 0, maximum: 2 ** 32 }),
    contributors: Type.Array(PeerIdSchema, { minItems: 1, maxItems: 4096 }),
    /** The electorate whose QC accepted it, where the kind names one: the credit rule's ancestry check (core/credit.ts). */
    electorate: Type.Optional(Type.Array(PeerIdSchema, { minItems: 1, maxItems: 4096 }))
  }, { additionalProperties: false }), { maxItems: 4096 }))
}, { additionalProperties: false })
export type EpochPayload = Static<typeof EpochPayloadSchema>

/** What the epoch logic reads of the service's records. */
export interface EpochView {
  entries: ReadonlyMap<string, Entry>
  /** Evidence id -> the voter and proposal it proves, for evidence verified here. */
  evidence: ReadonlyMap<string, EquivocationRecord & { epoch: number | null }>
  /** Who votes on a proposal, with what weight (its snapshot's electorate, restricted by its kind); default unrestricted. */
  electorateOf?: (p: Proposal) => ElectorateWeights
  /** The work an accepted proposal credits, by its kind (undefined: none, or the kind is not registered here). */
  workOf?: (p: Proposal) => WorkRecord | undefined
}

const isSorted = (xs: readonly string[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] < x)

/** Whether an entry is final and awaits an epoch (accepted, executed, not yet listed, not itself an epoch). */
export function awaitsEpoch (e: Entry): boolean {
  return e.status === 'accepted' && e.executed && e.epoch == null && e.proposal.kind !== EPOCH_KIND
}

/** The payload this node would propose for the next epoch. */
export function buildEpochPayload (chain: EpochChain, view: EpochView): EpochPayload {
  const listed = [...view.entries.values()].filter(awaitsEpoch).sort((a, b) => (a.id < b.id ? -1 : 1))
  const payload: EpochPayload = {
    epoch: chain.epoch + 1,
    prev: chain.hash(),
    ...(chain.creditsRef() != null ? { credits: chain.creditsRef() } : {}),
    accepted: listed.map(e => ({ id: e.id, voters: [...(e.qcVoters ?? [])] })),
    evidence: evidenceToList(view)
  }
  const seals = listed.flatMap(e => { const w = view.workOf?.(e.proposal); return w == null ? [] : [{ id: e.id, ...w, contributors: [...w.contributors], ...(w.electorate != null ? { electorate: [...w.electorate] } : {}) }] })
  // absent when empty: an epoch without work encodes (and is named) as before the field existed
  if (seals.length > 0) payload.seals = seals
  return payload
}

/**
 * An offence is slashed once: a voter's equivocation on one proposal (as verifyEvidence names it). Three conflicting
 * votes make up to three pairs, each its own evidence id, and nodes may build different ones first: an epoch lists
 * one id per offence not listed before (the smallest held), and members refuse one that lists an offence again.
 */
const offence = (ev: EquivocationRecord): string => `${ev.voter} ${ev.proposalId}`
const listedOffences = (view: EpochView): Set<string> =>
  new Set([...view.evidence.values()].filter(ev => ev.epoch != null).map(offence))

/** The evidence ids the next epoch lists: one per offence not listed before, the smallest held. */
function evidenceToList (view: EpochView): string[] {
  const taken = listedOffences(view)
  const ids: string[] = []
  for (const [id, ev] of [...view.evidence].filter(([, ev]) => ev.epoch == null).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = offence(ev)
    if (!taken.has(key)) { taken.add(key); ids.push(id) }
  }
  return ids
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a == null || b == null ? a == null && b == null : a.length === b.length && a.every((c, i) => c === b[i])
const sameWork = (a: { jobId: string, round: number, contributors: readonly string[], electorate?: readonly string[] }, b: WorkRecord): boolean =>
  a.jobId === b.jobId && a.round === b.round && sameList(a.contributors, b.contributors) && sameList(a.electorate, b.electorate)

/** Whether an epoch payload builds on this chain's state: the previous table's hash and the credit ledger's. */
export function followsChain (p: EpochPayload, chain: EpochChain): boolean {
  return p.prev === chain.hash() && p.credits === chain.creditsRef()
}

/**
 * This node's verdict on an epoch proposal: `no` when it contradicts the chain here (wrong epoch, previous hash or credits,
 * unsorted or repeated lists, records already listed), `wait` while it lists records this node does not hold
 * finalized yet (re-checked on every tick), `yes` otherwise.
 */
export function judgeEpoch (p: EpochPayload, snapshot: number, chain: EpochChain, view: EpochView): PolicyVerdict {
  if (p.epoch < chain.epoch + 1 || snapshot < chain.epoch) return 'no'
  if (p.epoch > chain.epoch + 1 || snapshot > chain.epoch) return 'wait'
  if (p.epoch !== snapshot + 1 || !followsChain(p, chain) || !isSorted(p.accepted.map(a => a.id)) || !isSorted(p.evidence)) return 'no'
  for (const { id, voters } of p.accepted) {
    const e = view.entries.get(id)
    if (e != null && (e.epoch != null || e.proposal.kind === EPOCH_KIND || e.status === 'vetoed' || e.status === 'rejected' || e.status === 'expired')) return 'no'
    if (e == null || !awaitsEpoch(e)) return 'wait'
    if (!isSorted(voters)) return 'no'
    // every listed voter's yes vote must be held here, and together they must reach 2/3 of the proposal's electorate
    const weights = view.electorateOf?.(e.proposal) ?? chain.electorate(e.proposal.snapshot)
    let yes = 0n
    for (const voter of voters) {
      if (!(e.votes.get(voter) ?? []).some(v => v.choice === 'yes' && v.seq <= e.proposal.expiresAt)) return 'wait'
      yes += weights.weights.get(voter) ?? 0n
    }
    if (!reachesQuorum(yes, weights.total)) return 'no'
  }
  // the work listed is exactly what the listed proposals' kinds credit: none left out, none added or altered
  const seals = p.seals ?? []
  if (!isSorted(seals.map(x => x.id))) return 'no'
  const byId = new Map(seals.map(x => [x.id, x]))
  for (const { id } of p.accepted) {
    const e = view.entries.get(id)
    if (e == null) return 'wait'
    const work = view.workOf?.(e.proposal)
    const listed = byId.get(id)
    if ((work == null) !== (listed == null)) return 'no'
    if (work != null && listed != null && !sameWork(listed, work)) return 'no'
    byId.delete(id)
  }
  if (byId.size > 0) return 'no'
  const offences = listedOffences(view)
  for (const id of p.evidence) {
    const ev = view.evidence.get(id)
    if (ev == null) return 'wait'
    if (ev.epoch != null || offences.has(offence(ev))) return 'no'
  }
  return 'yes'
}

/** The transition's input from the listed records (the listed QC voters count as agreeing yes votes). */
export function epochRecords (p: EpochPayload, view: EpochView): EpochRecords {
  const outcomes: OutcomeRecord[] = p.accepted.map(({ id, voters }) => ({ proposalId: id, outcome: 'accepted' as const, votes: voters.map(voter => ({ voter, choice: 'yes' as const })) }))
  const evidence: EquivocationRecord[] = []
  for (const id of p.evidence) {
    const ev = view.evidence.get(id)
    if (ev != null) evidence.push({ voter: ev.voter, proposalId: ev.proposalId })
  }
  // the work as the epoch lists it (agreed by its QC): every node credits it alike, whatever kinds it registered
  // (which the credit rule then filters: once per (job, round), the electorate checked against round r-1; core/credit.ts)
  const seals: SealRecord[] = (p.seals ?? []).map(x => ({ jobId: x.jobId, round: x.round, contributors: x.contributors, ...(x.electorate != null ? { electorate: x.electorate } : {}) }))
  return { seals, outcomes, evidence }
}
