/**
 * The consensus API's schemas (one per shape): the routes, the CLI and the service's views all use these. Weights are
 * decimal strings: they are integers that outgrow 2^53 over a long history.
 */
import { Type, type Static } from '@sinclair/typebox'
import { ProposalKindSchema, VoteChoiceSchema } from '../protocol/schemas.js'

const W = (description: string): ReturnType<typeof Type.String> => Type.String({ pattern: '^[0-9]+$', description })

export const ProposalStatusSchema = Type.Union(['pending', 'accepted', 'rejected', 'expired', 'vetoed'].map(s => Type.Literal(s)))

/** `GET /v1/proposals` filters. */
export const ProposalListQuerySchema = Type.Object({
  kind: Type.Optional(ProposalKindSchema),
  status: Type.Optional(ProposalStatusSchema)
}, { additionalProperties: false })
export type ProposalListQuery = Static<typeof ProposalListQuerySchema>

/** `POST /v1/proposals`. */
export const ProposalCreateSchema = Type.Object({
  kind: ProposalKindSchema,
  payload: Type.Unknown({ description: 'checked by the kind\'s payload schema and validator' }),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 }))
}, { additionalProperties: false })
export type ProposalCreate = Static<typeof ProposalCreateSchema>

export const ProposalIdParamsSchema = Type.Object({ id: Type.String({ pattern: '^b[a-z2-7]{10,200}$' }) })
export type ProposalIdParams = Static<typeof ProposalIdParamsSchema>

/** `POST /v1/proposals/{id}/votes`. */
export const VoteRequestSchema = Type.Object({ choice: VoteChoiceSchema }, { additionalProperties: false })
/** `POST /v1/proposals/{id}/veto`. */
export const VetoRequestSchema = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) }, { additionalProperties: false })

export const TallySchema = Type.Object({ yes: W('yes weight'), no: W('no weight'), abstain: W('abstain weight'), quorum: W('yes weight that reaches 2/3'), weightTotal: W('the electorate\'s weight') })

/** One proposal as the API shows it. */
export const ProposalViewSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  payload: Type.Unknown(),
  proposer: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  snapshot: Type.Integer({ description: 'the epoch whose weights tally it' }),
  status: ProposalStatusSchema,
  executed: Type.Boolean(),
  epoch: Type.Union([Type.Integer(), Type.Null()], { description: 'the epoch that lists it, once one does' }),
  tally: TallySchema,
  votes: Type.Array(Type.Object({ voter: Type.String(), choice: Type.String(), at: Type.String({ format: 'date-time' }) })),
  /** An epoch attempt's prevotes (the first phase: a polka of 2/3 lets members vote yes), once any is held. */
  prevotes: Type.Optional(Type.Array(Type.Object({ voter: Type.String(), at: Type.String({ format: 'date-time' }) }))),
  vetoes: Type.Array(Type.Object({ guardian: Type.String(), reason: Type.String() })),
  certificate: Type.Optional(Type.Object({ epoch: Type.Integer(), voters: Type.Array(Type.String()), votes: Type.Integer() })),
  /** The CID of the decision block in IPFS (the proposal linked with its QC or vetoes), once final and archived. */
  decision: Type.Optional(Type.String())
})
export type ProposalView = Static<typeof ProposalViewSchema>

const Parts = Type.Object({
  previous: W('score before'), decay: W('EMA decay'), work: W('accepted contributions'), bonds: W('agreeing votes'),
  slashes: W('evidence'), capped: W('over the per-peer cap'), score: W('score after'),
  contributions: Type.Integer(), agreed: Type.Integer(), evidence: Type.Integer(), age: Type.Integer(), probation: Type.Boolean()
})

/** One row of the reputation table. */
export const ReputationRowSchema = Type.Object({
  peerId: Type.String(),
  score: W('reputation score'),
  weight: W('effective voting weight (probation pool applied)'),
  probation: Type.Boolean(),
  age: Type.Integer({ description: 'epochs since the peer entered the table' }),
  parts: Type.Union([Parts, Type.Null()], { description: 'how the last epoch transition moved the score' })
})
export type ReputationRowView = Static<typeof ReputationRowSchema>

/** `GET /v1/reputation`. */
export const ReputationTableViewSchema = Type.Object({ epoch: Type.Integer(), hash: Type.String(), peers: Type.Array(ReputationRowSchema) })
export type ReputationTableView = Static<typeof ReputationTableViewSchema>

/** `GET /v1/reputation/{peerId}`: the row and the formula it came from. */
export const ReputationPeerViewSchema = Type.Object({ epoch: Type.Integer(), hash: Type.String(), peer: ReputationRowSchema, formula: Type.String() })

/** `GET /v1/consensus/epochs`. */
export const EpochsViewSchema = Type.Object({
  epoch: Type.Integer(),
  hash: Type.String(),
  credits: Type.String({ description: 'hash of the work credit ledger (once per job round; core/credit.ts): equal on nodes at the same epoch' }),
  guardians: Type.Object({ keys: Type.Array(Type.String()), threshold: Type.Integer() }),
  kinds: Type.Array(Type.String()),
  params: Type.Record(Type.String(), Type.Unknown(), { description: 'network parameters set by executed network-param proposals' }),
  epochs: Type.Array(Type.Object({
    epoch: Type.Integer(), proposalId: Type.String(), createdAt: Type.String({ format: 'date-time' }), hash: Type.String(),
    accepted: Type.Array(Type.String()), evidence: Type.Array(Type.String())
  }))
})
export type EpochsView = Static<typeof EpochsViewSchema>
