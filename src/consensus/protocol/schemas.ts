/**
 * One TypeBox schema per consensus record; each record's type is `Static<>` of its schema, and its cross-field rules
 * live in one pure check (checks.ts). Every bound is stated here once.
 */
import { Type, type Static } from '@sinclair/typebox'

/** Envelope caps in bytes. A QC holds up to MAX_QC_VOTES vote envelopes of ~230 bytes each. */
export const MAX_PROPOSAL_BYTES = 256 * 1024
export const MAX_VOTE_BYTES = 1024
export const MAX_VETO_BYTES = 2048
/** Two votes, and for a double-back (see EvidenceSchema) the two epoch proposals they back. */
export const MAX_EVIDENCE_BYTES = 2 * MAX_VOTE_BYTES + 2 * MAX_PROPOSAL_BYTES + 1024
export const MAX_QC_VOTES = 4096
export const MAX_QC_BYTES = MAX_QC_VOTES * MAX_VOTE_BYTES + 1024
/** The longest a proposal may stay open (createdAt to expiresAt): 30 days in ms. */
export const MAX_PROPOSAL_TTL_MS = 30 * 24 * 3600 * 1000
/** The envelope version every consensus record is signed with. */
export const CONSENSUS_RECORD_VERSION = 1

/** A CIDv1 in base32 (what `cidOf` returns). */
export const CidStringSchema = Type.String({ pattern: '^b[a-z2-7]{10,200}$', description: 'a CIDv1, base32' })
/** A libp2p peer id string. */
export const PeerIdSchema = Type.String({ minLength: 1, maxLength: 128, description: 'a libp2p peer id' })
/** Milliseconds since the Unix epoch. */
export const TimestampSchema = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
/** A network name, as in the network presets (`local`, `amoy`, ...). */
export const NetworkNameSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' })
/** A proposal kind (`model-update`, `hyperparams`, `ban-peer`, `network-param`, `epoch`, `reward-payout`, ...). */
export const ProposalKindSchema = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' })

/** A proposal: what is proposed, by whom, until when, and which epoch's weights tally it. Its id is `cidOf(it)`. */
export const ProposalSchema = Type.Object({
  kind: ProposalKindSchema,
  /** Checked by the kind's own payload schema and validator (registered with consensus by its subsystem). */
  payload: Type.Unknown(),
  proposer: PeerIdSchema,
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema,
  /** The epoch whose weight snapshot tallies this proposal. */
  snapshot: Type.Integer({ minimum: 0, maximum: 2 ** 32 })
}, { additionalProperties: false })
export type Proposal = Static<typeof ProposalSchema>

/** A vote's choice. */
export const VoteChoiceSchema = Type.Union([Type.Literal('yes'), Type.Literal('no'), Type.Literal('abstain')])
export type VoteChoice = Static<typeof VoteChoiceSchema>

/** A compressed BLS12-381 public key (G1, 48 bytes). */
export const BlsKeySchema = Type.Uint8Array({ minByteLength: 48, maxByteLength: 48 })
/** A compressed BLS12-381 signature (G2, 96 bytes). */
export const BlsSignatureSchema = Type.Uint8Array({ minByteLength: 96, maxByteLength: 96 })

/**
 * A vote's optional BLS part (core/bls.ts), for electorates large enough to certify by aggregate: the voter's BLS key
 * with its proof of possession (bound to the voter by the vote's own Ed25519 signature) and the BLS signature of the
 * vote's message. Absent on votes of small electorates and on every vote signed before it existed.
 */
export const VoteBlsSchema = Type.Object({
  key: BlsKeySchema,
  pop: BlsSignatureSchema,
  sig: BlsSignatureSchema
}, { additionalProperties: false })
export type VoteBls = Static<typeof VoteBlsSchema>

/**
 * A vote on one proposal, signed by its voter under the network-bound vote domain. On `epoch` proposals a member first
 * prevotes (`phase: 'prevote'`, choice yes, never counted in a tally or a QC), then votes (core/epoch-lock.ts).
 */
export const VoteSchema = Type.Object({
  proposalId: CidStringSchema,
  choice: VoteChoiceSchema,
  voter: PeerIdSchema,
  network: NetworkNameSchema,
  phase: Type.Optional(Type.Literal('prevote')),
  bls: Type.Optional(VoteBlsSchema)
}, { additionalProperties: false })
export type Vote = Static<typeof VoteSchema>

/**
 * A quorum certificate on one proposal, reaching 2/3 of its snapshot's weight, in one of two forms (checkQc): the
 * signed yes-vote envelopes (`votes`), or, with `votes` empty, an `aggregate`: the voters, sorted, and the aggregate
 * of their BLS yes signatures (core/qc.ts verifies both).
 */
export const QcSchema = Type.Object({
  proposalId: CidStringSchema,
  /** The snapshot epoch the votes were counted under (the proposal's `snapshot`). */
  epoch: Type.Integer({ minimum: 0, maximum: 2 ** 32 }),
  votes: Type.Array(Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_VOTE_BYTES }), { maxItems: MAX_QC_VOTES }),
  aggregate: Type.Optional(Type.Object({
    voters: Type.Array(PeerIdSchema, { minItems: 1, maxItems: MAX_QC_VOTES }),
    signature: BlsSignatureSchema
  }, { additionalProperties: false }))
}, { additionalProperties: false })
export type Qc = Static<typeof QcSchema>

/** The kind of the epoch chain's own proposals (service/epochs.ts); named here for double-back evidence. */
export const EPOCH_KIND = 'epoch'

/** The epoch an `epoch` proposal attempts (its payload's `epoch`); undefined for other kinds and malformed payloads. */
export function attemptedEpoch (p: Proposal): number | undefined {
  if (p.kind !== EPOCH_KIND) return undefined
  const n = (p.payload as { epoch?: unknown } | null)?.epoch
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined
}

/**
 * Equivocation evidence (the pair is the proof), either:
 * - two conflicting signed votes of one voter on one proposal; or
 * - a **double-back**: two signed yes votes of one voter on two `epoch` proposals for the same epoch with different
 *   content (core/epoch-lock.ts: an honest member backs one content per epoch, ever), with the two signed proposals
 *   (`proposals`, in the votes' order), so that any node checks it alone.
 */
export const EvidenceSchema = Type.Object({
  first: Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_VOTE_BYTES }),
  second: Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_VOTE_BYTES }),
  proposals: Type.Optional(Type.Tuple([
    Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_PROPOSAL_BYTES }),
    Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_PROPOSAL_BYTES })
  ]))
}, { additionalProperties: false })
export type Evidence = Static<typeof EvidenceSchema>

/** A guardian's veto of one proposal; k-of-n vetoes within the window beat a QC. */
export const VetoSchema = Type.Object({
  proposalId: CidStringSchema,
  guardian: PeerIdSchema,
  reason: Type.String({ minLength: 1, maxLength: 512 })
}, { additionalProperties: false })
export type Veto = Static<typeof VetoSchema>
