/**
 * The artifact store's requests and results as TypeBox schemas, defined once: the admin API validates and documents
 * with them (so the OpenAPI document says what the server accepts), the CLI reads its choices from them, and the
 * service's option and result types are `Static<>` of them. Field bounds come from the announcement record's schema
 * (protocol/artifact-record.ts), never restated.
 */
import { Type, type Static } from '@sinclair/typebox'
import {
  ArtifactKindSchema, ArtifactMetaSchema, ArtifactNameSchema, CanonicalCidSchema, JobIdSchema, MediaTypeSchema,
  PeerIdStringSchema, RoundSchema
} from './protocol/artifact-record.js'
import { ARTIFACT_DOMAIN } from './protocol/topic.js'

/**
 * A CID as a client may name one: CIDv1 in base32, base36 or base58btc, or a CIDv0. The pattern admits every
 * character of those encodings (and of base64url) and nothing else; the exact parse is the service's, which answers
 * ERR_INVALID_CID with what is wrong.
 */
export const CidInputSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'artifact root CID (CIDv1 in base32, base36 or base58btc, or CIDv0)' })

/** Path parameters of the routes about one artifact. */
export const ArtifactCidParamsSchema = Type.Object({ cid: CidInputSchema })
/** The `:cid` path parameter. */
export type ArtifactCidParams = Static<typeof ArtifactCidParamsSchema>

/** An artifact as the API and CLI show it: its signed metadata plus where it is. */
export const ArtifactInfoSchema = Type.Object({
  ...ArtifactMetaSchema.properties,
  signature: Type.String({ description: `the signed metadata record (base64 CBOR envelope, domain ${ARTIFACT_DOMAIN})` }),
  local: Type.Boolean({ description: 'every block is stored and pinned on this node' })
}, { description: 'An artifact and its signed provenance' })
/**
 * An artifact's signed metadata, its signed record (`signature`, verifiable with `openArtifactRecord`) and whether
 * every block is stored and pinned here (`local`; false: known from a peer's announcement, or unpinned).
 */
export type ArtifactInfo = Static<typeof ArtifactInfoSchema>

/** Metadata given when adding an artifact (`POST /v1/artifacts` query, `meshnode artifacts add` flags). */
export const ArtifactAddQuerySchema = Type.Object({
  name: ArtifactNameSchema,
  kind: Type.Optional(ArtifactKindSchema),
  mediaType: Type.Optional(MediaTypeSchema),
  job: Type.Optional(JobIdSchema),
  round: Type.Optional(RoundSchema)
}, { additionalProperties: false })
/** Metadata given when adding an artifact; kind defaults to `other`, mediaType to `application/octet-stream`. */
export type ArtifactAddQuery = Static<typeof ArtifactAddQuerySchema>

/** Filters of a listing (`GET /v1/artifacts` query, `meshnode artifacts ls` flags); all given fields must match. */
export const ArtifactListQuerySchema = Type.Object({
  kind: Type.Optional(ArtifactKindSchema),
  name: Type.Optional(ArtifactNameSchema),
  producer: Type.Optional(PeerIdStringSchema),
  job: Type.Optional(JobIdSchema),
  round: Type.Optional(RoundSchema),
  local: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }))
}, { additionalProperties: false })
/** Filters of a listing; all given fields must match exactly. */
export type ArtifactFilter = Static<typeof ArtifactListQuerySchema>

/** Metadata for pinning a CID nobody announced (default: name = the CID, kind `other`). */
export const ArtifactPinQuerySchema = Type.Object({
  name: Type.Optional(ArtifactNameSchema),
  kind: Type.Optional(ArtifactKindSchema)
}, { additionalProperties: false, description: 'metadata for a CID nobody announced' })
/** Metadata for pinning a CID nobody announced. */
export type ArtifactPinQuery = Static<typeof ArtifactPinQuerySchema>

/** What an add answers. */
export const ArtifactAddResultSchema = Type.Object({ cid: CanonicalCidSchema, size: Type.Integer({ minimum: 0 }) })
/** What an add answers: the root CID and the size in bytes. */
export type ArtifactAddResult = Static<typeof ArtifactAddResultSchema>

/** What an unpin answers (the CID as the client named it). */
export const ArtifactUnpinResultSchema = Type.Object({ cid: CidInputSchema, unpinned: Type.Literal(true) })
/** What an unpin answers. */
export type ArtifactUnpinResult = Static<typeof ArtifactUnpinResultSchema>

/** What a garbage collection freed. */
export const GcResultSchema = Type.Object({ freedBytes: Type.Integer({ minimum: 0 }), removedBlocks: Type.Integer({ minimum: 0 }) })
/** What a garbage collection freed. */
export type GcResult = Static<typeof GcResultSchema>

/** Blockstore usage against the quota, and registry counts (local: pinned here, remote: known from announcements). */
export const StorageUsageSchema = Type.Object({
  usedBytes: Type.Integer({ minimum: 0 }),
  quotaBytes: Type.Integer({ minimum: 0 }),
  freeBytes: Type.Integer({ minimum: 0 }),
  blocks: Type.Integer({ minimum: 0 }),
  artifacts: Type.Object({ local: Type.Integer({ minimum: 0 }), remote: Type.Integer({ minimum: 0 }) })
})
/** Blockstore usage against the quota, and registry counts. */
export type StorageUsage = Static<typeof StorageUsageSchema>
