/** Garbage collection: delete every block no pin references, then compact so the disk space comes back now. */
import type { CID } from 'multiformats/cid'
import type { GcResult } from './api-schemas.js'
import type { ArtifactBlockstore, ArtifactHelia } from './types.js'

/** Run with nothing writing unpinned blocks (the artifact store holds its lock exclusively around it). */
export async function collectGarbage (blockstore: Pick<ArtifactBlockstore, 'entries' | 'delete' | 'compact'>, pins: ArtifactHelia['pins'], options: { signal?: AbortSignal } = {}): Promise<GcResult> {
  const doomed: Array<{ cid: CID, size: number }> = []
  for await (const e of blockstore.entries(options)) {
    if (!await pins.isPinned(e.cid, options)) doomed.push(e)
  }
  let freedBytes = 0
  for (const { cid, size } of doomed) {
    options.signal?.throwIfAborted()
    await blockstore.delete(cid, options)
    freedBytes += size
  }
  // LevelDB only drops deleted values at compaction: force it, or `du` would not move for a long time
  if (doomed.length > 0) await blockstore.compact()
  return { freedBytes, removedBlocks: doomed.length }
}
