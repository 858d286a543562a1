import { describe, it, expect, beforeAll } from 'vitest'
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { PublicKey, SecretKey, fastAggregateVerify } from '@chainsafe/blst'
// only to build a real rogue key (G1 subtraction, which blst does not expose); a transitive dependency of libp2p
import { bls12_381 as noble } from '@noble/curves/bls12-381.js'
import {
  BlsKeyRing, aggregateBlsSignatures, blsVoteMessage, buildQc, cidOf, deriveBlsKeyPair, effectiveWeights,
  makeBlsBinding, openVote, signBlsVote, signConsensusRecord, verifyBlsBinding, verifyBlsVote, verifyQc,
  type BlsKeyPair, type QcInput, type QcVerifyOptions, type VoteVerifier, type WeightSnapshot
} from '../../../src/consensus/index.js'
import { P, U, table } from './fixtures.js'

const NET = 'local'
const PID = cidOf({ proposal: 'bls' })
let keys: PrivateKey[]
let ids: string[]
let pairs: BlsKeyPair[]
let ring: BlsKeyRing
let snap: WeightSnapshot
const verify: VoteVerifier = async (bytes) => {
  const r = await openVote(bytes, NET)
  return { voter: r.signer, proposalId: r.payload.proposalId, choice: r.payload.choice }
}
const opts = (): QcVerifyOptions => ({ verify, bls: { network: NET, keys: id => ring.get(id) } })
/** An aggregate QC listing voters `listed` whose signature aggregates the yes votes of `signers` (default: the same). */
const aggregate = (listed: number[], signers = listed, proposalId = PID, network = NET): QcInput => ({
  proposalId,
  epoch: 5,
  votes: [],
  aggregate: {
    voters: listed.map(i => ids[i]).sort(),
    signature: aggregateBlsSignatures(signers.map(i => signBlsVote(pairs[i], network, proposalId, 'yes')))
  }
})

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 8 }, async () => await generateKeyPair('Ed25519')))
  ids = keys.map(k => peerIdFromPrivateKey(k).toString())
  pairs = keys.map(k => deriveBlsKeyPair(k.raw))
  ring = new BlsKeyRing()
  // every peer but the last has a verified binding; the 7th (index 6) is outside the electorate
  for (let i = 0; i < 7; i++) expect(ring.learn(ids[i], makeBlsBinding(pairs[i], ids[i]))).toBe('added')
  // weights 30, 20, 20, 10, 10, 10 units
  snap = effectiveWeights(table(5, ids.slice(0, 6).map((id, i): [string, bigint] => [id, [30n, 20n, 20n, 10n, 10n, 10n][i] * U])), P)
})

describe('BLS key derivation', () => {
  it('derives the same key from the same identity, and different keys from different ones', () => {
    const again = deriveBlsKeyPair(privateKeyFromRaw(keys[0].raw).raw)
    expect(Buffer.from(again.key).equals(Buffer.from(pairs[0].key))).toBe(true)
    expect(Buffer.from(again.secretKey.toBytes()).equals(Buffer.from(pairs[0].secretKey.toBytes()))).toBe(true)
    expect(again.key).toHaveLength(48)
    expect(new Set(pairs.map(p => Buffer.from(p.key).toString('hex'))).size).toBe(pairs.length)
    expect(() => deriveBlsKeyPair(new Uint8Array(16))).toThrow(RangeError)
  })
})

