/**
 * The epoch chain's voting rule: two phases per attempt, as in Tendermint. Pure; no clock.
 *
 * Epoch e may be attempted several times (an attempt that expired is followed by another leader's), and attempts
 * differ in content (the CID of the payload's canonical encoding: epoch, previous hash and every listed record, so the
 * content fixes the new table). An attempt's **round** is its proposal's `createdAt`: rounds are ordered, and every
 * node reads the same round off the same signed proposal. On an attempt a member signs
 *
 *   1. a **prevote** (a vote with `phase: 'prevote'`, gossiped) when it judges the content valid and `mayPrevote`;
 *   2. **yes**, the vote a QC counts, once it holds prevotes of 2/3 of the weight on that attempt (a **polka**) and
 *      `mayBack`. Signing yes **locks** the member on the attempt's content at its round.
 *
 * The rules an honest member keeps, whatever arrives when:
 *   - it prevotes at most once per round, and never in a round below one it already prevoted or signed yes in;
 *   - it signs yes only in a round no lower than every round it prevoted or signed yes in, once per round;
 *   - locked on content L at round lr, it prevotes only L, or content that had a polka in a round after lr and before
 *     the attempt's (the proof that L can no longer reach a QC: 2/3 prevoted elsewhere later).
 *
 * Why that is safe (byzantine weight below W/3): say a QC on content C forms in round r. Its signers hold at least 2/3
 * of W, so honest signers of more than W/3 are locked on C at r. A polka for other content C' in the first later round
 * r' needs prevotes of 2/3 of W, so one of those honest signers prevoted C' at r'; it signed yes at r first (no yes
 * below a round it prevoted in), so it was locked on C at a round in [r, r') when it prevoted, and could prevote C'
 * only on a polka for C' between that round and r', before the first one: impossible. So no later round has a polka
 * for other content, no honest member signs yes on it, and no second QC forms. Two polkas in one round would need an
 * honest member to prevote twice there. Hence at most one content of epoch e ever has a QC, and every node that
 * finalizes epoch e (its own tally, a late vote, or a QC synced in catch-up) applies the same table.
 *
 * Liveness: a member locks only after a polka, so a partition that leaves each side below 2/3 locks nobody, and once
 * it heals the next attempt passes. A lock is released by a later polka on other content. The leader of a new attempt
 * re-proposes the content of the latest polka it holds (`reproposal`), so members locked on it can complete a QC.
 */
import { reachesQuorum, type ElectorateWeights } from './weights.js'

/** One attempt at an epoch as the rule sees it. */
export interface EpochAttempt {
  /** The proposal id. */
  id: string
  /** The epoch it would finalize (its payload's `epoch`). */
  epoch: number
  /** Its content key (the CID of its payload's canonical encoding). */
  content: string
  /** Its round: the proposal's createdAt. */
  createdAt: number
  /** The voters whose signed prevote on it is held here. */
  prevotes: readonly string[]
  /** The voters whose signed yes vote on it (the second phase) is held here. */
  yes: readonly string[]
}

/** Whether the attempt's prevotes held here reach 2/3 of the weight (`weights`: its snapshot's electorate). */
export function hasPolka (a: EpochAttempt, weights: ElectorateWeights): boolean {
  let w = 0n
  for (const v of new Set(a.prevotes)) w += weights.weights.get(v) ?? 0n
  return reachesQuorum(w, weights.total)
}

/** `voter`'s lock on `epoch`: the content and round of its yes vote in the highest round; undefined when none. */
export function lockOf (attempts: Iterable<EpochAttempt>, voter: string, epoch: number): { content: string, round: number } | undefined {
  let lock: { content: string, round: number } | undefined
  for (const a of attempts) {
    if (a.epoch === epoch && a.yes.includes(voter) && (lock == null || a.createdAt > lock.round)) lock = { content: a.content, round: a.createdAt }
  }
  return lock
}

