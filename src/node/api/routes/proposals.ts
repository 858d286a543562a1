/**
 * `/v1/proposals`: list, create, read, vote, veto. Thin: the schemas are the consensus subsystem's, and its errors
 * (ERR_NOT_FOUND, ERR_KIND, ERR_PAYLOAD, ERR_CLOSED, ERR_NOT_GUARDIAN -> 403) reach the server's one error renderer.
 */
import { Type, type Static } from '@sinclair/typebox'
import {
  ProposalCreateSchema, ProposalIdParamsSchema, ProposalListQuerySchema, ProposalViewSchema, VetoRequestSchema, VoteRequestSchema,
  type ConsensusService, type ProposalCreate, type ProposalIdParams, type ProposalListQuery
} from '../../../consensus/index.js'
import type { ApiPlugin } from '../server.js'
import { errorResponses } from '../schemas.js'

/** What the proposal routes use of the consensus service. */
export type ProposalRouteDeps = { consensus: Pick<ConsensusService, 'list' | 'get' | 'create' | 'vote' | 'veto'> }

/** The proposal route group. */
export function proposalRoutes ({ consensus }: ProposalRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/proposals', {
      schema: { tags: ['consensus'], summary: 'Proposals known here, newest first', querystring: ProposalListQuerySchema, response: { 200: Type.Object({ proposals: Type.Array(ProposalViewSchema) }), ...errorResponses } }
    }, async (req) => ({ proposals: consensus.list(req.query as ProposalListQuery) }))

    app.post('/v1/proposals', {
      schema: {
        tags: ['consensus'],
        summary: 'Create a proposal of a registered kind (this node votes yes with it); gossiped to the mesh',
        body: ProposalCreateSchema,
        response: { 200: Type.Object({ id: Type.String() }), ...errorResponses }
      }
    }, async (req) => await consensus.create(req.body as ProposalCreate))

    app.get('/v1/proposals/:id', {
      schema: { tags: ['consensus'], summary: 'One proposal: status, tally, votes and certificate', params: ProposalIdParamsSchema, response: { 200: ProposalViewSchema, ...errorResponses } }
    }, async (req) => consensus.get((req.params as ProposalIdParams).id))

    app.post('/v1/proposals/:id/votes', {
      schema: { tags: ['consensus'], summary: 'Vote as this node\'s operator', params: ProposalIdParamsSchema, body: VoteRequestSchema, response: { 200: ProposalViewSchema, ...errorResponses } }
    }, async (req) => await consensus.vote((req.params as ProposalIdParams).id, (req.body as Static<typeof VoteRequestSchema>).choice))

    app.post('/v1/proposals/:id/veto', {
      schema: {
        tags: ['consensus'],
        summary: 'Veto a proposal within its window (guardian nodes only: 403 ERR_NOT_GUARDIAN otherwise)',
        params: ProposalIdParamsSchema,
        body: VetoRequestSchema,
        response: { 200: ProposalViewSchema, ...errorResponses }
      }
    }, async (req) => await consensus.veto((req.params as ProposalIdParams).id, (req.body as Static<typeof VetoRequestSchema> | undefined)?.reason))
  }
}
