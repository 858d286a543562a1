/**
 * The epoch proposals a node holds, as the voting rule (core/epoch-lock.ts) reads them: per epoch, each attempt's
 * content key, round, and the voters whose signed prevote and yes on it are held here. This node's own votes are among
 * them, read back from the state store at start, so its lock and rounds survive a restart.
 */
import { cidOf } from '../protocol/canonical.js'
import { doubleBackers, settleEpochQc, type EpochAttempt } from '../core/epoch-lock.js'
import type { Entry } from './entry.js'
import { attemptedEpoch } from '../protocol/schemas.js'

/** Epoch attempts over the service's entries, with their content keys cached by proposal id. */
export class EpochAttempts {
  private readonly keys = new Map<string, string>()

  constructor (private readonly entries: ReadonlyMap<string, Entry>) {}

  /** An epoch proposal's content key: the CID of its payload's canonical encoding. */
  content (e: Entry): string {
    let k = this.keys.get(e.id)
    if (k == null) { k = cidOf(e.proposal.payload); this.keys.set(e.id, k) }
    return k
  }

  /** Every attempt at `epoch` held here. */
  of (epoch: number): EpochAttempt[] {
    for (const id of this.keys.keys()) if (!this.entries.has(id)) this.keys.delete(id) // pruned
    const out: EpochAttempt[] = []
    for (const e of this.entries.values()) {
      if (attemptedEpoch(e.proposal) !== epoch) continue
      const yes = [...e.votes].filter(([, list]) => list.some(v => v.choice === 'yes')).map(([voter]) => voter)
      out.push({ id: e.id, epoch, content: this.content(e), createdAt: e.proposal.createdAt, prevotes: [...e.prevotes.keys()], yes })
    }
    return out
  }

  /**
   * The conflict between the epoch-`epoch` proposal `finalizedId` (final here) and an accepted proposal `id` of other
   * content (a QC on each: the byzantine bound was broken), with the voters whose yes on both is held here; undefined
   * when there is none (the same content, or the finalized proposal pruned).
   */
  conflict (finalizedId: string | undefined, epoch: number, id: string, payload: unknown): { epoch: number, finalized: string, conflicting: string, doubleSigners: string[] } | undefined {
    const finalized = finalizedId != null ? this.entries.get(finalizedId) : undefined
    if (finalizedId == null || finalizedId === id || finalized == null) return undefined
    const other = this.entries.get(id)
    const content = other != null ? this.content(other) : cidOf(payload)
    if (settleEpochQc(this.content(finalized), content) !== 'conflict') return undefined
    return { epoch, finalized: finalizedId, conflicting: id, doubleSigners: [...doubleBackers(this.of(epoch), epoch).keys()] }
  }

  /** The attempt at `epoch` with content key `content` held here (the earliest), for its payload. */
  find (epoch: number, content: string): Entry | undefined {
    let best: Entry | undefined
    for (const e of this.entries.values()) {
      if (attemptedEpoch(e.proposal) !== epoch || this.content(e) !== content) continue
      if (best == null || e.proposal.createdAt < best.proposal.createdAt) best = e
    }
    return best
  }
}
