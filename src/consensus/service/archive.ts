/**
 * Accepted proposals in the node's IPFS blockstore: a proposal's id is the CID (dag-cbor, sha2-256) of its canonical
 * encoding, so its canonical bytes are put under that id and any IPFS peer can fetch them over bitswap and check them
 * against the id alone. Epoch proposals are proposals too: a finalized epoch is fetchable by its proposal's id.
 * Consensus does not import storage: the node wires the port (`ConsensusBlocks`) to Helia's blockstore and pins what
 * is put, so storage GC keeps it. The Level store stays the working copy (and is pruned, prune.ts); the blockstore is
 * the archive. A put that fails is logged and counted, never fatal: the next start puts what is missing again.
 */
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import type { Logger } from '../../common/logger.js'
import type { ConsensusMetrics } from '../metrics.js'
import { DAG_CBOR_CODE, SHA2_256_CODE, canonicalBytes, sha256 } from '../protocol/canonical.js'
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
  const bytes = canonicalBytes({ kind: p.kind, payload: p.payload, proposer: p.proposer, createdAt: p.createdAt, expiresAt: p.expiresAt, snapshot: p.snapshot })
  return { cid: CID.createV1(DAG_CBOR_CODE, createDigest(SHA2_256_CODE, sha256(bytes))).toString(), bytes }
}

/** Puts accepted proposals into the blockstore, once each, in the background. */
export class ProposalArchive {
  private readonly done = new Set<string>()
  private readonly busy = new Set<Promise<void>>()
  /** Puts that failed since start (also `meshnode_consensus_archive_total{result="failed"}`). */
  failures = 0

  constructor (private readonly blocks: ConsensusBlocks | undefined, private readonly logger: Logger, private readonly metrics?: ConsensusMetrics) {}

  /** Archive an accepted proposal (no-op without a blockstore, for other statuses, or when done already). */
  keep (e: Entry): void {
    if (this.blocks == null || e.status !== 'accepted' || this.done.has(e.id)) return
    this.done.add(e.id)
    const p = this.put(this.blocks, e).finally(() => { this.busy.delete(p) })
    this.busy.add(p)
  }

  /** Archive every accepted proposal of `entries` not archived yet (at start: what a failed or older run missed). */
  sweep (entries: Iterable<Entry>): void {
    for (const e of entries) this.keep(e)
  }

  /** Wait for the puts in flight (the service's stop, before storage closes). */
  async idle (): Promise<void> {
    await Promise.allSettled([...this.busy])
  }

  private async put (blocks: ConsensusBlocks, e: Entry): Promise<void> {
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
