/**
 * The gossip side of the registry: a `GossipTopicHandler` for `TOPICS.artifacts`. Validation is the pure validator in
 * src/protocols/validate/artifacts.ts; delivery remembers the announcement as a known remote artifact (never fetching
 * it) and tells the caller, which emits `artifact.announced`.
 */
import type { GossipTopicHandler } from '../protocols/gossip.js'
import type { SignedRecord } from '../protocols/envelope.js'
import type { ReplayGuard } from '../protocols/replay.js'
import { TOPICS } from '../protocols/topics.js'
import { validateArtifactGossip, type ArtifactMeta } from '../protocols/validate/artifacts.js'

export interface AnnounceHandlerInit {
  guard: ReplayGuard
  /** Consume a verified announcement from another peer. */
  remember: (rec: SignedRecord<ArtifactMeta>) => Promise<void>
}

/** Build the handler the node registers with its GossipProcessor. */
export function artifactAnnounceHandler (init: AnnounceHandlerInit): GossipTopicHandler<SignedRecord<ArtifactMeta>> {
  return {
    topic: TOPICS.artifacts,
    validate: async (data, ctx) => await validateArtifactGossip(data, ctx.origin, init.guard),
    deliver: async rec => { await init.remember(rec) }
  }
}
