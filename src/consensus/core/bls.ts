/**
 * BLS12-381 for aggregate quorum certificates (min-pk: 48-byte public keys, 96-byte signatures, @chainsafe/blst).
 * An Ed25519 vote list costs one signature check per voter; past ~64 voters a QC is one aggregate signature instead,
 * checked with a single fast-aggregate-verify over the voters' public keys (all voters sign one identical message).
 *
 * - **The key** is derived, not stored: HKDF-SHA256 over the node's Ed25519 private key with a domain tag, then the
 *   IETF KeyGen (`SecretKey.fromKeygen`). The same identity always has the same BLS key, and the Ed25519 key never
 *   leaves this function (HKDF is one-way).
 * - **The binding** `{ key, pop }` ties a BLS key to a peer id. `pop` is a proof of possession: the BLS key's
 *   signature over (pop tag, peer id, key). Without it, a rogue key (pk' = g^x - sum of others' keys) would let one
 *   peer forge an aggregate for everyone; fast aggregate verify is only sound over keys whose possession was proven.
 *   The binding travels inside a record the peer's Ed25519 identity signs (the vote), so the identity vouches for
 *   the key and the key for the identity. blst fixes one DST (the POP ciphersuite's); the pop and vote messages are
 *   kept apart by their own CBOR domain tags, so neither can be replayed as the other.
 * - **The vote message** is the vote's signing domain (network-bound: `consensusDomain('vote', network)`) with the
 *   proposal id and the choice, and nothing per voter (seq, voter), so that yes votes aggregate.
 * Pure: deterministic computation only, no I/O.
 */
import { hkdfSync } from 'node:crypto'
import { encode } from 'cborg'
import {
  aggregateSerializedSignatures, fastAggregateVerify, PublicKey, SecretKey, Signature, verify as blsVerify
} from '@chainsafe/blst'
import { consensusDomain } from '../protocol/topic.js'
import type { VoteChoice } from '../protocol/schemas.js'

/** A compressed BLS public key (G1), in bytes. */
export const BLS_PUBLIC_KEY_BYTES = 48
/** A compressed BLS signature (G2), in bytes. */
export const BLS_SIGNATURE_BYTES = 96
/** The HKDF salt that derives a node's BLS key from its Ed25519 key (changing it changes every node's key). */
export const BLS_KEY_TAG = 'meshnode/consensus-bls-key/1'
/** The domain tag of a proof of possession. */
export const BLS_POP_TAG = 'meshnode/consensus-bls-pop/1'
/** The domain tag of a BLS vote signature (beside the vote's network-bound domain). */
export const BLS_VOTE_TAG = 'meshnode/consensus-bls-vote/1'

/** A peer's BLS public key with its proof of possession, as carried in a signed record. */
export interface BlsBinding {
  key: Uint8Array
  pop: Uint8Array
}

/** A node's BLS key pair, derived from its identity. */
export interface BlsKeyPair {
  secretKey: SecretKey
  publicKey: PublicKey
  /** The compressed public key. */
  key: Uint8Array
}

/**
 * Derive the BLS key pair of an identity: `identitySecret` is the Ed25519 private key's bytes (libp2p's
 * `privateKey.raw`). Deterministic: the same identity gives the same key on every call and every node.
 */
export function deriveBlsKeyPair (identitySecret: Uint8Array): BlsKeyPair {
  if (identitySecret.byteLength < 32) throw new RangeError('an identity secret has at least 32 bytes')
  const ikm = new Uint8Array(hkdfSync('sha256', identitySecret, BLS_KEY_TAG, 'bls12-381 min-pk', 32))
  const secretKey = SecretKey.fromKeygen(ikm)
  const publicKey = secretKey.toPublicKey()
  return { secretKey, publicKey, key: publicKey.toBytes(true) }
}

/** The message a proof of possession signs: the pop tag, the peer id and the key. */
export function popMessage (peerId: string, key: Uint8Array): Uint8Array {
  return encode([BLS_POP_TAG, peerId, key])
}

