import { describe, it, expect, beforeAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { encode, decode } from 'cborg'
import { CID } from 'multiformats/cid'
import { signRecord } from '../../../src/protocols/envelope.js'
import { openSignedRecord } from '../../../src/protocols/record.js'
import { ReplayGuard } from '../../../src/protocols/replay.js'
import { ManualClock } from '../../../src/common/clock.js'
import { GossipValidationError } from '../../../src/common/errors.js'
import {
  CONSENSUS_SYNC_PROTOCOL, CONSENSUS_TOPIC, CONSENSUS_RECORD_VERSION, canonicalBytes, cidOf, consensusDomain,
  consensusRecordSpecs, openConsensusRecord, openVote, proposalId, signConsensusRecord, verifyEvidence,
  type Proposal, type Vote
} from '../../../src/consensus/index.js'

const NET = 'local'
let alice: PrivateKey
let bob: PrivateKey
let A: string
let B: string
beforeAll(async () => {
  alice = await generateKeyPair('Ed25519')
  bob = await generateKeyPair('Ed25519')
  A = peerIdFromPrivateKey(alice).toString()
  B = peerIdFromPrivateKey(bob).toString()
})

const proposal = (over: Partial<Proposal> = {}): Proposal => ({
  kind: 'hyperparams', payload: { jobId: 'j', lr: 0.01 }, proposer: A, createdAt: 1_000, expiresAt: 61_000, snapshot: 3, ...over
})
const PID = cidOf({ x: 'some proposal' })
const vote = (voter: string, over: Partial<Vote> = {}): Vote => ({ proposalId: PID, choice: 'yes', voter, network: NET, ...over })
const codeOf = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'ok', (e: GossipValidationError) => e.code)

describe('wire names', () => {
  it('topic, sync protocol and domains', () => {
    expect(CONSENSUS_TOPIC).toBe('meshnode/consensus/1')
    expect(CONSENSUS_SYNC_PROTOCOL).toBe('/meshnode/consensus-sync/1.0.0')
    expect(consensusDomain('vote', 'amoy')).toBe('meshnode/consensus-vote/amoy')
  })
})

describe('canonical ids', () => {
  it('a proposal id is a CIDv1 dag-cbor sha2-256 of its canonical encoding, independent of key order', () => {
    const p = proposal()
    const shuffled: Proposal = { snapshot: p.snapshot, expiresAt: p.expiresAt, payload: { lr: 0.01, jobId: 'j' }, createdAt: p.createdAt, proposer: p.proposer, kind: p.kind }
    const id = proposalId(p)
    expect(proposalId(shuffled)).toBe(id)
    const cid = CID.parse(id)
    expect(cid.version).toBe(1)
    expect(cid.code).toBe(0x71)
    expect(cid.multihash.code).toBe(0x12)
    expect(proposalId(proposal({ expiresAt: 61_001 }))).not.toBe(id)
  })

  it('matches @ipld/dag-cbor where it is installed', async () => {
    const mod = await import('@ipld/dag-cbor').catch(() => undefined)
    if (mod == null) return
    const value = { b: [1, 2.5, -3, 'x', new Uint8Array([1, 2])], a: { z: null, y: true }, longer: 2 ** 40 }
    expect(Buffer.from(canonicalBytes(value)).equals(Buffer.from(mod.encode(value)))).toBe(true)
  })

  it.each<[string, unknown]>([
    ['undefined', { a: undefined }], ['NaN', [Number.NaN]], ['Infinity', { x: Infinity }], ['a non-string map key', new Map([[1, 2]])]
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalBytes(value)).toThrow(expect.objectContaining({ code: 'ERR_CANONICAL' }))
  })
})

