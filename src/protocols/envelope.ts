/**
 * Signed envelopes for every application record on the wire.
 *
 * A record is CBOR `{ v, d, k, s, p, g }`: version, domain tag, the signer's public key (libp2p protobuf form),
 * a sequence number (milliseconds since the epoch at signing, used for freshness and replay checks), the payload
 * (itself CBOR bytes) and the Ed25519 signature over a domain-separated CBOR array of everything else.
 * The domain tag keeps a signature made for one topic from ever verifying on another.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto'
import { encode, decode } from 'cborg'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { RecordError } from '../common/errors.js'

const SIGNING_PREFIX = 'meshnode/record/1'
/** Upper bound for any envelope; topics set tighter limits. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024

/** A verified record: only ever produced by `openRecord`. */
export interface SignedRecord<T = unknown> {
  version: number
  domain: string
  /** The signer's peer id as a string (derived from the verified public key). */
  signer: string
  seq: number
  payload: T
  /** The original encoded envelope, e.g. to re-publish or to persist exactly as received. */
  bytes: Uint8Array
}

/** How to open an envelope: the expected domain and size cap. */
export interface OpenOptions {
  /** The domain tag this caller expects; any other is refused. */
  domain: string
  maxBytes?: number
}

/**
 * Signers seen recently: the imported key and the peer id string, by the protobuf key bytes. @libp2p/crypto imports
 * the key (a JWK parse) on every verify, and a peer id is a multihash + base58 encoding: together about half of a
 * verify, and gossip brings the same few signers' records over and over. Each signature is still verified.
 */
const signers = new Map<string, { key: KeyObject, peerId: string }>()
const MAX_CACHED_SIGNERS = 4096

/** The cached signer of protobuf key `k` (throws RecordError when it is not an Ed25519 public key). */
function signerOf (k: Uint8Array): { key: KeyObject, peerId: string } {
  const id = Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64')
  const hit = signers.get(id)
  if (hit != null) return hit
  let publicKey
  try {
    publicKey = publicKeyFromProtobuf(k)
  } catch (err) {
    throw new RecordError('ERR_RECORD_KEY', 'record public key is invalid', { cause: err })
  }
  if (publicKey.type !== 'Ed25519') throw new RecordError('ERR_RECORD_KEY', 'only Ed25519 signers are accepted')
  const signer = {
    key: createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.raw).toString('base64url') } }),
    peerId: peerIdFromPublicKey(publicKey).toString()
  }
  if (signers.size >= MAX_CACHED_SIGNERS) signers.delete(signers.keys().next().value as string)
  signers.set(id, signer)
  return signer
}

function signingBytes (domain: string, version: number, key: Uint8Array, seq: number, payload: Uint8Array): Uint8Array {
  return encode([SIGNING_PREFIX, domain, version, key, seq, payload])
}

/** Sign `payload` (any CBOR-encodable value) under `domain` with the peer key. */
export async function signRecord (privateKey: PrivateKey, domain: string, version: number, seq: number, payload: unknown): Promise<Uint8Array> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RecordError('ERR_RECORD_SEQ', 'seq must be a non-negative safe integer')
  const k = publicKeyToProtobuf(privateKey.publicKey)
  const p = encode(payload)
  const g = await privateKey.sign(signingBytes(domain, version, k, seq, p))
  return encode({ v: version, d: domain, k, s: seq, p, g })
}

/**
 * Decode and verify an envelope. Throws `RecordError` with codes ERR_RECORD_SIZE, ERR_RECORD_DECODE,
 * ERR_RECORD_DOMAIN, ERR_RECORD_KEY, ERR_RECORD_SIGNATURE.
 */
export async function openRecord<T = unknown> (bytes: Uint8Array, opts: OpenOptions): Promise<SignedRecord<T>> {
  const max = opts.maxBytes ?? MAX_ENVELOPE_BYTES
  if (bytes.byteLength > max) throw new RecordError('ERR_RECORD_SIZE', `record of ${bytes.byteLength} bytes exceeds ${max}`)
  let env: Record<string, unknown>
  try {
    env = decode(bytes) as Record<string, unknown>
  } catch (err) {
    throw new RecordError('ERR_RECORD_DECODE', 'record is not valid CBOR', { cause: err })
  }
  if (env == null || typeof env !== 'object' || Array.isArray(env)) throw new RecordError('ERR_RECORD_DECODE', 'record is not a map')
  const { v, d, k, s, p, g } = env
  if (typeof v !== 'number' || !Number.isInteger(v) || typeof d !== 'string' || !(k instanceof Uint8Array) ||
      typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0 || !(p instanceof Uint8Array) || !(g instanceof Uint8Array)) {
    throw new RecordError('ERR_RECORD_DECODE', 'record fields are missing or of the wrong type')
  }
  if (d !== opts.domain) throw new RecordError('ERR_RECORD_DOMAIN', `record domain ${JSON.stringify(d).slice(0, 64)} is not ${opts.domain}`)
  const signer = signerOf(k)
  let ok = false
  try {
    ok = g.byteLength === 64 && verifySignature(null, signingBytes(d, v, k, s, p), signer.key, g)
  } catch { ok = false }
  if (!ok) throw new RecordError('ERR_RECORD_SIGNATURE', 'record signature does not verify')
  let payload: T
  try {
    payload = decode(p) as T
  } catch (err) {
    throw new RecordError('ERR_RECORD_DECODE', 'record payload is not valid CBOR', { cause: err })
  }
  return { version: v, domain: d, signer: signer.peerId, seq: s, payload, bytes }
}
