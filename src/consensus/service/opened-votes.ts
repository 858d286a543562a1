/**
 * Vote envelopes opened once for one catch-up step. A synced QC's votes are checked by the QC verification, counted
 * for the QC's voters and kept by the ingest; each signature is verified here once for all three (it was three
 * Ed25519 checks per vote, and one tally and write per vote: the ingest now takes a QC's votes as one batch).
 */
import { decode } from 'cborg'
import type { SignedRecord } from '../../protocols/envelope.js'
import type { OpenedVote, VoteVerifier } from '../core/qc.js'
import { ConsensusError } from '../errors.js'
import type { Vote } from '../protocol/schemas.js'
import { openVote, type OpenedConsensusRecord } from '../protocol/verify.js'

/** What a QC check reads of an opened vote. */
export function openedVote (r: SignedRecord<Vote>): OpenedVote {
  return { voter: r.signer, proposalId: r.payload.proposalId, choice: r.payload.choice, prevote: r.payload.phase === 'prevote' }
}

/**
 * The voter a vote envelope names, read without verifying anything (envelope.ts: the payload is CBOR bytes under `p`):
 * only to skip envelopes whose news is known here already; undefined when it does not decode.
 */
export function peekVoter (bytes: Uint8Array): string | undefined {
  try {
    const p: unknown = (decode(bytes) as { p?: unknown }).p
    const voter: unknown = p instanceof Uint8Array ? (decode(p) as { voter?: unknown }).voter : undefined
    return typeof voter === 'string' ? voter : undefined
  } catch {
    return undefined
  }
}

/** Vote envelopes of `network`, each opened (and its signature verified) at most once. */
export class OpenedVotes {
  private readonly opened = new Map<string, Promise<SignedRecord<Vote> | undefined>>()

  constructor (private readonly network: string) {}

  /** The opened vote, or undefined when it does not verify. */
  async open (bytes: Uint8Array): Promise<SignedRecord<Vote> | undefined> {
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    let p = this.opened.get(key)
    if (p == null) {
      p = openVote(bytes, this.network).catch(() => undefined)
      this.opened.set(key, p)
    }
    return await p
  }

  /** A QC verifier over this cache. */
  readonly verify: VoteVerifier = async (bytes) => {
    const r = await this.open(bytes)
    if (r == null) throw new ConsensusError('ERR_QC', 'a QC vote does not verify')
    return openedVote(r)
  }

  /** Every envelope of `votes` that verifies, as the ingest takes records. */
  async records (votes: readonly Uint8Array[]): Promise<OpenedConsensusRecord[]> {
    const out: OpenedConsensusRecord[] = []
    for (const v of votes) {
      const record = await this.open(v)
      if (record != null) out.push({ type: 'vote', record })
    }
    return out
  }
}