describe('records', () => {
  it('round-trips every record type through openConsensusRecord', async () => {
    const p = await signConsensusRecord(alice, NET, 'proposal', 1, proposal())
    const v = await signConsensusRecord(bob, NET, 'vote', 2, vote(B))
    const q = await signConsensusRecord(alice, NET, 'qc', 3, { proposalId: PID, epoch: 3, votes: [v] })
    const e = await signConsensusRecord(alice, NET, 'evidence', 4, { first: v, second: await signConsensusRecord(bob, NET, 'vote', 5, vote(B, { choice: 'no' })) })
    const x = await signConsensusRecord(bob, NET, 'veto', 6, { proposalId: PID, guardian: B, reason: 'lr out of range' })
    const opened = await Promise.all([p, v, q, e, x].map(async b => await openConsensusRecord(b, NET)))
    expect(opened.map(o => o.type)).toEqual(['proposal', 'vote', 'qc', 'evidence', 'veto'])
    expect(opened[0].record.payload).toEqual(proposal())
    expect(opened[1].record.signer).toBe(B)
  })

  it.each<[string, () => Promise<Uint8Array>, string]>([
    ['a proposal signed by someone else than its proposer', async () => await signConsensusRecord(bob, NET, 'proposal', 1, proposal()), 'ERR_SIGNER'],
    ['a proposal that expires before it is created', async () => await signConsensusRecord(alice, NET, 'proposal', 1, proposal({ expiresAt: 999 })), 'ERR_BOUNDS'],
    ['a proposal open longer than 30 days', async () => await signConsensusRecord(alice, NET, 'proposal', 1, proposal({ expiresAt: 1_000 + 31 * 86_400_000 })), 'ERR_BOUNDS'],
    ['a proposal whose payload has no canonical encoding (NaN)', async () => await signConsensusRecord(alice, NET, 'proposal', 1, proposal({ payload: { lr: Number.NaN } })), 'ERR_CANONICAL'],
    ['a proposal with an unknown field', async () => await signConsensusRecord(alice, NET, 'proposal', 1, { ...proposal(), extra: 1 } as Proposal), 'ERR_SCHEMA'],
    ['a vote signed by someone else than its voter', async () => await signConsensusRecord(alice, NET, 'vote', 1, vote(B)), 'ERR_SIGNER'],
    ['a vote with a bad choice', async () => await signConsensusRecord(bob, NET, 'vote', 1, { ...vote(B), choice: 'maybe' } as unknown as Vote), 'ERR_SCHEMA'],
    ['a vote on a proposal id that is no CID', async () => await signConsensusRecord(bob, NET, 'vote', 1, vote(B, { proposalId: 'nope' })), 'ERR_SCHEMA'],
    ['a prevote that says no', async () => await signConsensusRecord(bob, NET, 'vote', 1, vote(B, { choice: 'no', phase: 'prevote' })), 'ERR_PHASE'],
    ['a vote whose payload names another network', async () => await signConsensusRecord(bob, NET, 'vote', 1, vote(B, { network: 'amoy' })), 'ERR_NETWORK'],
    ['a QC listing one vote twice', async () => {
      const v = await signConsensusRecord(bob, NET, 'vote', 1, vote(B))
      return await signConsensusRecord(alice, NET, 'qc', 2, { proposalId: PID, epoch: 0, votes: [v, v] })
    }, 'ERR_DUPLICATE'],
    ['evidence repeating one vote', async () => {
      const v = await signConsensusRecord(bob, NET, 'vote', 1, vote(B))
      return await signConsensusRecord(alice, NET, 'evidence', 2, { first: v, second: v })
    }, 'ERR_EVIDENCE'],
    ['a veto signed by someone else than its guardian', async () => await signConsensusRecord(alice, NET, 'veto', 1, { proposalId: PID, guardian: B, reason: 'x' }), 'ERR_SIGNER'],
    ['a future record version', async () => await signRecord(bob, consensusDomain('vote', NET), CONSENSUS_RECORD_VERSION + 1, 1, vote(B)), 'ERR_VERSION']
  ])('refuses %s', async (_name, make, code) => {
    expect(await codeOf(openConsensusRecord(await make(), NET))).toBe(code)
  })
})

