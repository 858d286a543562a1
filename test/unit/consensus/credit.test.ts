/**
 * The credit rule (core/credit.ts): one credit per peer per (job, round) across the whole chain, a bounded window,
 * and the packed-electorate check (round r's electorate within round r-1's credited contributors); the same on a node
 * that applies epochs live and on one that replays the chain from genesis.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  CREDIT_PARKED_PER_JOB, CREDIT_WINDOW_ROUNDS, creditLedgerHash, creditSeals, emptyCreditLedger, epochStep, replayChain, reputationHash,
  type CreditLedger, type CreditSeal, type CreditVerdict, type EpochRecords
} from '../../../src/consensus/core/index.js'
import { EpochChain } from '../../../src/consensus/index.js'
import { P, U, table } from './fixtures.js'

const seal = (jobId: string, round: number, contributors: string[], electorate?: string[]): CreditSeal =>
  ({ jobId, round, contributors, ...(electorate != null ? { electorate } : {}) })

/** Apply epochs of seals one after another; each epoch's verdicts and the credited (job:round -> contributors). */
function run (epochs: CreditSeal[][], start: CreditLedger = emptyCreditLedger): { verdicts: CreditVerdict[][], credited: string[][], ledger: CreditLedger } {
  let ledger = start
  const verdicts: CreditVerdict[][] = []
  const credited: string[][] = []
  for (const seals of epochs) {
    const step = creditSeals(ledger, seals)
    verdicts.push(step.verdicts)
    credited.push(step.credited.map(c => `${c.jobId}:${c.round}:${c.contributors.join(',')}`))
    ledger = step.ledger
  }
  return { verdicts, credited, ledger }
}