/** The highest round in which `voter` prevoted (`phase` 'prevote') or signed yes on `epoch`; -Infinity when none. */
function lastRound (attempts: Iterable<EpochAttempt>, voter: string, epoch: number, phase: 'prevote' | 'yes'): number {
  let r = -Infinity
  for (const a of attempts) if (a.epoch === epoch && (phase === 'prevote' ? a.prevotes : a.yes).includes(voter)) r = Math.max(r, a.createdAt)
  return r
}

/** Whether `voter` may prevote on `target` (it has not yet): see the module comment. */
export function mayPrevote (attempts: readonly EpochAttempt[], voter: string, target: EpochAttempt, weights: ElectorateWeights): boolean {
  const { epoch, createdAt: round, content } = target
  if (lastRound(attempts, voter, epoch, 'prevote') >= round || lastRound(attempts, voter, epoch, 'yes') > round) return false
  const lock = lockOf(attempts, voter, epoch)
  if (lock == null || lock.content === content) return true
  return attempts.some(b => b.epoch === epoch && b.content === content && b.createdAt > lock.round && b.createdAt < round && hasPolka(b, weights))
}

/** Whether `voter` may sign yes on `target` (it has not yet): a polka on it, and no later round acted in. */
export function mayBack (attempts: readonly EpochAttempt[], voter: string, target: EpochAttempt, weights: ElectorateWeights): boolean {
  const { epoch, createdAt: round } = target
  if (target.yes.includes(voter) || !hasPolka(target, weights)) return false
  return lastRound(attempts, voter, epoch, 'prevote') <= round && lastRound(attempts, voter, epoch, 'yes') < round
}

/**
 * The content the leader of a new attempt at `epoch` re-proposes, or undefined to build fresh content: the content of
 * the latest-round polka it holds among contents it would vote for (`valid`), so members locked on it can finish.
 */
export function reproposal (attempts: readonly EpochAttempt[], epoch: number, weights: ElectorateWeights, valid: (content: string) => boolean): string | undefined {
  let best: EpochAttempt | undefined
  for (const a of attempts) {
    if (a.epoch !== epoch || (best != null && a.createdAt <= best.createdAt) || !hasPolka(a, weights) || !valid(a.content)) continue
    best = a
  }
  return best?.content
}

/**
 * Voters that signed yes on two or more contents of one epoch, with those contents (in different rounds, allowed
 * after a polka released a lock): a QC on conflicting contents for one epoch needs them, and a node that sees one
 * names them.
 */
export function doubleBackers (attempts: Iterable<EpochAttempt>, epoch: number): Map<string, string[]> {
  const by = new Map<string, Set<string>>()
  for (const a of attempts) {
    if (a.epoch !== epoch) continue
    for (const v of a.yes) {
      let set = by.get(v)
      if (set == null) { set = new Set(); by.set(v, set) }
      set.add(a.content)
    }
  }
  const out = new Map<string, string[]>()
  for (const [v, set] of [...by].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (set.size > 1) out.set(v, [...set].sort())
  return out
}

/**
 * Whether two attempts `voter` voted on in one phase prove that it broke the rule: one epoch, one round, different
 * content (an honest member prevotes and signs yes at most once per round).
 */
export function sameRoundConflict (a: EpochAttempt, b: EpochAttempt): boolean {
  return a.epoch === b.epoch && a.createdAt === b.createdAt && a.content !== b.content
}

/**
 * How a node treats an epoch-e proposal that reached a QC, given the content it already finalized for epoch e
 * (undefined: none yet): `adopt` it, ignore it as the `same` content, or report a `conflict` (it proves that voters
 * of at least 1/3 of the weight broke the rule: the byzantine bound was broken, see the module comment).
 */
export function settleEpochQc (finalized: string | undefined, content: string): 'adopt' | 'same' | 'conflict' {
  if (finalized == null) return 'adopt'
  return finalized === content ? 'same' : 'conflict'
}
