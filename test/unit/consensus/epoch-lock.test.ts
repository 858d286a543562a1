/** Table tests of the epoch lock rule (src/consensus/core/epoch-lock.ts). */
import { describe, it, expect } from 'vitest'
import { backedContents, doubleBackers, mayBack, reachesQuorum, reproposal, settleEpochQc, type EpochAttempt } from '../../../src/consensus/core/index.js'

const at = (id: string, epoch: number, content: string, createdAt: number, yes: string[]): EpochAttempt => ({ id, epoch, content, createdAt, yes })

// epoch 3 attempted three times: a (content C1) expired with a, b yes; b2 (C2) by a leader that missed it; a3 (C1 again)
const ATTEMPTS = [
  at('p1', 3, 'C1', 100, ['a', 'b']),
  at('p2', 3, 'C2', 200, ['d']),
  at('p3', 3, 'C1', 300, ['c']),
  at('q1', 2, 'C9', 50, ['a', 'b', 'c', 'd'])
]

describe('backedContents / mayBack', () => {
  it.each([
    ['a', 3, ['C1']],
    ['c', 3, ['C1']],
    ['d', 3, ['C2']],
    ['e', 3, []],
    ['a', 2, ['C9']],
    ['a', 4, []]
  ])('%s at epoch %i backed %j', (voter, epoch, want) => {
    expect(backedContents(ATTEMPTS, voter, epoch)).toEqual(want)
  })
  it.each([
    // voter, epoch, content, may sign yes
    ['a', 3, 'C1', true], // the same content again (a later attempt re-proposing it)
    ['a', 3, 'C2', false], // other content, even though p1 expired long ago
    ['d', 3, 'C1', false],
    ['d', 3, 'C2', true],
    ['e', 3, 'C2', true], // no lock yet
    ['a', 4, 'C7', true], // a lock binds one epoch only
    ['a', 2, 'C1', false]
  ])('%s at epoch %i on %s: %s', (voter, epoch, content, want) => {
    expect(mayBack(ATTEMPTS, voter, epoch, content)).toBe(want)
  })
  it('a voter that already signed two contents may sign neither again nor a third', () => {
    const two = [at('x', 5, 'A', 1, ['z']), at('y', 5, 'B', 2, ['z'])]
    expect(['A', 'B', 'C'].map(c => mayBack(two, 'z', 5, c))).toEqual([false, false, false])
  })
})

describe('doubleBackers', () => {
  it.each([
    [ATTEMPTS, 3, []],
    [[...ATTEMPTS, at('p4', 3, 'C2', 400, ['b', 'c'])], 3, [['b', ['C1', 'C2']], ['c', ['C1', 'C2']]]],
    [[at('x', 1, 'A', 1, ['v']), at('y', 1, 'A', 2, ['v'])], 1, []] // the same content twice is no conflict
  ] as Array<[EpochAttempt[], number, Array<[string, string[]]>]>)('case %#', (attempts, epoch, want) => {
    expect([...doubleBackers(attempts, epoch)]).toEqual(want)
  })
})

describe('reproposal', () => {
  const W = new Map([['a', 3n], ['b', 3n], ['c', 2n], ['d', 5n], ['e', 1n]])
  const all = (): boolean => true
  it.each([
    // leader, valid, want
    ['a', all, 'C1'], // its own lock
    ['d', all, 'C2'], // its own lock, though C1 is backed by more weight
    ['e', all, 'C1'], // no lock: C1 (a, b, c = 8) outweighs C2 (d = 5)
    ['e', (c: string) => c !== 'C1', 'C2'], // it would not vote for C1: the next most backed
    ['e', () => false, undefined] // nothing it would vote for: build fresh
  ] as Array<[string, (c: string) => boolean, string | undefined]>)('leader %s', (leader, valid, want) => {
    expect(reproposal(ATTEMPTS, 3, leader, W, valid)).toBe(want)
  })
  it('ties go to the earliest attempt, then the smaller key; unbacked or weightless contents are never re-proposed', () => {
    const tie = [at('x', 1, 'B', 10, ['a']), at('y', 1, 'A', 20, ['b']), at('z', 1, 'C', 5, [])]
    expect(reproposal(tie, 1, 'e', new Map([['a', 1n], ['b', 1n]]), all)).toBe('B')
    expect(reproposal([at('x', 1, 'B', 10, ['a']), at('y', 1, 'A', 10, ['b'])], 1, 'e', new Map([['a', 1n], ['b', 1n]]), all)).toBe('A')
    expect(reproposal(tie, 1, 'e', new Map([['q', 1n]]), all)).toBeUndefined()
  })
})

describe('settleEpochQc', () => {
  it.each([
    [undefined, 'C1', 'adopt'],
    ['C1', 'C1', 'same'],
    ['C1', 'C2', 'conflict']
  ] as Array<[string | undefined, string, string]>)('finalized %s, QC on %s: %s', (finalized, content, want) => {
    expect(settleEpochQc(finalized, content)).toBe(want)
  })
})

describe('the safety argument, exhaustively on small electorates', () => {
  // Every way to give 4 or 5 voters weights in 1..3, mark a byzantine set below 1/3 of the weight, and split the
  // honest voters' single yes (or none) between two contents: no two QCs on different contents ever form, whatever
  // the byzantine voters sign (they sign yes on both).
  it('two contents never both reach 2/3 when honest voters back one content each and byzantine weight < 1/3', () => {
    let checked = 0
    const broken: unknown[] = []
    for (const n of [4, 5]) {
      for (let w = 0; w < 3 ** n; w++) {
        const weights = Array.from({ length: n }, (_, i) => BigInt(Math.floor(w / 3 ** i) % 3 + 1))
        const total = weights.reduce((s, x) => s + x, 0n)
        for (let byz = 0; byz < 2 ** n; byz++) {
          let b = 0n
          for (let i = 0; i < n; i++) if ((byz >> i & 1) === 1) b += weights[i]
          if (3n * b >= total) continue
          for (let split = 0; split < 3 ** n; split++) {
            // honest voter i backs content 1, content 2, or nothing (mayBack allows one only)
            let y1 = b
            let y2 = b
            for (let i = 0; i < n; i++) {
              if ((byz >> i & 1) === 1) continue
              const c = Math.floor(split / 3 ** i) % 3
              if (c === 1) y1 += weights[i]
              if (c === 2) y2 += weights[i]
            }
            if (reachesQuorum(y1, total) && reachesQuorum(y2, total)) broken.push({ weights, byz, split })
            checked++
          }
        }
      }
    }
    expect(broken).toEqual([])
    expect(checked).toBeGreaterThan(100_000)
  })
})
