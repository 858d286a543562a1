/**
 * The artifact announcement: the signed metadata of an artifact a node added (never its bytes), gossiped on
 * `TOPICS.artifacts` under `DOMAINS.artifact`, and the pure validator for it: size cap, envelope signature and domain,
 * schema, producer = signer = gossip author, freshness and replay. Throws GossipValidationError; 'reject' for anything
 * a well-behaved peer never sends, 'ignore' for versions we do not understand.
 */
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { CID } from 'multiformats/cid'
import { openRecord, type SignedRecord } from '../envelope.js'
import { DOMAINS } from '../topics.js'
import type { ReplayGuard } from '../replay.js'
import { GossipValidationError, RecordError } from '../../common/errors.js'

export const ARTIFACT_RECORD_VERSION = 1
/** An announcement is a few hundred bytes; anything near this cap is abuse. */
export const MAX_ARTIFACT_RECORD_BYTES = 4 * 1024

export const ARTIFACT_KINDS = ['model', 'delta', 'dataset', 'proposal', 'log', 'other'] as const
export type ArtifactKind = typeof ARTIFACT_KINDS[number]

export const ArtifactKindSchema = Type.Union(ARTIFACT_KINDS.map(k => Type.Literal(k)), { description: 'what the artifact is' })

/** The signed metadata of an artifact; `producer` is the signer's peer id. */
export const ArtifactMetaSchema = Type.Object({
  cid: Type.String({ minLength: 1, maxLength: 128, description: 'UnixFS root CID (CIDv1, base32)' }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  kind: ArtifactKindSchema,
  mediaType: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$' }),
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'file size in bytes' }),
  producer: Type.String({ minLength: 1, maxLength: 128, description: 'peer id of the node that added it' }),
  job: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  round: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  createdAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'ms since the epoch' })
}, { additionalProperties: false })

export type ArtifactMeta = Static<typeof ArtifactMetaSchema>

const check = TypeCompiler.Compile(ArtifactMetaSchema)

/** Throws unless `s` is a CID string in its canonical CIDv1 base32 form. */
function checkCid (s: string): void {
  let cid: CID
  try {
    cid = CID.parse(s)
  } catch {
    throw new GossipValidationError('reject', 'ERR_SCHEMA', 'artifact cid does not parse')
  }
  if (cid.version !== 1 || cid.toString() !== s) throw new GossipValidationError('reject', 'ERR_SCHEMA', 'artifact cid is not canonical CIDv1 base32')
}

/** Decode and verify an artifact record without origin or replay checks (records kept on disk, API uploads). */
export async function openArtifactRecord (bytes: Uint8Array): Promise<SignedRecord<ArtifactMeta>> {
  if (bytes.byteLength > MAX_ARTIFACT_RECORD_BYTES) {
    throw new GossipValidationError('reject', 'ERR_TOO_LARGE', `artifact record of ${bytes.byteLength} bytes exceeds ${MAX_ARTIFACT_RECORD_BYTES}`)
  }
  let rec: SignedRecord<ArtifactMeta>
  try {
    rec = await openRecord<ArtifactMeta>(bytes, { domain: DOMAINS.artifact, maxBytes: MAX_ARTIFACT_RECORD_BYTES })
  } catch (err) {
    if (err instanceof RecordError) throw new GossipValidationError('reject', err.code, err.message)
    throw err
  }
  if (rec.version !== ARTIFACT_RECORD_VERSION) throw new GossipValidationError('ignore', 'ERR_VERSION', `unknown artifact record version ${rec.version}`)
  if (!check.Check(rec.payload)) {
    const first = check.Errors(rec.payload).First()
    throw new GossipValidationError('reject', 'ERR_SCHEMA', `artifact record invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema mismatch'}`)
  }
  checkCid(rec.payload.cid)
  if (rec.payload.producer !== rec.signer) throw new GossipValidationError('reject', 'ERR_PRODUCER', 'artifact producer is not the record signer')
  return rec
}

/**
 * Full gossip validation: a valid record whose signer is the message's author (so nobody re-announces someone else's
 * artifact as news), fresh and not seen before. The replay guard is consulted last, so a bad message never marks a
 * good one as seen.
 */
export async function validateArtifactGossip (bytes: Uint8Array, origin: string | undefined, guard: ReplayGuard): Promise<SignedRecord<ArtifactMeta>> {
  const rec = await openArtifactRecord(bytes)
  if (origin == null || origin !== rec.signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'record signer is not the message author')
  guard.check(rec.signer, rec.domain, rec.seq)
  return rec
}
