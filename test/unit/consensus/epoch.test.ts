import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  BPS, capLimit, checkReputationParams, effectiveWeights, genesisTable, nextWeights, replayEpochs, reputationHash,
  reputationRows, reputationViewOf,
  type EpochRecords, type ReputationParams, type ReputationTable, type ScoreParts
} from '../../../src/consensus/core/index.js'
import { P, U, table } from './fixtures.js'

const none: EpochRecords = { seals: [], outcomes: [], evidence: [] }

describe('nextWeights: the parts of a score', () => {
  it.each<[string, ReputationTable, Partial<EpochRecords>, string, Partial<ScoreParts>, boolean]>([
    ['an idle score decays by 10%', table(0, [['a', 100n * U]]), {}, 'a', { previous: 100n * U, decay: 10n * U, score: 90n * U }, true],
    ['work counts one per peer per job round',
      table(0, [['a', 100n * U]]),
      { seals: [{ jobId: 'j', round: 1, contributors: ['a', 'a'] }, { jobId: 'j', round: 1, contributors: ['a'] }, { jobId: 'j', round: 2, contributors: ['a'] }, { jobId: 'k', round: 1, contributors: ['a'] }] },
      'a', { work: 3n * U, contributions: 3, score: 93n * U }, true],
    ['bonds: a share of the own weight for agreeing with outcomes',
      table(0, [['a', 60n * U], ['b', 40n * U]]),
      { outcomes: [{ proposalId: 'x', outcome: 'accepted', votes: [{ voter: 'a', choice: 'yes' }, { voter: 'b', choice: 'no' }] }, { proposalId: 'y', outcome: 'rejected', votes: [{ voter: 'a', choice: 'abstain' }] }] },
      'a', { agreed: 1, bonds: 60n * U * 500n / 10_000n / 2n, score: 54n * U + 1_500_000n }, true],
    ['bonds: a vote against the outcome earns nothing',
      table(0, [['a', 60n * U], ['b', 40n * U]]),
      { outcomes: [{ proposalId: 'x', outcome: 'accepted', votes: [{ voter: 'a', choice: 'yes' }, { voter: 'b', choice: 'no' }] }] },
      'b', { agreed: 0, bonds: 0n, score: 36n * U }, true],
    ['a slash halves the score per proven equivocation, and forfeits bonds',
      table(0, [['a', 100n * U]]),
      { evidence: [{ voter: 'a', proposalId: 'x' }, { voter: 'a', proposalId: 'x' }, { voter: 'a', proposalId: 'y' }], outcomes: [{ proposalId: 'x', outcome: 'accepted', votes: [{ voter: 'a', choice: 'yes' }] }] },
      'a', { evidence: 2, bonds: 0n, slashes: 90n * U - 22_500_000n, score: 22_500_000n }, true],
    ['the cap cuts a peer to 20% of the sum',
      table(0, [['a', 100n * U], ['b', 10n * U], ['c', 10n * U], ['d', 10n * U], ['e', 10n * U]]),
      {}, 'a', { score: 9n * U, capped: 81n * U }, true],
    ['a newcomer with accepted work enters on probation',
      table(4, [['a', 100n * U]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['a', 'n'] }] }, 'n', { previous: 0n, work: U, score: U, age: 0, probation: true }, true],
    // identities on probation earn together at most what the round's established contributors earn
    ['a round without an established contributor credits its newcomers nothing',
      table(4, [['a', 100n * U]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['n', 'm'] }] }, 'n', { contributions: 1, work: 0n, score: 0n }, false],
    ['one established contributor to three newcomers: a third of a unit each',
      table(4, [['a', 100n * U]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['a', 'n', 'm', 'o'] }] }, 'n', { contributions: 1, work: U / 3n, score: U / 3n, probation: true }, true],
    ['the established contributor of that round still earns a full unit',
      table(4, [['a', 100n * U]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['a', 'n', 'm', 'o'] }] }, 'a', { work: U, score: 91n * U }, true],
    ['a peer still on probation counts on the probation side, however old its score',
      table(4, [['a', 100n * U], ['y', 50n * U, 3]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['a', 'y', 'n', 'm'] }] }, 'y', { work: U / 3n, probation: true }, true],
    ['while nobody has earned weight (head count), every contributor earns a full unit',
      table(4, [['g', 5n * U, 3]]),
      { seals: [{ jobId: 'j', round: 9, contributors: ['n', 'm', 'o'] }] }, 'n', { work: U, score: U }, true],
    ['a score that reaches 0 leaves the table', table(0, [['a', 1n]]), {}, 'a', { decay: 1n, score: 0n }, false]
  ])('%s', (_name, t, recs, peer, want, kept) => {
    const { table: next, parts } = nextWeights(t, { ...none, ...recs }, P)
    expect(next.epoch).toBe(t.epoch + 1)
    expect(parts.get(peer)).toMatchObject(want)
    expect(next.peers.has(peer)).toBe(kept)
    const p = parts.get(peer)
    if (p != null) expect(p.previous - p.decay + p.work + p.bonds - p.slashes - p.capped).toBe(p.score)
  })

  it('refuses records that give one proposal two outcomes', () => {
    const outcomes: EpochRecords['outcomes'] = [{ proposalId: 'x', outcome: 'accepted', votes: [] }, { proposalId: 'x', outcome: 'rejected', votes: [] }]
    expect(() => nextWeights(table(0, []), { ...none, outcomes }, P)).toThrow(expect.objectContaining({ code: 'ERR_RECORDS' }))
  })
})

