/** Table tests of the service's pure parts: parameter overrides, the epoch chain, the epoch judgement, the kind registry. */
import { describe, it, expect } from 'vitest'
import { Type } from '@sinclair/typebox'
import { EpochChain, KindRegistry, type EpochPayload } from '../../../src/consensus/index.js'
import { withParams } from '../../../src/consensus/service/chain.js'
import { buildEpochPayload, followsChain, judgeEpoch } from '../../../src/consensus/service/epochs.js'
import { newEntry, type Entry } from '../../../src/consensus/service/entry.js'
import { defaultReputationParams } from '../../../src/consensus/core/index.js'

const genesis = (scores: number[]): ConstructorParameters<typeof EpochChain>[0] => ({
  params: {},
  pretrusted: scores.map((s, i) => ({ peerId: `p${i}`, score: String(s) })),
  guardians: { keys: ['g'], threshold: 1 },
  startedAt: 0
})

const CID = 'bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const CID2 = 'bafyreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

function acceptedEntry (id: string, voters: string[]): Entry {
  const e = newEntry(id, new Uint8Array([1]), { kind: 'network-param', payload: { name: 'a', value: 1 }, proposer: 'p0', createdAt: 0, expiresAt: 1000, snapshot: 0 })
  e.status = 'accepted'
  e.executed = true
  e.qcVoters = voters
  for (const v of voters) e.votes.set(v, [{ voter: v, choice: 'yes', seq: 10, bytes: new Uint8Array([2]) }])
  return e
}

describe('withParams', () => {
  it.each([
    [{ decayBps: 2000 }, 'decayBps', 2000n],
    [{ probationEpochs: 5 }, 'probationEpochs', 5],
    [{ workUnit: '123456789012345678901' }, 'workUnit', 123456789012345678901n]
  ])('applies %j', (over, key, want) => {
    expect(withParams(defaultReputationParams, over)[key as keyof typeof defaultReputationParams]).toBe(want)
  })
  it.each([
    [{ nope: 1 }, /unknown/],
    [{ decayBps: -1 }, /non-negative/],
    [{ bondBps: 5000 }, /bondBps/],
    [{ probationPoolBps: 2000 }, /probationPoolBps/]
  ])('refuses %j', (over, msg) => {
    expect(() => withParams(defaultReputationParams, over)).toThrow(msg)
  })
})

describe('EpochChain', () => {
  it('starts at the genesis table, established, and applies epochs deterministically', () => {
    const a = new EpochChain(genesis([2e12, 1e12, 1e12]))
    const b = new EpochChain(genesis([2e12, 1e12, 1e12]))
    expect(a.epoch).toBe(0)
    expect(a.electorate().total).toBe(4_000_000_000_000n)
    const records = { seals: [], outcomes: [{ proposalId: CID, outcome: 'accepted' as const, votes: [{ voter: 'p0', choice: 'yes' as const }, { voter: 'p1', choice: 'yes' as const }] }], evidence: [] }
    const ea = a.apply({ epoch: 1, proposalId: CID2, createdAt: 5, accepted: [CID], evidence: [] }, records)
    const eb = b.apply({ epoch: 1, proposalId: CID2, createdAt: 5, accepted: [CID], evidence: [] }, records)
    expect(ea.hash).toBe(eb.hash)
    expect(a.table(1).peers.get('p1')?.score).toBeGreaterThan(a.table(1).peers.get('p2')?.score ?? 0n)
    expect(a.lastAt).toBe(5)
    expect(() => a.apply({ epoch: 3, proposalId: CID2, createdAt: 6, accepted: [], evidence: [] }, { seals: [], outcomes: [], evidence: [] })).toThrow(/cannot follow/)
  })
  it('rotates the leader over the electorate by slot', () => {
    const c = new EpochChain(genesis([1, 1, 1]))
    expect([0, 1, 2, 3].map(s => c.leader(s))).toEqual(['p0', 'p1', 'p2', 'p0'])
    expect(new EpochChain(genesis([])).leader(0)).toBeUndefined()
  })
  it('leaves members on probation out of the rotation while anyone is established', () => {
    // p2 and p3 sit below the probation threshold: they vote (from the capped pool) but never lead
    const c = new EpochChain(genesis([2e12, 1e12, 5e6, 5e6]))
    expect(c.electorate().weights.has('p2')).toBe(true)
    expect([0, 1, 2, 3].map(s => c.leader(s))).toEqual(['p0', 'p1', 'p0', 'p1'])
  })
  it('counts by head among the genesis peers while nobody is established', () => {
    const g = genesis([1, 1])
    g.params = { probationThreshold: 10 }
    const c = new EpochChain(g)
    const w = c.electorate()
    expect(w.headCount).toBe(true)
    expect(w.total).toBe(2n)
  })
})

