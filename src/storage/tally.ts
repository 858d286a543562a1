/**
 * The registry's entry counts by location, kept in memory (loaded once at start) so that metrics and `usage()` never
 * scan the registry, and the storage gauges they feed. It also keeps, per entry, whether it is local and its record's
 * seq: a peer's announcement is told new or duplicate without a Level read (every receipt used to read the registry).
 */
import type { StorageMetrics } from './metrics.js'
import type { ArtifactRegistry, RegistryEntry } from './registry.js'
import type { ArtifactBlockstore } from './types.js'

/** Counts of local (pinned here) and remote (known from announcements) registry entries. */
export interface ArtifactCounts { local: number, remote: number }

/** What the tally keeps per registry entry (by CID). */
export interface KnownEntry { local: boolean, seq: number }

/** In-memory registry counts and the gauges derived from them and from the blockstore. */
export class ArtifactTally {
  private readonly counts: ArtifactCounts = { local: 0, remote: 0 }
  private readonly known = new Map<string, KnownEntry>()

  constructor (private readonly blockstore: Pick<ArtifactBlockstore, 'usedBytes' | 'quotaBytes'>, private readonly metrics?: StorageMetrics) {}

  /** Read the registry once (at start). */
  async load (registry: Pick<ArtifactRegistry, 'entries'>): Promise<void> {
    this.counts.local = this.counts.remote = 0
    this.known.clear()
    for await (const e of registry.entries()) {
      this.known.set(e.meta.cid, { local: e.local, seq: e.seq })
      this.counts[e.local ? 'local' : 'remote']++
    }
  }

  /** The registry entry of `cid` as last committed, if any. */
  entry (cid: string): KnownEntry | undefined {
    return this.known.get(cid)
  }

  /** A copy of the counts. */
  snapshot (): ArtifactCounts {
    return { ...this.counts }
  }

  /** Entries known from peers' announcements (bounded by `maxRemoteEntries`). */
  get remote (): number {
    return this.counts.remote
  }

  /** Account for `after` replacing `before` (undefined: a new entry) once the write has been committed. */
  replace (before: KnownEntry | undefined, after: RegistryEntry): void {
    if (before != null) this.counts[before.local ? 'local' : 'remote']--
    this.counts[after.local ? 'local' : 'remote']++
    this.known.set(after.meta.cid, { local: after.local, seq: after.seq })
  }

  /** Push the current figures to the gauges. */
  refresh (): void {
    if (this.metrics == null) return
    this.metrics.usedBytes.set(this.blockstore.usedBytes)
    this.metrics.quotaBytes.set(this.blockstore.quotaBytes)
    this.metrics.artifacts.set({ location: 'local' }, this.counts.local)
    this.metrics.artifacts.set({ location: 'remote' }, this.counts.remote)
  }
}
