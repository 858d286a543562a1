/**
 * Validation of a gossiped training message (TOPICS.training): size cap, envelope signature and domain, version
 * (unknown: ignore), schema, bounds (rounds, samples, metrics, CIDs, seal ordering, job id), author = gossip origin,
 * freshness and replay. Throws GossipValidationError; the replay guard runs last so a refused message never marks a
 * good one as seen.
 */
import type { SignedRecord } from '../envelope.js'
import type { ReplayGuard } from '../replay.js'
import { GossipValidationError } from '../../common/errors.js'
import { decodeTrainingMessage } from '../../training/protocol/codec.js'
import type { TrainingMessage } from '../../training/protocol/messages.js'

export { decodeTrainingMessage }

/** Full gossip validation of a training message; returns the verified record for delivery to the job machines. */
export async function validateTrainingGossip (bytes: Uint8Array, origin: string | undefined, guard: ReplayGuard): Promise<SignedRecord<TrainingMessage>> {
  const rec = await decodeTrainingMessage(bytes)
  if (origin == null || origin !== rec.signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'record signer is not the message author')
  guard.check(rec.signer, rec.domain, rec.seq)
  return rec
}
