import { describe, it, expect, beforeAll } from 'vitest'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  assertQc, cidOf, effectiveWeights, openVote, signConsensusRecord, verifyQc, type OpenedVote, type VoteVerifier,
  type WeightSnapshot
} from '../../../src/consensus/index.js'
import { qcVoters, voteVerifier } from '../../../src/consensus/service/catchup.js'
import { P, U, table } from './fixtures.js'

const NET = 'local'
const PID = cidOf({ proposal: 1 })
const OTHER = cidOf({ proposal: 2 })
let keys: PrivateKey[]
let ids: string[]
let snap: WeightSnapshot
const verify: VoteVerifier = async (bytes) => {
  const r = await openVote(bytes, NET)
  return { voter: r.signer, proposalId: r.payload.proposalId, choice: r.payload.choice }
}
const signed = async (i: number, choice: 'yes' | 'no' | 'abstain' = 'yes', proposalId = PID, network = NET, seq = 1): Promise<Uint8Array> =>
  await signConsensusRecord(keys[i], network, 'vote', seq, { proposalId, choice, voter: ids[i], network })

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 7 }, async () => await generateKeyPair('Ed25519')))
  ids = keys.map(k => peerIdFromPrivateKey(k).toString())
  // weights 30, 20, 20, 10, 10, 10 units; the 7th key is a stranger
  snap = effectiveWeights(table(5, ids.slice(0, 6).map((id, i): [string, bigint] => [id, [30n, 20n, 20n, 10n, 10n, 10n][i] * U])), P)
})

describe('verifyQc with Ed25519 vote lists', () => {
  it('a QC reaching 2/3 of the snapshot verifies alone', async () => {
    const votes = await Promise.all([0, 1, 2].map(async i => await signed(i)))
    const v = await verifyQc({ proposalId: PID, epoch: 5, votes }, snap, { verify })
    expect(v).toMatchObject({ ok: true, yes: 70n * U, total: 100n * U, refused: [], checked: 3 })
    expect(v.voters).toEqual([ids[0], ids[1], ids[2]].sort())
  })

  it('refuses what does not count, and does not reach quorum with it', async () => {
    const votes = [
      await signed(0), await signed(1),
      await signed(0, 'yes', PID, NET, 2), // the same voter again (another envelope)
      await signed(2, 'yes', OTHER), // a vote on another proposal
      await signed(3, 'no'),
      await signed(6), // not in the electorate
      await signed(4, 'yes', PID, 'amoy'), // signed for another network
      new Uint8Array([1, 2, 3])
    ]
    const v = await verifyQc({ proposalId: PID, epoch: 5, votes }, snap, { verify })
    expect(v.ok).toBe(false)
    expect(v.yes).toBe(50n * U)
    expect(v.refused).toEqual([
      { index: 2, reason: 'duplicate' }, { index: 3, reason: 'proposal' }, { index: 4, reason: 'choice' },
      { index: 5, reason: 'electorate' }, { index: 6, reason: 'signature' }, { index: 7, reason: 'signature' }
    ])
    await expect(assertQc({ proposalId: PID, epoch: 5, votes }, snap, { verify })).rejects.toMatchObject({ code: 'ERR_QC' })
  })

  it('counts no prevote: prevotes of 2/3 (an epoch attempt\'s first phase) are no QC', async () => {
    const prevotes = await Promise.all([0, 1, 2, 3].map(async i => await signConsensusRecord(keys[i], NET, 'vote', 1, { proposalId: PID, choice: 'yes', voter: ids[i], network: NET, phase: 'prevote' })))
    const v = await verifyQc({ proposalId: PID, epoch: 5, votes: prevotes }, snap, { verify: voteVerifier(NET) })
    expect(v).toMatchObject({ ok: false, yes: 0n })
    expect(v.refused.map(r => r.reason)).toEqual(['choice', 'choice', 'choice', 'choice'])
    expect(await qcVoters({ proposalId: PID, epoch: 5, votes: prevotes }, PID, NET)).toEqual([])
  })

  it('stops at the vote that reaches 2/3 unless asked for all', async () => {
    const votes = [...await Promise.all([0, 1, 2, 3].map(async i => await signed(i))), new Uint8Array([9])]
    expect(await verifyQc({ proposalId: PID, epoch: 5, votes }, snap, { verify })).toMatchObject({ ok: true, checked: 3, yes: 70n * U, refused: [] })
    expect(await verifyQc({ proposalId: PID, epoch: 5, votes }, snap, { verify, all: true })).toMatchObject({
      ok: true, checked: 5, yes: 80n * U, refused: [{ index: 4, reason: 'signature' }]
    })
  })

  it('is checked against its electorate', async () => {
    const votes = await Promise.all([0, 1, 2].map(async i => await signed(i)))
    const v = await verifyQc({ proposalId: PID, epoch: 5, votes }, snap, { verify, electorate: ids })
    expect(v.ok).toBe(true)
    const w = await verifyQc({ proposalId: PID, epoch: 5, votes: votes.slice(0, 1) }, snap, { verify, electorate: [ids[0], ids[3]] })
    expect(w).toMatchObject({ ok: true, total: 40n * U })
  })

  it('refuses a snapshot of another epoch', async () => {
    await expect(verifyQc({ proposalId: PID, epoch: 4, votes: [await signed(0)] }, snap, { verify })).rejects.toMatchObject({ code: 'ERR_EPOCH' })
  })
})

describe('verifyQc (property)', () => {
  it('holds exactly when distinct electorate yes votes on the proposal reach 2/3', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.record({ voter: fc.nat(15), yes: fc.boolean(), mine: fc.boolean() }), { maxLength: 30 }),
      async (ws, list) => {
        const s = effectiveWeights(table(1, ws.map((w, i): [string, bigint] => [`p${i}`, BigInt(w) * P.probationThreshold])), P)
        const votes = list.map(x => new TextEncoder().encode(JSON.stringify({ voter: `p${x.voter}`, proposalId: x.mine ? 'X' : 'Y', choice: x.yes ? 'yes' : 'no' })))
        const fake: VoteVerifier = (b) => JSON.parse(new TextDecoder().decode(b)) as OpenedVote
        const v = await verifyQc({ proposalId: 'X', epoch: 1, votes }, s, { verify: fake, all: true })
        const counted = new Set(list.filter(x => x.yes && x.mine && x.voter < ws.length).map(x => x.voter))
        const yes = [...counted].reduce((a, i) => a + BigInt(ws[i]) * P.probationThreshold, 0n)
        expect(v.yes).toBe(yes)
        expect(v.ok).toBe(3n * yes >= 2n * s.total)
        expect((await verifyQc({ proposalId: 'X', epoch: 1, votes }, s, { verify: fake })).ok).toBe(v.ok)
      }))
  })
})
