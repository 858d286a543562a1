import { describe, it, expect, beforeAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  BlsKeyRing, BlsVotes, aggregateBlsSignatures, checkVoteBls, cidOf, deriveBlsKeyPair, effectiveWeights, makeBlsBinding,
  openConsensusRecord, openVote, signBlsVote, signConsensusRecord, type BlsKeyPair, type Vote, type WeightSnapshot
} from '../../../src/consensus/index.js'
import { P, U, table } from './fixtures.js'

const NET = 'local'
const PID = cidOf({ proposal: 'bls-records' })
let keys: PrivateKey[]
let ids: string[]
let pairs: BlsKeyPair[]
let snap: WeightSnapshot
const blsPart = (i: number, choice: 'yes' | 'no' = 'yes', bindAs = i): NonNullable<Vote['bls']> =>
  ({ ...makeBlsBinding(pairs[bindAs], ids[i]), sig: signBlsVote(pairs[bindAs], NET, PID, choice) })
const vote = (i: number, bls?: Vote['bls'], choice: 'yes' | 'no' = 'yes'): Vote => ({ proposalId: PID, choice, voter: ids[i], network: NET, ...(bls != null ? { bls } : {}) })

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 5 }, async () => await generateKeyPair('Ed25519')))
  ids = keys.map(k => peerIdFromPrivateKey(k).toString())
  pairs = keys.map(k => deriveBlsKeyPair(k.raw))
  snap = effectiveWeights(table(2, ids.slice(0, 4).map((id): [string, bigint] => [id, 10n * U])), P)
})

describe('votes with a BLS part', () => {
  it('sign and open like any vote; a vote without one (every earlier record) still opens', async () => {
    const withBls = await signConsensusRecord(keys[0], NET, 'vote', 1, vote(0, blsPart(0)))
    const opened = await openVote(withBls, NET)
    expect(opened.payload.bls?.key).toEqual(pairs[0].key)
    expect((await openVote(await signConsensusRecord(keys[0], NET, 'vote', 2, vote(0)), NET)).payload.bls).toBeUndefined()
  })

  it('refuses a BLS part of the wrong size at the schema', async () => {
    const bad = { ...blsPart(0), key: pairs[0].key.slice(0, 47) }
    await expect(openVote(await signConsensusRecord(keys[0], NET, 'vote', 1, vote(0, bad)), NET)).rejects.toThrow()
  })

  it('checkVoteBls accepts a bound key and refuses a rogue or a second one', () => {
    const ring = new BlsKeyRing()
    expect(() => { checkVoteBls(vote(0), ring) }).not.toThrow() // no BLS part: nothing to check
    expect(() => { checkVoteBls(vote(0, blsPart(0)), ring) }).not.toThrow()
    expect(ring.get(ids[0])).toBeDefined()
    // voter 1 presents voter 0's key and pop: the pop names voter 0, so it is refused for voter 1
    expect(() => { checkVoteBls(vote(1, { ...makeBlsBinding(pairs[0], ids[0]), sig: signBlsVote(pairs[0], NET, PID, 'yes') }), ring) }).toThrow(expect.objectContaining({ code: 'ERR_BLS', action: 'reject' }))
    // voter 0 switches to another key, with a valid pop for it: one key per peer
    expect(() => { checkVoteBls(vote(0, blsPart(0, 'yes', 1)), ring) }).toThrow(expect.objectContaining({ code: 'ERR_BLS' }))
    expect(ring.get(ids[1])).toBeUndefined()
  })
})