describe('judgeEpoch', () => {
  const chain = new EpochChain(genesis([2e12, 1e12, 1e12]))
  const prev = chain.hash()
  const entries = new Map([[CID, acceptedEntry(CID, ['p0', 'p1'])]])
  const view = { entries, evidence: new Map() }
  const base: EpochPayload = { epoch: 1, prev, accepted: [{ id: CID, voters: ['p0', 'p1'] }], evidence: [] }
  it.each<[string, Partial<EpochPayload>, number, string]>([
    ['a valid epoch', {}, 0, 'yes'],
    ['the wrong previous hash', { prev: '0'.repeat(64) }, 0, 'no'],
    ['an epoch that is already behind', { epoch: 0 }, 0, 'no'],
    ['a later epoch (this node is behind)', { epoch: 2 }, 1, 'wait'],
    ['an unknown proposal', { accepted: [{ id: CID2, voters: ['p0'] }] }, 0, 'wait'],
    ['voters short of 2/3', { accepted: [{ id: CID, voters: ['p1'] }] }, 0, 'no'],
    ['a voter whose vote is not held here', { accepted: [{ id: CID, voters: ['p0', 'p2'] }] }, 0, 'wait'],
    ['unknown evidence', { evidence: [CID2] }, 0, 'wait'],
    ['a credit ledger named on a chain whose ledger is empty', { credits: 'a'.repeat(64) }, 0, 'no']
  ])('%s', (_name, over, snapshot, want) => {
    expect(judgeEpoch({ ...base, ...over }, snapshot, chain, view)).toBe(want)
  })

  it('binds the credit ledger once it holds work: the proposer names its hash, another or none is refused', () => {
    const c = new EpochChain(genesis([2e12, 1e12, 1e12]))
    expect(buildEpochPayload(c, { entries: new Map(), evidence: new Map() }).credits).toBeUndefined()
    c.apply({ epoch: 1, proposalId: CID2, createdAt: 1, accepted: [], evidence: [] }, { seals: [{ jobId: 'j', round: 0, contributors: ['p0', 'p1'] }], outcomes: [], evidence: [] })
    const ref = c.creditsRef()
    expect(ref).toMatch(/^[0-9a-f]{64}$/)
    const p = buildEpochPayload(c, { entries: new Map(), evidence: new Map() })
    expect(p.credits).toBe(ref)
    expect(followsChain(p, c)).toBe(true)
    expect(followsChain({ ...p, credits: undefined }, c)).toBe(false)
    expect(followsChain({ ...p, credits: 'b'.repeat(64) }, c)).toBe(false)
    expect(judgeEpoch({ ...p, credits: undefined }, 1, c, { entries: new Map(), evidence: new Map() })).toBe('no')
    expect(judgeEpoch(p, 1, c, { entries: new Map(), evidence: new Map() })).toBe('yes')
  })
})

describe('KindRegistry', () => {
  it('checks payloads by schema and validator, refuses unknown and duplicate kinds', () => {
    const r = new KindRegistry()
    const off = r.register({
      kind: 'demo',
      schema: Type.Object({ n: Type.Integer() }),
      validate (p) { if (p.n < 0) throw new Error('negative') },
      execute () {}
    })
    const ctx = (payload: unknown): Parameters<KindRegistry['check']>[0] => ({ id: '', proposal: { kind: 'demo', payload, proposer: 'x', createdAt: 0, expiresAt: 1, snapshot: 0 } })
    expect(() => { r.check(ctx({ n: 1 })) }).not.toThrow()
    expect(() => { r.check(ctx({ n: 'x' })) }).toThrow(expect.objectContaining({ code: 'ERR_PAYLOAD' }))
    expect(() => { r.check(ctx({ n: -1 })) }).toThrow(/negative/)
    expect(() => r.register({ kind: 'demo', schema: Type.Object({}), execute () {} })).toThrow(expect.objectContaining({ code: 'ERR_KIND_EXISTS' }))
    off()
    expect(() => { r.check(ctx({ n: 1 })) }).toThrow(expect.objectContaining({ code: 'ERR_KIND' }))
  })
})
