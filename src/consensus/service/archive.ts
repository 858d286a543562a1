/**
 * Accepted proposals in the node's IPFS blockstore: a proposal's id is the CID (dag-cbor, sha2-256) of its canonical
 * encoding, so its canonical bytes are put under that id and any IPFS peer can fetch them over bitswap and check them
 * against the id alone. Epoch proposals are proposals too: a finalized epoch is fetchable by its proposal's id.
 * Consensus does not import storage: the node wires the port (`ConsensusBlocks`) to Helia's blockstore and pins what
 * is put, so storage GC keeps it. The Level store stays the working copy (and is pruned, prune.ts); the blockstore is
 * the archive. A put that fails is logged and counted, never fatal: the next start puts what is missing again.
 */
import type { Logger } from '../../common/logger.js'
import type { ConsensusMetrics } from '../metrics.js'
import { blockOf } from '../protocol/canonical.js'
import { proposalContent } from '../protocol/records.js'
import type { Proposal } from '../protocol/schemas.js'
import type { Entry } from './entry.js'

/** The content-addressed block store consensus writes to (the node's Helia blockstore, pinned). */
export interface ConsensusBlocks {
  /** Store (and pin) `bytes` under `cid`; the bytes hash to it. */
  put: (cid: string, bytes: Uint8Array) => Promise<void>
  /** Whether the block is held already (saves a put at start). */
  has?: (cid: string) => Promise<boolean>
}

/** A proposal's canonical bytes and the CID they hash to (the proposal id: see protocol/records.ts `proposalId`). */
export function proposalBlock (p: Proposal): { cid: string, bytes: Uint8Array } {
  return blockOf(proposalContent(p))
}

/** Puts accepted proposals into the blockstore, once each, in the background, one at a time (the start-up sweep of a
 * long history must not open a put per proposal at once). */
export class ProposalArchive {
  private readonly done = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  private closing = false
  /** Puts that failed since start (also `meshnode_consensus_archive_total{result="failed"}`). */
  failures = 0

  constructor (private readonly blocks: ConsensusBlocks | undefined, private readonly logger: Logger, private readonly metrics?: ConsensusMetrics) {}

  /** Archive an accepted proposal (no-op without a blockstore, for other statuses, or when done already). */
  keep (e: Entry): void {
    if (this.blocks == null || e.status !== 'accepted' || this.done.has(e.id)) return
    this.done.add(e.id)
    const blocks = this.blocks
    this.queue = this.queue.then(async () => { await this.put(blocks, e) })
  }

  /** Archive every accepted proposal of `entries` not archived yet (at start: what a failed or older run missed). */
  sweep (entries: Iterable<Entry>): void {
    this.closing = false
    for (const e of entries) this.keep(e)
  }

  /** Wait for the puts queued so far. */
  async idle (): Promise<void> {
    await this.queue
  }

  /** The service's stop, before storage closes: finish the put in flight, skip those queued (the next start's sweep). */
  async close (): Promise<void> {
    this.closing = true
    await this.queue
  }

  private async put (blocks: ConsensusBlocks, e: Entry): Promise<void> {
    if (this.closing) return
    try {
      const { cid, bytes } = proposalBlock(e.proposal)
      // never store bytes under an id they do not hash to (the id came from the same encoding: a mismatch is a bug)
      if (cid !== e.id) throw new Error(`canonical bytes hash to ${cid}, not to the proposal id`)
      if (await blocks.has?.(cid) === true) return
      await blocks.put(cid, bytes)
      this.metrics?.archive?.inc({ result: 'stored' })
    } catch (err) {
      this.done.delete(e.id)
      this.failures++
      this.metrics?.archive?.inc({ result: 'failed' })
      this.logger.warn({ err: (err as Error).message, id: e.id }, 'consensus: storing a proposal in the blockstore failed')
    }
  }
}
