/**
 * Equivocation evidence as the service builds it: pairs in one order (so every node names a pair by the same id),
 * and the double-backs found among the epoch attempts held here (two yes votes, or two prevotes, of one voter on two
 * contents in one round of one epoch: core/epoch-lock.ts's rule broken, proven by the votes and the proposals).
 */
import { sameRoundConflict } from '../core/epoch-lock.js'
import { attemptedEpoch, type Evidence } from '../protocol/schemas.js'
import type { Entry } from './entry.js'
import type { EpochAttempts } from './epoch-attempts.js'

/** Evidence pairs in one order (smaller vote envelope first, a double-back's proposals with their votes). */
export const ServiceEvidence = {
  of (e: Evidence): Evidence {
    const keep = Buffer.compare(Buffer.from(e.first), Buffer.from(e.second)) <= 0
    const [first, second] = keep ? [e.first, e.second] : [e.second, e.first]
    if (e.proposals == null) return { first, second }
    return { first, second, proposals: keep ? [e.proposals[0], e.proposals[1]] : [e.proposals[1], e.proposals[0]] }
  }
}

/** Finds double-backs as votes on epoch attempts arrive; reports each voter once per epoch and phase. */
export class DoubleBacks {
  private readonly reported = new Set<string>()

  constructor (private readonly entries: ReadonlyMap<string, Entry>, private readonly attempts: () => EpochAttempts) {}

  /**
   * After `voter`'s yes (`prevote`: its prevote) on `e` was kept: the evidence (unsigned, in order) when `e` attempts
   * an epoch on which the voter's vote of the same phase on other content in the same round is held here
   * (core/epoch-lock.ts `sameRoundConflict`) and this pair was not reported before; undefined otherwise.
   */
  check (e: Entry, voter: string, prevote = false): Evidence | undefined {
    const epoch = attemptedEpoch(e.proposal)
    const key = `${voter} ${epoch ?? ''} ${prevote ? 'p' : 'y'}`
    if (epoch == null || this.reported.has(key)) return undefined
    const attempts = this.attempts().of(epoch)
    const self = attempts.find(a => a.id === e.id)
    const other = self == null ? undefined : attempts.find(a => sameRoundConflict(a, self) && (prevote ? a.prevotes : a.yes).includes(voter))
    const o = other != null ? this.entries.get(other.id) : undefined
    const voteOf = (x: Entry): Uint8Array | undefined => prevote ? x.prevotes.get(voter)?.bytes : x.votes.get(voter)?.find(v => v.choice === 'yes')?.bytes
    const mine = voteOf(e)
    const theirs = o != null ? voteOf(o) : undefined
    if (o == null || mine == null || theirs == null) return undefined
    this.reported.add(key)
    return ServiceEvidence.of({ first: mine, second: theirs, proposals: [e.bytes, o.bytes] })
  }
}