describe('replayed votes are refused', () => {
  it('the same vote twice on gossip (ERR_REPLAY)', async () => {
    const clock = new ManualClock(10_000)
    const guard = new ReplayGuard(clock, { maxAgeMs: 60_000, maxSkewMs: 5_000 })
    const bytes = await signConsensusRecord(bob, NET, 'vote', 9_999, vote(B))
    await openConsensusRecord(bytes, NET, { source: B, guard })
    expect(await codeOf(openConsensusRecord(bytes, NET, { source: B, guard }))).toBe('ERR_REPLAY')
  })

  it('after the seen-cache forgot it: stale by its seq (ERR_STALE)', async () => {
    const clock = new ManualClock(10_000)
    const bytes = await signConsensusRecord(bob, NET, 'vote', 9_999, vote(B))
    clock.advance(120_000)
    const fresh = new ReplayGuard(clock, { maxAgeMs: 60_000, maxSkewMs: 5_000 }) // a restarted node: empty cache
    expect(await codeOf(openConsensusRecord(bytes, NET, { source: B, guard: fresh }))).toBe('ERR_STALE')
  })

  it('relayed again by another peer: refused, without costing the relay (ERR_REPLAY, ignore)', async () => {
    const guard = new ReplayGuard(new ManualClock(10_000), { maxAgeMs: 60_000, maxSkewMs: 5_000 })
    const bytes = await signConsensusRecord(bob, NET, 'vote', 9_999, vote(B))
    await openConsensusRecord(bytes, NET, { source: A, guard })
    await expect(openConsensusRecord(bytes, NET, { source: A, guard })).rejects.toMatchObject({ action: 'ignore', code: 'ERR_REPLAY' })
  })

  it('moved onto another proposal: the signature no longer verifies', async () => {
    const bytes = await signConsensusRecord(bob, NET, 'vote', 1, vote(B))
    const env = decode(bytes)
    env.p = encode(vote(B, { proposalId: cidOf({ x: 'another proposal' }) }))
    expect(await codeOf(openVote(encode(env), NET))).toBe('ERR_RECORD_SIGNATURE')
  })

  it('signed for another network: never verifies here, by domain and by spec', async () => {
    const bytes = await signConsensusRecord(bob, 'amoy', 'vote', 1, vote(B, { network: 'amoy' }))
    expect(await codeOf(openVote(bytes, NET))).toBe('ERR_RECORD_DOMAIN')
    expect(await codeOf(openConsensusRecord(bytes, NET))).toBe('ERR_DOMAIN')
    // re-labelled with this network's domain, the signature breaks
    const env = decode(bytes)
    env.d = consensusDomain('vote', NET)
    expect(await codeOf(openSignedRecord(encode(env), consensusRecordSpecs(NET).vote))).toBe('ERR_RECORD_SIGNATURE')
  })
})

describe('verifyEvidence', () => {
  it('accepts two conflicting votes of one voter on one proposal', async () => {
    const first = await signConsensusRecord(bob, NET, 'vote', 1, vote(B))
    const second = await signConsensusRecord(bob, NET, 'vote', 2, vote(B, { choice: 'no' }))
    const r = await verifyEvidence({ first, second }, NET)
    expect(r.voter).toBe(B)
    expect(r.proposalId).toBe(PID)
  })

  it.each<[string, () => Promise<[Uint8Array, Uint8Array]>, string]>([
    ['two voters', async () => [await signConsensusRecord(bob, NET, 'vote', 1, vote(B)), await signConsensusRecord(alice, NET, 'vote', 2, vote(A, { choice: 'no' }))], 'ERR_EVIDENCE'],
    ['two proposals', async () => [await signConsensusRecord(bob, NET, 'vote', 1, vote(B)), await signConsensusRecord(bob, NET, 'vote', 2, vote(B, { choice: 'no', proposalId: cidOf(2) }))], 'ERR_EVIDENCE'],
    ['no conflict', async () => [await signConsensusRecord(bob, NET, 'vote', 1, vote(B)), await signConsensusRecord(bob, NET, 'vote', 2, vote(B))], 'ERR_EVIDENCE'],
    ['a vote of another network', async () => [await signConsensusRecord(bob, NET, 'vote', 1, vote(B)), await signConsensusRecord(bob, 'amoy', 'vote', 2, vote(B, { choice: 'no', network: 'amoy' }))], 'ERR_RECORD_DOMAIN']
  ])('refuses %s', async (_name, make, code) => {
    const [first, second] = await make()
    expect(await codeOf(verifyEvidence({ first, second }, NET))).toBe(code)
  })
})