/** The binding of `pair` to `peerId`: the key and its proof of possession. */
export function makeBlsBinding (pair: BlsKeyPair, peerId: string): BlsBinding {
  return { key: pair.key, pop: pair.secretKey.sign(popMessage(peerId, pair.key)).toBytes(true) }
}

/**
 * Check a binding claimed for `peerId`: the key is a valid group element (not infinity) and its pop verifies for
 * this peer id. Returns the deserialized key, or undefined when anything fails (never throws).
 */
export function verifyBlsBinding (peerId: string, binding: BlsBinding): PublicKey | undefined {
  if (binding.key.byteLength !== BLS_PUBLIC_KEY_BYTES || binding.pop.byteLength !== BLS_SIGNATURE_BYTES) return undefined
  try {
    const pk = PublicKey.fromBytes(binding.key, true)
    const pop = Signature.fromBytes(binding.pop, true)
    return blsVerify(popMessage(peerId, binding.key), pk, pop) ? pk : undefined
  } catch {
    return undefined
  }
}

/** The message a BLS vote signs: identical for every voter of one choice on one proposal, bound to the network. */
export function blsVoteMessage (network: string, proposalId: string, choice: VoteChoice): Uint8Array {
  return encode([BLS_VOTE_TAG, consensusDomain('vote', network), proposalId, choice])
}

/** Sign a vote with the node's BLS key (the signature a vote record carries beside its binding). */
export function signBlsVote (pair: BlsKeyPair, network: string, proposalId: string, choice: VoteChoice): Uint8Array {
  return pair.secretKey.sign(blsVoteMessage(network, proposalId, choice)).toBytes(true)
}

/** Check one voter's BLS vote signature against its (already bound) key; never throws. */
export function verifyBlsVote (key: PublicKey, signature: Uint8Array, network: string, proposalId: string, choice: VoteChoice): boolean {
  try {
    return blsVerify(blsVoteMessage(network, proposalId, choice), key, Signature.fromBytes(signature, true))
  } catch {
    return false
  }
}

/** Aggregate BLS signatures (each group-checked); throws when one does not deserialize. */
export function aggregateBlsSignatures (signatures: readonly Uint8Array[]): Uint8Array {
  if (signatures.length === 0) throw new RangeError('nothing to aggregate')
  return aggregateSerializedSignatures([...signatures], true).toBytes(true)
}

/** Fast aggregate verify: `signature` is the aggregate of every key's signature over `message`; never throws. */
export function verifyBlsAggregate (message: Uint8Array, keys: PublicKey[], signature: Uint8Array): boolean {
  if (keys.length === 0 || signature.byteLength !== BLS_SIGNATURE_BYTES) return false
  try {
    return fastAggregateVerify(message, keys, Signature.fromBytes(signature, true))
  } catch {
    return false
  }
}

/**
 * The BLS keys this node has verified, by peer id: a binding's pop is checked once (two pairings), then the key is
 * looked up for every aggregate. One key per peer: a peer that presents a second, different key keeps its first
 * (derivation is deterministic, so an honest peer never has two), and the conflict is reported to the caller.
 */
export class BlsKeyRing {
  private readonly keys = new Map<string, { bytes: string, key: PublicKey }>()

  /** The verified key of `peerId`, if any. */
  get (peerId: string): PublicKey | undefined {
    return this.keys.get(peerId)?.key
  }

  /** How many peers have a verified key. */
  get size (): number {
    return this.keys.size
  }

  /**
   * Learn `peerId`'s binding (from a record its identity signed). 'known': the same key was already verified;
   * 'added': its pop verified now; 'invalid': the pop does not verify; 'conflict': the peer already has another key.
   */
  learn (peerId: string, binding: BlsBinding): 'known' | 'added' | 'invalid' | 'conflict' {
    const bytes = Buffer.from(binding.key).toString('base64')
    const had = this.keys.get(peerId)
    if (had != null) return had.bytes === bytes ? 'known' : 'conflict'
    const key = verifyBlsBinding(peerId, binding)
    if (key == null) return 'invalid'
    this.keys.set(peerId, { bytes, key })
    return 'added'
  }
}