describe('QC records of both forms', () => {
  const aggregateQc = (voters: string[]): { proposalId: string, epoch: number, votes: Uint8Array[], aggregate: { voters: string[], signature: Uint8Array } } =>
    ({ proposalId: PID, epoch: 2, votes: [], aggregate: { voters, signature: aggregateBlsSignatures([0, 1, 2].map(i => signBlsVote(pairs[i], NET, PID, 'yes'))) } })

  it('an aggregate QC signs and opens; a vote-list QC still does', async () => {
    const sorted = [ids[0], ids[1], ids[2]].sort()
    const o = await openConsensusRecord(await signConsensusRecord(keys[0], NET, 'qc', 1, aggregateQc(sorted)), NET)
    expect(o.type).toBe('qc')
    if (o.type === 'qc') expect(o.record.payload.aggregate?.voters).toEqual(sorted)
    const v = await signConsensusRecord(keys[1], NET, 'vote', 1, vote(1))
    expect((await openConsensusRecord(await signConsensusRecord(keys[0], NET, 'qc', 2, { proposalId: PID, epoch: 2, votes: [v] }), NET)).type).toBe('qc')
  })

  it.each([
    ['both forms', (q: ReturnType<typeof aggregateQc>, v: Uint8Array) => ({ ...q, votes: [v] }), 'ERR_QC_FORM'],
    ['neither form', (q: ReturnType<typeof aggregateQc>) => ({ proposalId: q.proposalId, epoch: q.epoch, votes: [] }), 'ERR_QC_FORM'],
    ['unsorted voters', (q: ReturnType<typeof aggregateQc>) => ({ ...q, aggregate: { ...q.aggregate, voters: [...q.aggregate.voters].reverse() } }), 'ERR_DUPLICATE'],
    ['a voter twice', (q: ReturnType<typeof aggregateQc>) => ({ ...q, aggregate: { ...q.aggregate, voters: [q.aggregate.voters[0], q.aggregate.voters[0]] } }), 'ERR_DUPLICATE']
  ])('refuses %s', async (_, change, code) => {
    const v = await signConsensusRecord(keys[1], NET, 'vote', 1, vote(1))
    const qc = change(aggregateQc([ids[0], ids[1], ids[2]].sort()), v)
    await expect(openConsensusRecord(await signConsensusRecord(keys[0], NET, 'qc', 3, qc), NET)).rejects.toMatchObject({ code })
  })
})

describe('BlsVotes', () => {
  it('aggregates the yes votes of more voters than the threshold, checked once, and keeps the result', async () => {
    const b = new BlsVotes(NET, 2)
    for (const i of [0, 1, 2, 3]) b.note(vote(i, blsPart(i)))
    b.note(vote(4, blsPart(4), 'no')) // a no vote is never aggregated
    const voters = [ids[0], ids[1], ids[2]].sort()
    expect(await b.aggregate(PID, voters.slice(0, 2), snap, ids.slice(0, 4))).toBeUndefined() // not above the threshold
    const agg = await b.aggregate(PID, voters, snap, ids.slice(0, 4))
    expect(agg?.voters).toEqual(voters)
    expect(b.get(PID)).toBe(agg)
    expect(b.ring.size).toBe(4)
  })

  it('builds none when a voter has no BLS signature here or one signed garbage (the vote list stands)', async () => {
    const b = new BlsVotes(NET, 2)
    for (const i of [0, 1]) b.note(vote(i, blsPart(i)))
    b.note(vote(2)) // no BLS part
    expect(await b.aggregate(PID, [ids[0], ids[1], ids[2]].sort(), snap, ids.slice(0, 4))).toBeUndefined()
    const c = new BlsVotes(NET, 2)
    for (const i of [0, 1]) c.note(vote(i, blsPart(i)))
    c.note(vote(2, { ...blsPart(2), sig: signBlsVote(pairs[2], NET, cidOf({ other: 1 }), 'yes') })) // a signature of another proposal
    expect(await c.aggregate(PID, [ids[0], ids[1], ids[2]].sort(), snap, ids.slice(0, 4))).toBeUndefined()
    expect(c.get(PID)).toBeUndefined()
  })

  it('does not keep the signature of a vote whose binding fails', async () => {
    const b = new BlsVotes(NET, 2)
    for (const i of [0, 1]) b.note(vote(i, blsPart(i)))
    b.note(vote(2, { ...makeBlsBinding(pairs[2], ids[3]), sig: signBlsVote(pairs[2], NET, PID, 'yes') })) // pop names another peer
    expect(b.ring.get(ids[2])).toBeUndefined()
    expect(await b.aggregate(PID, [ids[0], ids[1], ids[2]].sort(), snap, ids.slice(0, 4))).toBeUndefined()
  })
})
