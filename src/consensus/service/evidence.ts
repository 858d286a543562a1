/**
 * Equivocation evidence as the service builds it: pairs in one order (so every node names a pair by the same id),
 * and the double-backs found among the epoch attempts held here (two yes votes of one voter on two contents of one
 * epoch: core/epoch-lock.ts's rule broken, proven by the votes and the proposals they back).
 */
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

/** Finds double-backs as yes votes on epoch attempts arrive; reports each voter once per epoch. */
export class DoubleBacks {
  private readonly reported = new Set<string>()

  constructor (private readonly entries: ReadonlyMap<string, Entry>, private readonly attempts: () => EpochAttempts) {}

  /**
   * After `voter`'s yes on `e` was kept: the evidence (unsigned, in order) when `e` attempts an epoch on which the
   * voter's yes on other content is held here and this pair was not reported before; undefined otherwise.
   */
  check (e: Entry, voter: string): Evidence | undefined {
    const epoch = attemptedEpoch(e.proposal)
    const key = `${voter} ${epoch ?? ''}`
    if (epoch == null || this.reported.has(key)) return undefined
    const attempts = this.attempts()
    const content = attempts.content(e)
    const other = attempts.of(epoch).find(a => a.content !== content && a.yes.includes(voter))
    const o = other != null ? this.entries.get(other.id) : undefined
    const yesOf = (x: Entry): Uint8Array | undefined => x.votes.get(voter)?.find(v => v.choice === 'yes')?.bytes
    const mine = yesOf(e)
    const theirs = o != null ? yesOf(o) : undefined
    if (o == null || mine == null || theirs == null) return undefined
    this.reported.add(key)
    return ServiceEvidence.of({ first: mine, second: theirs, proposals: [e.bytes, o.bytes] })
  }
}
