/**
 * The artifact announcement: the signed metadata of an artifact a node added (never its bytes), gossiped on
 * `ARTIFACT_TOPIC` under `ARTIFACT_DOMAIN`. One schema (`ArtifactMetaSchema`) describes it everywhere: on the wire,
 * in the registry, in the admin API's views and queries, and in the CLI's flags.
 *
 * Opening it is the generic wire kit's job (src/protocols/record.ts: size, envelope, domain, signature, version,
 * and for gossip freshness and replay); what is particular to this record lives in its `parse`: the
 * schema, the CID in canonical form, and producer = signer.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { PrivateKey } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { GossipValidationError } from '../../common/errors.js'
import { signRecord, type SignedRecord } from '../../protocols/envelope.js'
import { openGossipRecord, openSignedRecord, schemaParser, type RecordSpec } from '../../protocols/record.js'
import type { ReplayGuard } from '../../protocols/replay.js'
import { ARTIFACT_DOMAIN } from './topic.js'
import { ARTIFACT_KINDS } from './artifact-kinds.js'

/** The only record version written and understood; a later one is ignored, not punished. */
export const ARTIFACT_RECORD_VERSION = 1
/** An announcement is a few hundred bytes; anything near this cap is abuse. */
export const MAX_ARTIFACT_RECORD_BYTES = 4 * 1024

/** What an artifact can be (defined in artifact-kinds.ts, which the CLI reads without this module). */
export { ARTIFACT_KINDS }
/** One of `ARTIFACT_KINDS`. */
export type ArtifactKind = typeof ARTIFACT_KINDS[number]

/** The kind as a schema (a union of literals, so the OpenAPI document lists them). */
export const ArtifactKindSchema = Type.Union(ARTIFACT_KINDS.map(k => Type.Literal(k)), { description: 'what the artifact is' })

/**
 * A root CID as records carry it: CIDv1 in base32 (multibase prefix `b`), the only form `toString()` of a CIDv1
 * gives, so two records of one artifact always name it by the same string.
 */
export const CanonicalCidSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^b[a-z2-7]+$', description: 'UnixFS root CID (CIDv1, base32)' })

/** Artifact names, as given when adding (a file name by default). */
export const ArtifactNameSchema = Type.String({ minLength: 1, maxLength: 256 })
/** A libp2p peer id string. */
export const PeerIdStringSchema = Type.String({ minLength: 1, maxLength: 128, description: 'a libp2p peer id' })
/** A training job id an artifact belongs to. */
export const JobIdSchema = Type.String({ minLength: 1, maxLength: 128 })
/** A training round number. */
export const RoundSchema = Type.Integer({ minimum: 0, maximum: 1_000_000_000 })
/** An RFC 6838 media type (`type/subtype`). */
export const MediaTypeSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$' })

/** The signed metadata of an artifact; `producer` is the signer's peer id (the node that added it). */
export const ArtifactMetaSchema = Type.Object({
  cid: CanonicalCidSchema,
  name: ArtifactNameSchema,
  kind: ArtifactKindSchema,
  mediaType: MediaTypeSchema,
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'file size in bytes' }),
  producer: PeerIdStringSchema,
  job: Type.Optional(JobIdSchema),
  round: Type.Optional(RoundSchema),
  createdAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'ms since the epoch' })
}, { additionalProperties: false })

/** An artifact's signed metadata. */
export type ArtifactMeta = Static<typeof ArtifactMetaSchema>

/** Throws unless `s` is a CID string in its canonical CIDv1 base32 form (the pattern alone admits non-CIDs). */
function checkCanonicalCid (s: string): void {
  let cid: CID
  try {
    cid = CID.parse(s)
  } catch {
    throw new GossipValidationError('reject', 'ERR_SCHEMA', 'artifact cid does not parse')
  }
  if (cid.version !== 1 || cid.toString() !== s) throw new GossipValidationError('reject', 'ERR_SCHEMA', 'artifact cid is not canonical CIDv1 base32')
}

/** How the wire kit opens an artifact announcement. */
export const artifactRecordSpec: RecordSpec<ArtifactMeta> = {
  name: 'artifact record',
  domain: ARTIFACT_DOMAIN,
  version: ARTIFACT_RECORD_VERSION,
  maxBytes: MAX_ARTIFACT_RECORD_BYTES,
  parse: schemaParser('artifact record', ArtifactMetaSchema, (meta, signer) => {
    checkCanonicalCid(meta.cid)
    // nobody signs provenance for someone else's artifact
    if (meta.producer !== signer) throw new GossipValidationError('reject', 'ERR_PRODUCER', 'artifact producer is not the record signer')
  })
}

/** Sign our own announcement of `meta` (whose `producer` must be our peer id) with sequence number `seq`. */
export async function signArtifactRecord (privateKey: PrivateKey, seq: number, meta: ArtifactMeta): Promise<Uint8Array> {
  return await signRecord(privateKey, ARTIFACT_DOMAIN, ARTIFACT_RECORD_VERSION, seq, meta)
}

/** Decode and verify an artifact record without origin or replay checks (records kept on disk, API views). */
export async function openArtifactRecord (bytes: Uint8Array): Promise<SignedRecord<ArtifactMeta>> {
  return await openSignedRecord(bytes, artifactRecordSpec)
}

/** Full gossip validation (a valid record, fresh and not seen before; `source` forwarded it): src/protocols/record.ts. */
export async function validateArtifactGossip (bytes: Uint8Array, source: string, guard: ReplayGuard): Promise<SignedRecord<ArtifactMeta>> {
  return await openGossipRecord(bytes, source, guard, artifactRecordSpec)
}