describe('creditSeals: which listed seals credit', () => {
  it.each<[string, CreditSeal[][], CreditVerdict[][], string[][]]>([
    ['a seal credits its contributors once',
      [[seal('j', 0, ['a', 'b'])]], [['credited']], [['j:0:a,b']]],
    ['the same seal listed again in a later epoch credits nothing',
      [[seal('j', 0, ['a', 'b'])], [seal('j', 0, ['a', 'b'])]], [['credited'], ['already-credited']], [['j:0:a,b'], []]],
    ['a second QC\'d attempt of the round in a later epoch credits nothing, even with other contributors',
      [[seal('j', 3, ['a'])], [seal('j', 3, ['a', 'c'])]], [['credited'], ['already-credited']], [['j:3:a'], []]],
    ['two attempts in one epoch credit the union, each peer once',
      [[seal('j', 3, ['a', 'b']), seal('j', 3, ['b', 'c'])]], [['credited', 'credited']], [['j:3:a,b,c']]],
    ['other jobs and other rounds are independent',
      [[seal('j', 0, ['a']), seal('k', 0, ['a'])], [seal('j', 1, ['a']), seal('k', 0, ['a'])]],
      [['credited', 'credited'], ['credited', 'already-credited']], [['j:0:a', 'k:0:a'], ['j:1:a']]],
    ['round r\'s electorate within round r-1\'s credited contributors: credited (a joiner contributes outside it)',
      [[seal('j', 0, ['a', 'b'], ['a', 'b', 'x'])], [seal('j', 1, ['a', 'b', 'n'], ['a', 'b'])]],
      [['credited'], ['credited']], [['j:0:a,b'], ['j:1:a,b,n']]],
    ['a creator\'s reduced electorate (a subset) passes',
      [[seal('j', 4, ['a', 'b'])], [seal('j', 5, ['a', 'c'], ['a'])]], [['credited'], ['credited']], [['j:4:a,b'], ['j:5:a,c']]],
    ['a packed electorate (a peer that did not contribute to r-1) credits nothing',
      [[seal('j', 0, ['a', 'b'])], [seal('j', 1, ['s1', 's2'], ['a', 's1'])]], [['credited'], ['electorate']], [['j:0:a,b'], []]],
    ['a refused packed seal does not take the round: the honest seal of that round still credits',
      [[seal('j', 0, ['a', 'b'])], [seal('j', 1, ['s1'], ['s1']), seal('j', 1, ['a', 'b'], ['a', 'b'])]],
      [['credited'], ['electorate', 'credited']], [['j:0:a,b'], ['j:1:a,b']]],
    ['rounds are taken in order within an epoch, whatever the listing order',
      [[seal('j', 1, ['s1'], ['s1']), seal('j', 0, ['a'])]], [['electorate', 'credited']], [['j:0:a']]],
    ['round r listed before r-1 waits (parked), and credits in the epoch that credits r-1',
      [[seal('j', 2, ['a', 'b'], ['a'])], [seal('j', 1, ['a'], ['a'])], [seal('j', 0, ['a'])], [seal('j', 2, ['a', 'b'], ['a'])]],
      [['parked'], ['parked'], ['credited'], ['already-credited']], [[], [], ['j:0:a', 'j:1:a', 'j:2:a,b'], []]],
    ['a leader that omits r-1 to slip a packed seal of r in gains nothing: judged when r-1 comes, refused',
      [[seal('j', 0, ['a', 'b'])], [seal('j', 2, ['s1', 's2'], ['s1'])], [seal('j', 1, ['a', 'b'], ['a', 'b']), seal('j', 2, ['a', 'b'], ['a', 'b'])]],
      [['credited'], ['parked'], ['credited', 'credited']], [['j:0:a,b'], [], ['j:1:a,b', 'j:2:a,b']]],
    ['a round 0 seal credits unchecked (its electorate is the participants, which only training sees)',
      [[seal('j', 0, ['a'], ['a', 'z'])]], [['credited']], [['j:0:a']]],
    ['records without an electorate (older epochs) skip the check',
      [[seal('j', 0, ['a'])], [seal('j', 1, ['s'])]], [['credited'], ['credited']], [['j:0:a'], ['j:1:s']]]
  ])('%s', (_name, epochs, verdicts, credited) => {
    const got = run(epochs)
    expect(got.verdicts).toEqual(verdicts)
    expect(got.credited).toEqual(credited)
  })

  it('keeps a bounded window per job: a seal listed more than the window late credits nothing', () => {
    const W = CREDIT_WINDOW_ROUNDS
    const epochs = Array.from({ length: W + 10 }, (_, r) => [seal('j', r, ['a'])])
    const { ledger } = run(epochs)
    const job = ledger.jobs.get('j')
    expect(job?.rounds.size).toBe(W)
    expect(job?.below).toBe(10)
    expect(run([[seal('j', 9, ['late'])], [seal('j', 10, ['a'])]], ledger).verdicts).toEqual([['outside-window'], ['already-credited']])
  })

  it('bounds the parked seals of a job, keeping the lowest rounds', () => {
    const many = Array.from({ length: CREDIT_PARKED_PER_JOB + 5 }, (_, i) => seal('j', 100 + i, ['s'], ['s']))
    const step = creditSeals(emptyCreditLedger, many)
    expect(step.ledger.jobs.get('j')?.parked.length).toBe(CREDIT_PARKED_PER_JOB)
    expect(step.verdicts.filter(v => v === 'dropped').length).toBe(5)
    expect(step.verdicts.at(-1)).toBe('dropped')
    // listed again, a parked seal is kept once
    expect(creditSeals(step.ledger, [many[0]]).ledger.jobs.get('j')?.parked.length).toBe(CREDIT_PARKED_PER_JOB)
  })

  it('does not depend on the order of one epoch\'s records', () => {
    const seals = [seal('k', 0, ['a']), seal('j', 1, ['b'], ['a']), seal('j', 0, ['a', 'c']), seal('j', 1, ['s'], ['s'])]
    const a = creditSeals(emptyCreditLedger, seals)
    const b = creditSeals(emptyCreditLedger, [...seals].reverse())
    expect(creditLedgerHash(a.ledger)).toBe(creditLedgerHash(b.ledger))
    expect(a.credited).toEqual(b.credited)
    expect(a.verdicts).toEqual([...b.verdicts].reverse())
  })
})