describe('verifyEvidence: a double-back (yes on two contents of one epoch)', () => {
  const epochProposal = (over: Record<string, unknown> = {}, p: Partial<Proposal> = {}): Proposal => proposal({
    kind: 'epoch', payload: { epoch: 4, prev: 'a'.repeat(64), accepted: [], evidence: [], ...over }, snapshot: 3, ...p
  })
  /** Alice proposes both; Bob signs yes on each (unless `choices` says otherwise; `phases`: prevotes); the evidence carries both. */
  const make = async (a: Proposal, b: Proposal, choices: [Vote['choice'], Vote['choice']] = ['yes', 'yes'], phases: [Vote['phase'], Vote['phase']] = [undefined, undefined]): Promise<{ first: Uint8Array, second: Uint8Array, proposals: [Uint8Array, Uint8Array] }> => ({
    first: await signConsensusRecord(bob, NET, 'vote', 1, vote(B, { proposalId: proposalId(a), choice: choices[0], ...(phases[0] != null ? { phase: phases[0] } : {}) })),
    second: await signConsensusRecord(bob, NET, 'vote', 2, vote(B, { proposalId: proposalId(b), choice: choices[1], ...(phases[1] != null ? { phase: phases[1] } : {}) })),
    proposals: [await signConsensusRecord(alice, NET, 'proposal', 1, a), await signConsensusRecord(alice, NET, 'proposal', 2, b)]
  })

  it.each([[undefined], ['prevote' as const]])('accepts two %s votes yes on two epoch proposals of one epoch and round with different content, named by the smaller id in either order', async (phase) => {
    const a = epochProposal()
    const b = epochProposal({ prev: 'b'.repeat(64) })
    const e = await make(a, b, ['yes', 'yes'], [phase, phase])
    const r = await verifyEvidence(e, NET)
    expect(r.voter).toBe(B)
    expect(r.proposalId).toBe([proposalId(a), proposalId(b)].sort()[0])
    const swapped = await verifyEvidence({ first: e.second, second: e.first, proposals: [e.proposals[1], e.proposals[0]] }, NET)
    expect(swapped.proposalId).toBe(r.proposalId)
  })

  it.each<[string, () => Promise<{ first: Uint8Array, second: Uint8Array, proposals?: [Uint8Array, Uint8Array] }>]>([
    ['the same content (another attempt carrying it again)', async () => await make(epochProposal(), epochProposal({}, { expiresAt: 9_000_000 }))],
    ['two rounds (a lock released by a later polka)', async () => await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }, { createdAt: 2_000 }))],
    ['a prevote and a vote', async () => await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }), ['yes', 'yes'], ['prevote', undefined])],
    ['two epochs', async () => await make(epochProposal(), epochProposal({ epoch: 5 }))],
    ['a kind other than epoch', async () => await make(epochProposal(), proposal())],
    ['a no among the votes', async () => await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }), ['yes', 'no'])],
    ['proposals other than the ones voted on', async () => {
      const e = await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }))
      return { ...e, proposals: [e.proposals[1], e.proposals[0]] }
    }],
    ['no proposals', async () => {
      const { first, second } = await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }))
      return { first, second }
    }],
    ['proposals on evidence about one proposal', async () => {
      const a = epochProposal()
      const e = await make(a, a, ['yes', 'no'])
      return e
    }]
  ])('refuses %s', async (_name, build) => {
    expect(await codeOf(verifyEvidence(await build(), NET))).toBe('ERR_EVIDENCE')
  })

  it('refuses a proposal whose signature does not verify', async () => {
    const e = await make(epochProposal(), epochProposal({ prev: 'b'.repeat(64) }))
    const env = decode(e.proposals[1]) as Record<string, unknown>
    const forged = encode({ ...env, p: encode({ ...(decode(env.p as Uint8Array) as Record<string, unknown>), createdAt: 3_000 }) })
    expect(await codeOf(verifyEvidence({ ...e, proposals: [e.proposals[0], forged] }, NET))).toBe('ERR_RECORD_SIGNATURE')
  })
})
