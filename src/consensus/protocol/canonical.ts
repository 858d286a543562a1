/**
 * Canonical bytes and content ids. A proposal's id is the CID (v1, dag-cbor codec 0x71, sha2-256) of its canonical
 * encoding, so every node derives the same id from the same content and two different proposals never share one.
 *
 * The encoding follows the IPLD dag-cbor rules without depending on @ipld/dag-cbor: cborg's canonical map order
 * (length-first, then bytewise, as dag-cbor), every float as 64-bit, and no `undefined`, NaN, Infinity or non-string
 * map key (those have no canonical form and throw ERR_CANONICAL). A CID value is an IPLD link: tag 42 over the
 * CID's bytes behind a zero byte (the dag-cbor rule), so an archived decision links the proposal it decided.
 */
import { createHash } from 'node:crypto'
import { encode, Token, Type, type EncodeOptions } from 'cborg'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { ConsensusError } from '../errors.js'

/** The multicodec of dag-cbor. */
export const DAG_CBOR_CODE = 0x71
/** The multihash code of sha2-256. */
export const SHA2_256_CODE = 0x12

function refuse (what: string): never {
  throw new ConsensusError('ERR_CANONICAL', `${what} has no canonical encoding`)
}

const CANONICAL_OPTIONS: EncodeOptions = {
  float64: true,
  typeEncoders: {
    undefined: () => refuse('undefined'),
    number: (n: unknown) => {
      if (typeof n === 'number' && !Number.isFinite(n)) refuse(String(n))
      return null
    },
    Object: (o: unknown) => {
      const cid = CID.asCID(o)
      return cid == null ? null : [new Token(Type.tag, 42), new Token(Type.bytes, Uint8Array.of(0, ...cid.bytes))]
    },
    Map: (m: unknown) => {
      if (m instanceof Map) for (const k of m.keys()) if (typeof k !== 'string') refuse('a non-string map key')
      return null
    }
  }
}

/** The canonical (dag-cbor compatible) CBOR bytes of a value; throws ERR_CANONICAL for what has no canonical form. */
export function canonicalBytes (value: unknown): Uint8Array {
  return encode(value, CANONICAL_OPTIONS)
}

/** SHA-256 of bytes. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** A value's canonical encoding and its CIDv1 (dag-cbor, sha2-256) as a base32 string: the block IPFS stores it as. */
export function blockOf (value: unknown): { cid: string, bytes: Uint8Array } {
  const bytes = canonicalBytes(value)
  return { cid: CID.createV1(DAG_CBOR_CODE, createDigest(SHA2_256_CODE, sha256(bytes))).toString(), bytes }
}

/** The CIDv1 (dag-cbor, sha2-256) of a value's canonical encoding, as its base32 string. */
export function cidOf (value: unknown): string {
  return blockOf(value).cid
}
