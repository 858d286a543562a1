/**
 * Views of Helia's blockstore that note which blocks an operation touches: an add records what it writes (to delete
 * it again if the add fails), a pin records what it reads (a whole-file read touches every block of the DAG, which is
 * then pinned in one batch). Blocks written by adds still in progress are counted, so a failing add never deletes a
 * block a concurrent add of the same content still needs.
 */
import type { unixfs } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'

/** The blockstore slice @helia/unixfs uses. */
export type UnixFSBlockstore = Parameters<typeof unixfs>[0]['blockstore']

/** Hands out recording views of a blockstore and counts the blocks of adds still in progress. */
export class BlockTracker {
  private readonly active = new Map<string, number>()

  constructor (private readonly inner: UnixFSBlockstore) {}

  /** A view that appends every block written to `written` and marks it active until `release(written)`. */
  writes (written: CID[]): UnixFSBlockstore {
    const inner = this.inner
    return {
      has: async (cid, options) => await inner.has(cid, options),
      get: (cid, options) => inner.get(cid, options),
      put: async (cid, block, options) => {
        const s = cid.toString()
        written.push(cid)
        this.active.set(s, (this.active.get(s) ?? 0) + 1)
        return await inner.put(cid, block, options)
      }
    }
  }

  /** A view that appends every block read to `read`. */
  reads (read: CID[]): UnixFSBlockstore {
    const inner = this.inner
    return {
      has: async (cid, options) => await inner.has(cid, options),
      put: async (cid, block, options) => await inner.put(cid, block, options),
      get: (cid, options) => { read.push(cid); return inner.get(cid, options) }
    }
  }

  /** Whether another operation in progress has written this block too. */
  sharedWithOthers (cid: CID): boolean {
    return (this.active.get(cid.toString()) ?? 0) > 1
  }

  /** The operation that wrote `written` is over. */
  release (written: CID[]): void {
    for (const cid of written) {
      const s = cid.toString()
      const n = (this.active.get(s) ?? 1) - 1
      if (n <= 0) this.active.delete(s)
      else this.active.set(s, n)
    }
  }
}