describe('creditSeals: properties over random chains', () => {
  const peers = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 's'), { minLength: 1, maxLength: 4 })
  const arbSeal = fc.record({ jobId: fc.constantFrom('j', 'k'), round: fc.integer({ min: 0, max: 6 }), contributors: peers, electorate: fc.option(peers, { nil: undefined }) })
    .map(x => seal(x.jobId, x.round, x.contributors, x.electorate))
  it('credits each (job, round) at most once, within r-1\'s contributors, whatever the order inside an epoch', () => {
    fc.assert(fc.property(fc.array(fc.array(arbSeal, { maxLength: 6 }), { maxLength: 6 }), (epochs) => {
      const once = new Map<string, string[]>()
      let ledger = emptyCreditLedger
      let shuffled = emptyCreditLedger
      for (const seals of epochs) {
        const step = creditSeals(ledger, seals)
        for (const c of step.credited) {
          const key = `${c.jobId}:${c.round}`
          expect(once.has(key)).toBe(false)
          once.set(key, c.contributors)
        }
        // every credited seal that names an electorate lies within its round r-1's credited contributors
        seals.forEach((x, i) => {
          const parent = once.get(`${x.jobId}:${x.round - 1}`)
          if (step.verdicts[i] === 'credited' && x.electorate != null && x.round > 0) expect(x.electorate.every(p => parent?.includes(p))).toBe(true)
        })
        ledger = step.ledger
        shuffled = creditSeals(shuffled, [...seals].reverse()).ledger
      }
      expect(creditLedgerHash(shuffled)).toBe(creditLedgerHash(ledger))
    }), { numRuns: 200 })
  })
})

const none: EpochRecords = { seals: [], outcomes: [], evidence: [] }

describe('epochStep: the transition counts only credited work', () => {
  it('credits a peer once per (job, round) across epochs, where nextWeights alone would credit twice', () => {
    const start = { table: table(0, [['a', 100n * U]]), credits: emptyCreditLedger }
    const e1 = epochStep(start, { ...none, seals: [seal('j', 0, ['a'])] }, P)
    const e2 = epochStep({ table: e1.table, credits: e1.credits }, { ...none, seals: [seal('j', 0, ['a'])] }, P)
    expect(e1.parts.get('a')).toMatchObject({ work: U, contributions: 1 })
    expect(e2.parts.get('a')).toMatchObject({ work: 0n, contributions: 0 })
    expect(e2.verdicts).toEqual(['already-credited'])
  })

  it('a packed electorate earns its sybils nothing: they do not even enter the table', () => {
    const start = { table: table(0, [['a', 100n * U], ['b', 100n * U]]), credits: emptyCreditLedger }
    const e1 = epochStep(start, { ...none, seals: [seal('j', 0, ['a', 'b'])] }, P)
    const e2 = epochStep({ table: e1.table, credits: e1.credits }, { ...none, seals: [seal('j', 1, ['a', 's1', 's2'], ['a', 's1'])] }, P)
    expect(e2.table.peers.has('s1')).toBe(false)
    expect(e2.parts.get('a')).toMatchObject({ work: 0n })
  })

  it('a node replaying the chain from genesis holds the same table and ledger as one that applied it live', () => {
    const history: EpochRecords[] = [
      // g, the genesis peer, contributes too: newcomers earn beside an established contributor (epoch.ts)
      { ...none, seals: [seal('j', 0, ['a', 'b', 'g'], ['a', 'b'])] },
      { ...none, seals: [seal('j', 1, ['a', 'b', 'g', 'n'], ['a', 'b']), seal('j', 0, ['a', 'b', 'g'])] },
      { ...none, seals: [seal('j', 2, ['x'], ['x']), seal('j', 2, ['a', 'g', 'n'], ['a', 'b', 'n']), seal('j', 1, ['a', 'b', 'g', 'n'], ['a', 'b'])] }
    ]
    const genesis = { peerId: 'g', score: String(100n * U) }
    const live = new EpochChain({ params: {}, pretrusted: [genesis], guardians: { keys: [], threshold: 0 }, startedAt: 0 })
    history.forEach((records, i) => live.apply({ epoch: i + 1, proposalId: `p${i}`, createdAt: i, accepted: [], evidence: [] }, records))
    const replayed = replayChain({ table: live.table(0), credits: emptyCreditLedger }, history, live.params())
    expect(reputationHash(replayed.table)).toBe(live.hash())
    expect(creditLedgerHash(replayed.credits)).toBe(live.creditsHash())
    expect(live.creditVerdicts()).toEqual(['electorate', 'credited', 'already-credited'])
    // a, b: rounds 0, 1, 2; n: rounds 1 and 2; x nothing
    const scores = Object.fromEntries(['a', 'b', 'n', 'x'].map(p => [p, live.table().peers.get(p)?.score ?? 0n]))
    expect(scores.x).toBe(0n)
    expect(scores.a > scores.b).toBe(true)
    expect(scores.n > 0n).toBe(true)
  })
})
