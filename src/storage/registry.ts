/**
 * The artifact registry in the `artifacts` sublevel of the state store (JSON values):
 *
 *   a/<cid>  -> RegistryEntry      signed metadata + whether the whole DAG is pinned here (`local`)
 *   p/<id>   -> PendingMarker      an add / pin / unpin in progress; whatever a crash leaves behind is repaired at open
 *
 * Invariant: an entry with `local: true` exists only once every block of its DAG is stored and pinned. Entries with
 * `local: false` are artifacts we know of (a peer's announcement, or one we unpinned) and claim no blocks.
 */
import type { StateOp, StateSublevel } from './level.js'
import type { ArtifactMeta } from './protocol/artifact-record.js'
import type { ArtifactFilter, ArtifactInfo } from './api-schemas.js'
import type { ArtifactStateStore } from './types.js'
import { SUBLEVELS } from './constants.js'

/** What the registry keeps per artifact. */
export interface RegistryEntry {
  meta: ArtifactMeta
  /** The signed record (base64 envelope) the metadata came from. */
  record: string
  seq: number
  /** Every block is stored and pinned here. */
  local: boolean
  /** When we first learned of it (ms). */
  receivedAt: number
}

/** An entry as the API and CLI show it: the signed metadata, the record and whether it is stored here. */
export function entryInfo (e: RegistryEntry): ArtifactInfo {
  return { ...e.meta, signature: e.record, local: e.local }
}

/** An operation in progress; `cid` is known once the DAG has been imported (add) or from the start (pin/unpin). */
export interface PendingMarker {
  op: 'add' | 'pin' | 'unpin'
  cid?: string
  startedAt: number
}

const ENTRY = 'a/'
const PENDING = 'p/'

/** The registry's reads and its atomic writes (ops built here, committed together with the caller's). */
export class ArtifactRegistry {
  private readonly sub: StateSublevel<any>

  constructor (private readonly state: ArtifactStateStore) {
    this.sub = state.sublevel(SUBLEVELS.artifacts)
  }

  async get (cid: string, options?: { signal?: AbortSignal }): Promise<RegistryEntry | undefined> {
    options?.signal?.throwIfAborted()
    return await this.sub.get(ENTRY + cid) as RegistryEntry | undefined
  }

  async * entries (options?: { signal?: AbortSignal }): AsyncGenerator<RegistryEntry> {
    for await (const value of this.sub.values({ gte: ENTRY, lt: ENTRY + '\uffff' })) {
      options?.signal?.throwIfAborted()
      yield value as RegistryEntry
    }
  }

  /** Entries matching the filter, newest first. */
  async list (filter: ArtifactFilter = {}, options?: { signal?: AbortSignal }): Promise<RegistryEntry[]> {
    const out: RegistryEntry[] = []
    for await (const e of this.entries(options)) {
      const m = e.meta
      if (filter.kind != null && m.kind !== filter.kind) continue
      if (filter.name != null && m.name !== filter.name) continue
      if (filter.producer != null && m.producer !== filter.producer) continue
      if (filter.job != null && m.job !== filter.job) continue
      if (filter.round != null && m.round !== filter.round) continue
      if (filter.local != null && e.local !== filter.local) continue
      out.push(e)
    }
    out.sort((a, b) => b.meta.createdAt - a.meta.createdAt || (a.meta.cid < b.meta.cid ? -1 : 1))
    return filter.limit != null ? out.slice(0, filter.limit) : out
  }

  /** Counts by locality. */
  async counts (): Promise<{ local: number, remote: number }> {
    let local = 0
    let remote = 0
    for await (const e of this.entries()) {
      if (e.local) local++
      else remote++
    }
    return { local, remote }
  }

  putEntry (entry: RegistryEntry): StateOp {
    return { type: 'put', sublevel: SUBLEVELS.artifacts, key: ENTRY + entry.meta.cid, value: entry as any }
  }

  putPending (id: string, marker: PendingMarker): StateOp {
    return { type: 'put', sublevel: SUBLEVELS.artifacts, key: PENDING + id, value: marker as any }
  }

  delPending (id: string): StateOp {
    return { type: 'del', sublevel: SUBLEVELS.artifacts, key: PENDING + id }
  }

  async getPending (id: string): Promise<PendingMarker | undefined> {
    return await this.sub.get(PENDING + id) as PendingMarker | undefined
  }

  async pending (): Promise<Array<[string, PendingMarker]>> {
    const out: Array<[string, PendingMarker]> = []
    for await (const [key, value] of this.sub.iterator({ gte: PENDING, lt: PENDING + '\uffff' })) {
      out.push([key.slice(PENDING.length), value as PendingMarker])
    }
    return out
  }

  async commit (ops: StateOp[], options?: { signal?: AbortSignal }): Promise<void> {
    await this.state.atomic(ops, options)
  }
}
