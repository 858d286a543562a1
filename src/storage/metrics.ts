/**
 * Storage metrics (`meshnode_storage_*`) on the node's prom-client Registry. Labels are bounded enums.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The storage metrics (`meshnode_storage_*`), injected into the artifact store. */
export interface StorageMetrics {
  usedBytes: Gauge
  quotaBytes: Gauge
  artifacts: Gauge<'location'>
  adds: Counter<'result'>
  addedBytes: Counter
  fetches: Counter<'result'>
  fetchedBytes: Counter
  announcements: Counter<'result'>
  gcRuns: Counter
  gcFreedBytes: Counter
  addSeconds: Histogram
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the storage metrics. */
export function createStorageMetrics (registry: Registry): StorageMetrics {
  const registers = [registry]
  return {
    usedBytes: get(registry, 'meshnode_storage_used_bytes', () => new Gauge({ name: 'meshnode_storage_used_bytes', help: 'Bytes of blocks stored', registers })),
    quotaBytes: get(registry, 'meshnode_storage_quota_bytes', () => new Gauge({ name: 'meshnode_storage_quota_bytes', help: 'Blockstore quota in bytes', registers })),
    artifacts: get(registry, 'meshnode_storage_artifacts', () => new Gauge({ name: 'meshnode_storage_artifacts', help: 'Registry entries by location (local: pinned here, remote: known from announcements)', labelNames: ['location'], registers })),
    adds: get(registry, 'meshnode_storage_adds_total', () => new Counter({ name: 'meshnode_storage_adds_total', help: 'Artifact adds by result', labelNames: ['result'], registers })),
    addedBytes: get(registry, 'meshnode_storage_added_bytes_total', () => new Counter({ name: 'meshnode_storage_added_bytes_total', help: 'Bytes added as artifacts', registers })),
    fetches: get(registry, 'meshnode_storage_fetches_total', () => new Counter({ name: 'meshnode_storage_fetches_total', help: 'Artifact reads and pins by result', labelNames: ['result'], registers })),
    fetchedBytes: get(registry, 'meshnode_storage_fetched_bytes_total', () => new Counter({ name: 'meshnode_storage_fetched_bytes_total', help: 'Artifact bytes read (local or from peers)', registers })),
    announcements: get(registry, 'meshnode_storage_announcements_total', () => new Counter({ name: 'meshnode_storage_announcements_total', help: 'Artifact announcements published or remembered', labelNames: ['result'], registers })),
    gcRuns: get(registry, 'meshnode_storage_gc_runs_total', () => new Counter({ name: 'meshnode_storage_gc_runs_total', help: 'Garbage collections run', registers })),
    gcFreedBytes: get(registry, 'meshnode_storage_gc_freed_bytes_total', () => new Counter({ name: 'meshnode_storage_gc_freed_bytes_total', help: 'Bytes freed by garbage collection', registers })),
    addSeconds: get(registry, 'meshnode_storage_add_duration_seconds', () => new Histogram({ name: 'meshnode_storage_add_duration_seconds', help: 'Duration of successful artifact adds', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers }))
  }
}