describe('BLS proof of possession', () => {
  it('verifies a binding for its own peer id only', () => {
    const b = makeBlsBinding(pairs[0], ids[0])
    expect(verifyBlsBinding(ids[0], b)).toBeInstanceOf(PublicKey)
    expect(verifyBlsBinding(ids[1], b)).toBeUndefined() // a pop names its peer: not transferable
    expect(verifyBlsBinding(ids[1], { key: pairs[0].key, pop: makeBlsBinding(pairs[1], ids[1]).pop })).toBeUndefined()
    expect(verifyBlsBinding(ids[0], { key: new Uint8Array([0xc0, ...new Uint8Array(47)]), pop: b.pop })).toBeUndefined() // infinity
    expect(verifyBlsBinding(ids[0], { key: new Uint8Array(48).fill(7), pop: b.pop })).toBeUndefined()
    expect(verifyBlsBinding(ids[0], { key: b.key, pop: b.pop.slice(0, 95) })).toBeUndefined()
  })

  it('refuses a rogue key, which would otherwise forge an aggregate for its victim', () => {
    // the attacker picks x and publishes pk' = x*G - pk(victim): then x alone signs for {victim, attacker}
    const G1 = noble.G1.Point
    const x = SecretKey.fromKeygen(new Uint8Array(32).fill(9))
    const rogue = G1.fromBytes(x.toPublicKey().toBytes(true)).subtract(G1.fromBytes(pairs[1].key)).toBytes(true)
    const forged = x.sign(blsVoteMessage(NET, PID, 'yes'))
    expect(fastAggregateVerify(blsVoteMessage(NET, PID, 'yes'), [pairs[1].publicKey, PublicKey.fromBytes(rogue, true)], forged)).toBe(true)
    // ... but no pop can be made for pk' (its secret key is unknown): the best the attacker can sign with is x
    const attacker = ids[5] // a member of the electorate, with weight
    const r = new BlsKeyRing()
    expect(r.learn(attacker, { key: rogue, pop: x.sign(new Uint8Array([1])).toBytes(true) })).toBe('invalid')
    expect(r.learn(attacker, { key: rogue, pop: makeBlsBinding({ secretKey: x, publicKey: x.toPublicKey(), key: rogue }, attacker).pop })).toBe('invalid')
    expect(r.get(attacker)).toBeUndefined()
    // so a QC naming the victim and the attacker is refused for the attacker's missing key, not counted
    const qc: QcInput = { proposalId: PID, epoch: 5, votes: [], aggregate: { voters: [ids[1], attacker].sort(), signature: forged.toBytes(true) } }
    const v = verifyQc(qc, snap, { verify, electorate: [ids[1], attacker], bls: { network: NET, keys: id => id === ids[1] ? pairs[1].publicKey : r.get(id) } })
    return expect(v).resolves.toMatchObject({ ok: false, yes: 0n, refused: [{ reason: 'key' }] })
  })

  it('keeps one key per peer: a second, different key is a conflict', () => {
    const r = new BlsKeyRing()
    expect(r.learn(ids[0], makeBlsBinding(pairs[0], ids[0]))).toBe('added')
    expect(r.learn(ids[0], makeBlsBinding(pairs[0], ids[0]))).toBe('known')
    const other = deriveBlsKeyPair(new Uint8Array(32).fill(3))
    expect(r.learn(ids[0], makeBlsBinding(other, ids[0]))).toBe('conflict')
    expect(Buffer.from(r.get(ids[0])?.toBytes(true) ?? []).equals(Buffer.from(pairs[0].key))).toBe(true)
    expect(r.size).toBe(1)
  })

  it('checks one voter\'s BLS vote against its bound key', () => {
    const sig = signBlsVote(pairs[2], NET, PID, 'yes')
    expect(verifyBlsVote(pairs[2].publicKey, sig, NET, PID, 'yes')).toBe(true)
    expect(verifyBlsVote(pairs[2].publicKey, sig, NET, PID, 'no')).toBe(false)
    expect(verifyBlsVote(pairs[2].publicKey, sig, 'amoy', PID, 'yes')).toBe(false)
    expect(verifyBlsVote(pairs[3].publicKey, sig, NET, PID, 'yes')).toBe(false)
    expect(verifyBlsVote(pairs[2].publicKey, new Uint8Array(96), NET, PID, 'yes')).toBe(false)
  })
})

