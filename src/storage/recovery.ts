/**
 * Crash safety of adds, pins and unpins. Each writes a pending marker (registry `p/<id>`) before its first block or
 * pin write and deletes it in the same batch as its final registry write; whatever a failure or a crash leaves
 * marked is undone here (at once after a failure, at the next start after a crash): partial pins are released and
 * the blocks the operation wrote that nothing pins are deleted.
 */
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { releasePin } from './pins.js'
import type { BlockTracker } from './block-tracking.js'
import type { ArtifactRegistry } from './registry.js'
import type { ArtifactHelia, ArtifactStores } from './types.js'

/** A fresh id for a pending marker. */
export function operationId (): string {
  return randomBytes(8).toString('hex')
}

/** What undoing an operation touches. */
export interface RecoveryComponents {
  registry: Pick<ArtifactRegistry, 'get' | 'getPending' | 'pending' | 'delPending' | 'commit'>
  storage: Pick<ArtifactStores, 'datastore' | 'blockstore'>
  pins: ArtifactHelia['pins']
  /** Blocks written by adds still in progress, which a failing add must not delete. */
  tracker: Pick<BlockTracker, 'sharedWithOthers'>
}

/** Undoes unfinished operations. */
export class Recovery {
  constructor (private readonly c: RecoveryComponents) {}

  /** Undo whatever pending markers a crash left; returns how many there were. */
  async recoverAll (options: { signal?: AbortSignal } = {}): Promise<number> {
    const pending = await this.c.registry.pending()
    for (const [id] of pending) await this.abandon(id, [], options)
    return pending.length
  }

  /**
   * Undo an unfinished operation: unless its CID has a local entry (then the pin is legitimately held), drop the pin
   * and every pinned-block reference to it, delete the blocks this add wrote that nothing pins, and the marker.
   */
  async abandon (id: string, written: CID[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const { registry, storage } = this.c
    const marker = await registry.getPending(id)
    if (marker?.cid != null) {
      const entry = await registry.get(marker.cid)
      if (entry?.local !== true) await releasePin(storage.datastore, CID.parse(marker.cid), options)
    }
    for (const cid of written) {
      if (this.c.tracker.sharedWithOthers(cid)) continue
      if (!await this.c.pins.isPinned(cid)) await storage.blockstore.delete(cid)
    }
    if (marker != null) await registry.commit([registry.delPending(id)])
  }
}
