/**
 * The epoch chain's safety rule: a lock on content. Pure; no clock.
 *
 * Epoch e may be attempted several times (a proposal that expired or was rejected is followed by another leader's), and
 * attempts differ in content (each leader lists what it holds final). A single round of yes votes finalizes, so the
 * rule that keeps two attempts from both reaching a QC has to hold for every yes vote ever signed, whenever it is
 * delivered and whatever time it claims:
 *
 *   **An honest member signs yes on epoch-e proposals of one content only** (the CID of the payload's canonical
 *   encoding: epoch, previous hash and every listed record, so the content fixes the new table). Once it signed yes on
 *   content C for epoch e, it signs yes on another attempt of e only when that attempt carries C again, and never on
 *   other content: not after C's proposal expired, not after a restart (its own stored votes are the lock).
 *
 * Why that is safe: a QC needs yes from at least 2/3 of the snapshot's weight W (3·yes >= 2·W), and both attempts of
 * epoch e are tallied under the same snapshot (e-1; honest members vote no on any other). Two QCs on different
 * contents would share signers of at least W/3 of the weight; byzantine members hold less than W/3, so one shared
 * signer is honest and signed yes on two contents, which the rule forbids (a signer seen doing so is slashed: its two
 * votes with the two proposals are evidence, service/evidence.ts). Hence at most one content of epoch e ever has a QC,
 * and every node that finalizes epoch e (by its own tally, a late vote, or a QC synced in catch-up) applies the same
 * table. Vote timestamps (a backdated vote, a vote delivered after expiry) no longer matter for safety: the
 * expiry only keeps tallies tidy.
 *
 * Liveness: the leader of a later attempt re-proposes locked content (`reproposal`): its own lock, else the content
 * with the most yes weight it can itself vote for, so voters locked on it can complete a QC. A node that finalized
 * epoch e serves its QC to the others in catch-up. What one round of votes cannot do is unlock: if two contents each
 * hold more than 1/3 of the weight in locks and neither has a QC (a partition leaving both sides below 2/3 for longer
 * than an attempt's TTL), epoch e waits; a second voting phase (Tendermint's prevote/precommit) would be needed to
 * unlock safely.
 */

/** One attempt at an epoch as the rule sees it. */
export interface EpochAttempt {
  /** The proposal id. */
  id: string
  /** The epoch it would finalize (its payload's `epoch`). */
  epoch: number
  /** Its content key (the CID of its payload's canonical encoding). */
  content: string
  createdAt: number
  /** The voters whose signed yes vote on it is held here, whenever signed. */
  yes: readonly string[]
}

/** The contents `voter` signed yes on for `epoch`, sorted (an honest voter has at most one). */
export function backedContents (attempts: Iterable<EpochAttempt>, voter: string, epoch: number): string[] {
  const out = new Set<string>()
  for (const a of attempts) if (a.epoch === epoch && a.yes.includes(voter)) out.add(a.content)
  return [...out].sort()
}

/** Whether `voter` may sign yes on `content` for `epoch`: only when it signed yes on no other content of that epoch. */
export function mayBack (attempts: Iterable<EpochAttempt>, voter: string, epoch: number, content: string): boolean {
  return backedContents(attempts, voter, epoch).every(c => c === content)
}

/**
 * Voters that signed yes on two or more contents of one epoch, with those contents: provable misbehaviour (the signed
 * votes are the proof); a QC on a conflicting content needs them.
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
 * The content the leader of a new attempt at `epoch` re-proposes, or undefined to build fresh content: its own lock
 * when it has one (the only content it may vote yes on); otherwise, among contents it would vote yes on (`valid`), the
 * one whose distinct yes voters weigh most (ties: the earliest attempt, then the smaller key), so that voters locked on
 * it can complete a QC. Contents nobody backed are not re-proposed.
 */
export function reproposal (attempts: readonly EpochAttempt[], epoch: number, leader: string,
  weights: ReadonlyMap<string, bigint>, valid: (content: string) => boolean): string | undefined {
  const mine = backedContents(attempts, leader, epoch)
  if (mine.length > 0) return mine[0]
  const support = new Map<string, { voters: Set<string>, first: number }>()
  for (const a of attempts) {
    if (a.epoch !== epoch || a.yes.length === 0) continue
    const s = support.get(a.content) ?? { voters: new Set<string>(), first: a.createdAt }
    for (const v of a.yes) s.voters.add(v)
    s.first = Math.min(s.first, a.createdAt)
    support.set(a.content, s)
  }
  let best: { content: string, weight: bigint, first: number } | undefined
  for (const [content, s] of support) {
    let weight = 0n
    for (const v of s.voters) weight += weights.get(v) ?? 0n
    if (weight === 0n || !valid(content)) continue
    const better = best == null || weight > best.weight || (weight === best.weight && (s.first < best.first || (s.first === best.first && content < best.content)))
    if (better) best = { content, weight, first: s.first }
  }
  return best?.content
}

/**
 * How a node treats an epoch-e proposal that reached a QC, given the content it already finalized for epoch e
 * (undefined: none yet): `adopt` it, ignore it as the `same` content, or report a `conflict` (it proves that voters
 * of at least 1/3 of the weight signed yes on both contents: the byzantine bound was broken, see the module comment).
 */
export function settleEpochQc (finalized: string | undefined, content: string): 'adopt' | 'same' | 'conflict' {
  if (finalized == null) return 'adopt'
  return finalized === content ? 'same' : 'conflict'
}