describe('verifyQc with BLS aggregates', () => {
  it('an aggregate reaching 2/3 verifies alone', async () => {
    const v = await verifyQc(aggregate([0, 1, 2]), snap, opts())
    expect(v).toMatchObject({ ok: true, yes: 70n * U, total: 100n * U, refused: [], checked: 3 })
    expect(v.voters).toEqual([ids[0], ids[1], ids[2]].sort())
  })

  it('refuses an aggregate missing one listed signer', async () => {
    expect(await verifyQc(aggregate([0, 1, 2, 3], [0, 1, 2]), snap, opts())).toMatchObject({ ok: false, yes: 0n, refused: [{ index: -1, reason: 'aggregate' }] })
    // a signer counted twice in the signature is no substitute for the missing one
    expect(await verifyQc(aggregate([0, 1, 2, 3], [0, 1, 2, 2]), snap, opts())).toMatchObject({ ok: false, refused: [{ reason: 'aggregate' }] })
  })

  it('refuses an aggregate listing a voter outside the electorate, or one without a verified key', async () => {
    const v = await verifyQc(aggregate([0, 1, 2, 6]), snap, opts())
    expect(v).toMatchObject({ ok: false, yes: 0n, voters: [] })
    expect(v.refused).toEqual([{ index: [0, 1, 2, 6].map(i => ids[i]).sort().indexOf(ids[6]), reason: 'electorate' }])
    const noKey = await verifyQc(aggregate([0, 1, 2]), snap, { verify, bls: { network: NET, keys: id => id === ids[1] ? undefined : ring.get(id) } })
    expect(noKey).toMatchObject({ ok: false, refused: [{ reason: 'key' }] })
    expect(await verifyQc(aggregate([0, 1, 2]), snap, { verify })).toMatchObject({ ok: false }) // no keys at all
  })

  it('does not reach quorum below 2/3 of the weight', async () => {
    // 30 + 20 + 10 = 60 of 100: every signature is good, the weight is not
    expect(await verifyQc(aggregate([0, 1, 3]), snap, opts())).toMatchObject({ ok: false, yes: 60n * U, total: 100n * U, refused: [] })
    // against a smaller electorate the same voters do reach it
    expect(await verifyQc(aggregate([0, 1, 3]), snap, { ...opts(), electorate: ids.slice(0, 4) })).toMatchObject({ ok: true, yes: 60n * U, total: 80n * U })
  })

  it('refuses a tampered message: another proposal, choice or network, or a changed voter list', async () => {
    const other = cidOf({ proposal: 'other' })
    expect(await verifyQc({ ...aggregate([0, 1, 2], [0, 1, 2], other), proposalId: PID }, snap, opts())).toMatchObject({ ok: false, refused: [{ reason: 'aggregate' }] })
    expect(await verifyQc(aggregate([0, 1, 2], [0, 1, 2], PID, 'amoy'), snap, opts())).toMatchObject({ ok: false, refused: [{ reason: 'aggregate' }] })
    const no = aggregate([0, 1, 2])
    no.aggregate = { voters: no.aggregate?.voters ?? [], signature: aggregateBlsSignatures([0, 1, 2].map(i => pairs[i].secretKey.sign(blsVoteMessage(NET, PID, 'no')).toBytes(true))) }
    expect(await verifyQc(no, snap, opts())).toMatchObject({ ok: false, refused: [{ reason: 'aggregate' }] })
    const swapped = aggregate([0, 1, 2])
    swapped.aggregate = { voters: [0, 2, 3, 4].map(i => ids[i]).sort(), signature: swapped.aggregate?.signature ?? new Uint8Array() }
    expect(await verifyQc(swapped, snap, opts())).toMatchObject({ ok: false, refused: [{ reason: 'aggregate' }] })
    const flipped = aggregate([0, 1, 2])
    const sig = new Uint8Array(flipped.aggregate?.signature ?? [])
    sig[40] ^= 1
    flipped.aggregate = { voters: flipped.aggregate?.voters ?? [], signature: sig }
    expect(await verifyQc(flipped, snap, opts())).toMatchObject({ ok: false })
  })

  it('refuses a voter listed twice or out of order, and a QC of both forms or neither', async () => {
    const qc = aggregate([0, 1, 2])
    const voters = [...qc.aggregate?.voters ?? []]
    const twice = { ...qc, aggregate: { voters: [...voters, voters[2]], signature: qc.aggregate?.signature ?? new Uint8Array() } }
    expect(await verifyQc(twice, snap, opts())).toMatchObject({ ok: false, refused: [{ index: 3, reason: 'duplicate' }] })
    const unsorted = { ...qc, aggregate: { voters: [...voters].reverse(), signature: qc.aggregate?.signature ?? new Uint8Array() } }
    expect(await verifyQc(unsorted, snap, opts())).toMatchObject({ ok: false })
    const vote = await signConsensusRecord(keys[0], NET, 'vote', 1, { proposalId: PID, choice: 'yes', voter: ids[0], network: NET })
    expect(await verifyQc({ ...qc, votes: [vote] }, snap, opts())).toMatchObject({ ok: false, refused: [{ index: -1, reason: 'form' }] })
    expect(await verifyQc({ proposalId: PID, epoch: 5, votes: [] }, snap, opts())).toMatchObject({ ok: false, refused: [{ index: -1, reason: 'form' }] })
  })
})

describe('buildQc', () => {
  it('builds the vote list up to the threshold and the aggregate beyond, and both verify', async () => {
    const votes = await Promise.all([0, 1, 2, 3].map(async i => ({
      voter: ids[i],
      bytes: await signConsensusRecord(keys[i], NET, 'vote', 1, { proposalId: PID, choice: 'yes', voter: ids[i], network: NET }),
      bls: signBlsVote(pairs[i], NET, PID, 'yes')
    })))
    const list = buildQc(PID, 5, votes, 4)
    expect(list.aggregate).toBeUndefined()
    expect(list.votes).toHaveLength(4)
    expect(await verifyQc(list, snap, opts())).toMatchObject({ ok: true })
    const agg = buildQc(PID, 5, votes, 3)
    expect(agg.votes).toHaveLength(0)
    expect(agg.aggregate?.voters).toEqual([0, 1, 2, 3].map(i => ids[i]).sort())
    expect(await verifyQc(agg, snap, opts())).toMatchObject({ ok: true, yes: 80n * U })
    // one vote without a BLS signature: the list form, whatever the count
    expect(buildQc(PID, 5, [...votes.slice(0, 3), { voter: ids[3], bytes: votes[3].bytes }], 3).aggregate).toBeUndefined()
  })
})
