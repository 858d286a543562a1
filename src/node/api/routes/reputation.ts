/** `/v1/reputation`, `/v1/reputation/{peerId}`, `/v1/consensus/epochs`: the epoch chain's reputation table and epochs. */
import { Type } from '@sinclair/typebox'
import { EpochsViewSchema, ReputationPeerViewSchema, ReputationTableViewSchema, type ConsensusService } from '../../../consensus/index.js'
import type { ApiPlugin } from '../server.js'
import { errorResponses } from '../schemas.js'

/** What the reputation routes use of the consensus service. */
export type ReputationRouteDeps = { consensus: Pick<ConsensusService, 'reputation' | 'reputationOf' | 'epochs'> }

const PeerParams = Type.Object({ peerId: Type.String({ minLength: 1, maxLength: 128 }) })

/** The reputation route group. */
export function reputationRoutes ({ consensus }: ReputationRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/reputation', {
      schema: { tags: ['consensus'], summary: 'The reputation table of the last finalized epoch and its hash', response: { 200: ReputationTableViewSchema, ...errorResponses } }
    }, async () => consensus.reputation())

    app.get('/v1/reputation/:peerId', {
      schema: { tags: ['consensus'], summary: 'One peer\'s score explained: the parts of the last transition and the formula', params: PeerParams, response: { 200: ReputationPeerViewSchema, ...errorResponses } }
    }, async (req) => consensus.reputationOf((req.params as { peerId: string }).peerId))

    app.get('/v1/consensus/epochs', {
      schema: { tags: ['consensus'], summary: 'The epoch chain: finalized epochs, guardians, registered kinds, network parameters', response: { 200: EpochsViewSchema, ...errorResponses } }
    }, async () => consensus.epochs())
  }
}