describe('capLimit', () => {
  it('keeps every score at most maxShare of the capped sum, cutting only what exceeds', () => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 18n }), { maxLength: 40 }), fc.integer({ min: 500, max: 10_000 }), (scores, m) => {
      const bps = BigInt(m)
      const limit = capLimit(scores, bps)
      const capped = scores.map(s => (limit !== undefined && s > limit ? limit : s))
      const sum = capped.reduce((a, b) => a + b, 0n)
      const positive = scores.filter(s => s > 0n).length
      if (BigInt(positive) * bps >= BPS) for (const s of capped) expect(s * BPS <= bps * sum).toBe(true)
      else expect(limit).toBeUndefined()
    }))
  })
})

describe('params', () => {
  it.each<[string, Partial<ReputationParams>]>([
    ['bonds at or above decay', { bondBps: 1_000n }],
    ['a pool above 10%', { probationPoolBps: 1_001n }],
    ['no decay', { decayBps: 0n }],
    ['a zero work unit', { workUnit: 0n }]
  ])('refuses %s', (_name, over) => {
    expect(() => checkReputationParams({ ...P, ...over })).toThrow(expect.objectContaining({ code: 'ERR_PARAMS' }))
  })
  it('accepts the defaults', () => { checkReputationParams(P) })
})

describe('determinism', () => {
  const peer = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')
  const recordsArb = fc.record({
    seals: fc.array(fc.record({ jobId: fc.constantFrom('j', 'k'), round: fc.nat(4), contributors: fc.array(peer, { maxLength: 5 }) }), { maxLength: 8 }),
    outcomes: fc.uniqueArray(fc.record({
      proposalId: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
      outcome: fc.constantFrom<'accepted' | 'rejected'>('accepted', 'rejected'),
      votes: fc.array(fc.record({ voter: peer, choice: fc.constantFrom<'yes' | 'no' | 'abstain'>('yes', 'no', 'abstain') }), { maxLength: 8 })
    }), { selector: o => o.proposalId, maxLength: 4 }),
    evidence: fc.array(fc.record({ voter: peer, proposalId: fc.constantFrom('p1', 'p2') }), { maxLength: 3 })
  })
  const tableArb = fc.array(fc.tuple(peer, fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: -10, max: 3 })), { maxLength: 7 })
    .map(rows => table(3, rows))

  it('same inputs in any order: the same table, hash and parts', () => {
    fc.assert(fc.property(tableArb, recordsArb, fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), (t, recs, seed) => {
      let k = 0
      const shuffle = <T>(xs: readonly T[]): T[] => {
        const out = [...xs]
        for (let i = out.length - 1; i > 0; i--) { const j = seed[k++ % seed.length] % (i + 1); [out[i], out[j]] = [out[j], out[i]] }
        return out
      }
      const t2: ReputationTable = { epoch: t.epoch, peers: new Map(shuffle([...t.peers])) }
      const r2: EpochRecords = {
        seals: shuffle(recs.seals).map(s => ({ ...s, contributors: shuffle(s.contributors) })),
        outcomes: shuffle(recs.outcomes).map(o => ({ ...o, votes: shuffle(o.votes) })),
        evidence: shuffle(recs.evidence)
      }
      const a = nextWeights(t, recs, P)
      const b = nextWeights(t2, r2, P)
      expect(reputationHash(b.table)).toBe(reputationHash(a.table))
      expect(Object.fromEntries(b.parts)).toEqual(Object.fromEntries(a.parts))
    }), { numRuns: 300 })
  })

  it('the hash is of the content: insertion order does not matter, a unit of score does', () => {
    const a = table(7, [['x', 5n], ['y', 6n, 2]])
    const b = table(7, [['y', 6n, 2], ['x', 5n]])
    expect(reputationHash(a)).toBe(reputationHash(b))
    expect(reputationHash(a)).toMatch(/^[0-9a-f]{64}$/)
    expect(reputationHash(table(7, [['x', 5n], ['y', 7n, 2]]))).not.toBe(reputationHash(a))
    expect(reputationHash(table(8, [['x', 5n], ['y', 6n, 2]]))).not.toBe(reputationHash(a))
  })

  it('replaying the chain gives the same table as stepping it', () => {
    const g = genesisTable(0, [{ peer: 'a', score: 20n * U }, { peer: 'b', score: 20n * U }], P)
    const history: EpochRecords[] = Array.from({ length: 5 }, (_, e) => ({ ...none, seals: [{ jobId: 'j', round: e, contributors: ['a', 'c'] }] }))
    let t = g
    for (const h of history) t = nextWeights(t, h, P).table
    expect(reputationHash(replayEpochs(g, history, P))).toBe(reputationHash(t))
    expect(effectiveWeights(g, P).probation.size).toBe(0) // genesis peers are established
  })
})

describe('reputationRows', () => {
  it('explains each peer: score, weight, probation, age and the parts of the last transition', () => {
    const t = table(4, [['a', 100n * U], ['n', 50n * U, 2]])
    const { table: next, parts } = nextWeights(t, { ...none, seals: [{ jobId: 'j', round: 1, contributors: ['a', 'n'] }] }, P)
    const rows = reputationRows(next, P, parts)
    expect(rows.map(r => r.peerId)).toEqual(['a', 'n'])
    expect(rows[0]).toMatchObject({ score: 91n * U, weight: 91n * U, probation: false, parts: { work: U, decay: 10n * U } })
    // n: age 3 at epoch 5 is past probation (3 epochs), score 46 units: established
    expect(rows[1]).toMatchObject({ score: 46n * U, weight: 46n * U, probation: false, age: 3 })
    expect(reputationViewOf(effectiveWeights(next, P)).reputation('a')).toBe(91e6)
    expect(reputationViewOf(effectiveWeights(next, P)).reputation('stranger')).toBe(0)
  })
})
