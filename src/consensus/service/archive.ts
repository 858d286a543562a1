/**
 * Consensus records in the node's IPFS blockstore (the Level store stays the working copy and is pruned, prune.ts;
 * the blockstore is the archive). Every block is dag-cbor (sha2-256) of a canonical encoding, so any IPFS peer can
 * fetch it over bitswap and check it against its CID alone:
 *   - a proposal, once accepted or vetoed, under its id (the id is the CID of its canonical encoding); epoch
 *     proposals too, so a finalized epoch is fetchable by its proposal's id;
 *   - its decision, once final (accepted and executed, past the veto window; or vetoed): `{ proposal: <link>, qc }`
 *     with the QC's signed yes votes, or `{ proposal: <link>, vetoes }` with the guardians' signed vetoes. The link
 *     is an IPLD link (tag 42), so a recursive fetch of the decision brings the proposal;
 *   - equivocation evidence under its id (the CID of the signed pair).
 * Votes that decided nothing (no, abstain, votes on expired or rejected proposals) are not archived.
 * Consensus does not import storage: the node wires the port (`ConsensusBlocks`) to Helia's blockstore and pins what
 * is put, so storage GC keeps it. A put that fails is logged and counted, never fatal: the next start puts what is
 * missing again.
 */
import { CID } from 'multiformats/cid'
import type { Logger } from '../../common/logger.js'
import type { ConsensusMetrics } from '../metrics.js'
import { blockOf } from '../protocol/canonical.js'
import { proposalContent } from '../protocol/records.js'
import type { Evidence, Proposal, Qc } from '../protocol/schemas.js'
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

/** The QC as a plain value (no absent optional fields: `undefined` has no canonical form). */
function qcValue (qc: Qc): Qc {
  return qc.aggregate == null ? { proposalId: qc.proposalId, epoch: qc.epoch, votes: qc.votes } : { ...qc }
}

/**
 * The decision block of a final entry (accepted and executed with its QC, or vetoed), or undefined while it is not
 * final. Vetoes are ordered by guardian, so every node holding the same vetoes puts the same block.
 */
export function decisionBlock (e: Entry): { cid: string, bytes: Uint8Array } | undefined {
  const proposal = CID.parse(e.id)
  if (e.status === 'accepted' && e.executed && e.qc != null) return blockOf({ proposal, qc: qcValue(e.qc) })
  if (e.status === 'vetoed') {
    const vetoes = [...e.vetoes.values()].sort((a, b) => a.guardian < b.guardian ? -1 : a.guardian > b.guardian ? 1 : 0).map(v => v.bytes)
    return blockOf({ proposal, vetoes })
  }
  return undefined
}

/** Evidence's block: its id is the CID of the pair's canonical encoding (a double-back's proposals with it). */
export function evidenceBlock (pair: Evidence): { cid: string, bytes: Uint8Array } {
  return blockOf({ first: pair.first, second: pair.second, ...(pair.proposals != null ? { proposals: pair.proposals } : {}) })
}

/** Puts consensus records into the blockstore, once each, in the background, one at a time (the start-up sweep of a
 * long history must not open a put per record at once). */
export class ConsensusArchive {
  private readonly done = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  private closing = false
  /** Puts that failed since start (also `meshnode_consensus_archive_total{result="failed"}`). */
  failures = 0

  constructor (private readonly blocks: ConsensusBlocks | undefined, private readonly logger: Logger, private readonly metrics?: ConsensusMetrics) {}

  /**
   * Archive what an entry has to archive in its state: its proposal once accepted or vetoed, its decision once final.
   * Call on every status change and after execution; what is done already is skipped.
   */
  keep (e: Entry): void {
    if (e.status !== 'accepted' && e.status !== 'vetoed') return
    this.enqueue(e.id, () => {
      const b = proposalBlock(e.proposal)
      // never store bytes under an id they do not hash to (the id came from the same encoding: a mismatch is a bug)
      if (b.cid !== e.id) throw new Error(`canonical bytes hash to ${b.cid}, not to the proposal id`)
      return b
    })
    if (decisionBlock(e) != null) this.enqueue(`decision:${e.id}`, () => decisionBlock(e), d => { e.decision = d })
  }

  /** Archive verified evidence under its id. */
  keepEvidence (id: string, pair: Evidence): void {
    this.enqueue(id, () => {
      const b = evidenceBlock(pair)
      if (b.cid !== id) throw new Error(`evidence bytes hash to ${b.cid}, not to its id`)
      return b
    })
  }

  /** Archive what `entries` hold and is not archived yet (at start: what a failed or older run missed). */
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

  /** Queue one put under a once-key; `block` is built when its turn comes; `stored` learns the CID once it is held. */
  private enqueue (key: string, block: () => { cid: string, bytes: Uint8Array } | undefined, stored?: (cid: string) => void): void {
    const blocks = this.blocks
    if (blocks == null || this.done.has(key)) return
    this.done.add(key)
    this.queue = this.queue.then(async () => {
      if (this.closing) { this.done.delete(key); return }
      try {
        const b = block()
        if (b == null) { this.done.delete(key); return }
        if (await blocks.has?.(b.cid) !== true) {
          await blocks.put(b.cid, b.bytes)
          this.metrics?.archive?.inc({ result: 'stored' })
        }
        stored?.(b.cid)
      } catch (err) {
        this.done.delete(key)
        this.failures++
        this.metrics?.archive?.inc({ result: 'failed' })
        this.logger.warn({ err: (err as Error).message, key }, 'consensus: storing a record in the blockstore failed')
      }
    })
  }
}
