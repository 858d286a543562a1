/**
 * The registry's entry counts by location, kept in memory (loaded once at start) so that metrics and `usage()` never
 * scan the registry, and the storage gauges they feed.
 */
import type { StorageMetrics } from './metrics.js'
import type { ArtifactRegistry, RegistryEntry } from './registry.js'
import type { ArtifactBlockstore } from './types.js'

/** Counts of local (pinned here) and remote (known from announcements) registry entries. */
export interface ArtifactCounts { local: number, remote: number }

/** In-memory registry counts and the gauges derived from them and from the blockstore. */
export class ArtifactTally {
  private readonly counts: ArtifactCounts = { local: 0, remote: 0 }

  constructor (private readonly blockstore: Pick<ArtifactBlockstore, 'usedBytes' | 'quotaBytes'>, private readonly metrics?: StorageMetrics) {}

  /** Count the registry once (at start). */
  async load (registry: Pick<ArtifactRegistry, 'counts'>): Promise<void> {
    Object.assign(this.counts, await registry.counts())
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
  replace (before: RegistryEntry | undefined, after: RegistryEntry): void {
    if (before != null) this.counts[before.local ? 'local' : 'remote']--
    this.counts[after.local ? 'local' : 'remote']++
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
