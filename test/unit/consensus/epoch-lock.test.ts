/** Table tests of the epoch chain's two-phase voting rule (src/consensus/core/epoch-lock.ts), and a model check of it. */
import { describe, it, expect } from 'vitest'
import {
  doubleBackers, hasPolka, lockOf, mayBack, mayPrevote, reachesQuorum, reproposal, sameRoundConflict, settleEpochQc,
  type ElectorateWeights, type EpochAttempt
} from '../../../src/consensus/core/index.js'

const at = (id: string, content: string, createdAt: number, prevotes: string[], yes: string[] = [], epoch = 3): EpochAttempt & { prevotes: string[], yes: string[] } =>
  ({ id, epoch, content, createdAt, prevotes, yes })
const electorate = (w: Record<string, number>): ElectorateWeights => {
  const weights = new Map(Object.entries(w).map(([k, v]) => [k, BigInt(v)]))
  return { weights, total: [...weights.values()].reduce((s, x) => s + x, 0n), headCount: false }
}
// four members of one weight each: a polka (2/3) takes three prevotes
const W = electorate({ a: 1, b: 1, c: 1, d: 1 })

describe('hasPolka / lockOf', () => {
  it.each([
    [['a', 'b'], false],
    [['a', 'b', 'c'], true],
    [['a', 'a', 'b'], false], // a voter counts once
    [['a', 'b', 'x'], false] // x has no weight
  ])('prevotes %j: polka %s', (prevotes, want) => {
    expect(hasPolka(at('p', 'C', 1, prevotes), W)).toBe(want)
  })
  it('the lock is the yes in the highest round, of that epoch only', () => {
    const attempts = [at('p1', 'C1', 100, [], ['a']), at('p2', 'C2', 300, [], ['a']), at('p3', 'C3', 200, [], ['a']), at('q', 'C9', 900, [], ['a'], 2)]
    expect(lockOf(attempts, 'a', 3)).toEqual({ content: 'C2', round: 300 })
    expect(lockOf(attempts, 'b', 3)).toBeUndefined()
  })
})

describe('mayPrevote', () => {
  const POLKA = ['a', 'b', 'c']
  it.each([
    { what: 'no votes yet', held: [], target: at('t', 'C', 500, []), want: true },
    { what: 'prevoted another attempt in the same round', held: [at('x', 'D', 500, ['a'])], target: at('t', 'C', 500, []), want: false },
    { what: 'prevoted in a later round', held: [at('x', 'C', 600, ['a'])], target: at('t', 'C', 500, []), want: false },
    { what: 'prevoted in an earlier round, no lock', held: [at('x', 'D', 400, ['a'])], target: at('t', 'C', 500, []), want: true },
    { what: 'voted yes in a later round', held: [at('x', 'C', 600, POLKA, ['a'])], target: at('t', 'C', 500, []), want: false },
    { what: 'locked on the same content', held: [at('x', 'C', 400, POLKA, ['a'])], target: at('t', 'C', 500, []), want: true },
    { what: 'locked on other content, no later polka', held: [at('x', 'D', 400, POLKA, ['a'])], target: at('t', 'C', 500, []), want: false },
    { what: 'locked, a polka on the content after the lock', held: [at('x', 'D', 400, POLKA, ['a']), at('y', 'C', 450, ['b', 'c', 'd'])], target: at('t', 'C', 500, []), want: true },
    { what: 'locked, the polka on the content came before the lock', held: [at('y', 'C', 300, ['b', 'c', 'd']), at('x', 'D', 400, POLKA, ['a'])], target: at('t', 'C', 500, []), want: false },
    { what: 'locked, a later polka on a third content', held: [at('x', 'D', 400, POLKA, ['a']), at('y', 'E', 450, ['b', 'c', 'd'])], target: at('t', 'C', 500, []), want: false },
    { what: 'locked, two prevotes after the lock are no polka', held: [at('x', 'D', 400, POLKA, ['a']), at('y', 'C', 450, ['b', 'c'])], target: at('t', 'C', 500, []), want: false }
  ])('$what: $want', ({ held, target, want }) => {
    expect(mayPrevote([...held, target], 'a', target, W)).toBe(want)
  })
})

describe('mayBack', () => {
  it.each([
    { what: 'no polka', held: [], target: at('t', 'C', 500, ['a', 'b']), want: false },
    { what: 'a polka, no votes of its own', held: [], target: at('t', 'C', 500, ['b', 'c', 'd']), want: true },
    { what: 'a polka it prevoted in', held: [], target: at('t', 'C', 500, ['a', 'b', 'c']), want: true },
    { what: 'voted yes on it already', held: [], target: at('t', 'C', 500, ['a', 'b', 'c'], ['a']), want: false },
    { what: 'prevoted in a later round', held: [at('x', 'D', 600, ['a'])], target: at('t', 'C', 500, ['b', 'c', 'd']), want: false },
    { what: 'voted yes in the same round', held: [at('x', 'D', 500, ['b', 'c', 'd'], ['a'])], target: at('t', 'C', 500, ['a', 'b', 'c']), want: false },
    { what: 'locked on other content in an earlier round: a polka now releases it', held: [at('x', 'D', 400, ['a', 'b', 'c'], ['a'])], target: at('t', 'C', 500, ['b', 'c', 'd']), want: true }
  ])('$what: $want', ({ held, target, want }) => {
    expect(mayBack([...held, target], 'a', target, W)).toBe(want)
  })
})

describe('reproposal', () => {
  const all = (): boolean => true
  it.each([
    { what: 'no polka held: build fresh', attempts: [at('p1', 'C1', 100, ['a', 'b'], ['a'])], valid: all, want: undefined },
    { what: 'the polka', attempts: [at('p1', 'C1', 100, ['a', 'b', 'c']), at('p2', 'C2', 200, ['d'])], valid: all, want: 'C1' },
    { what: 'the latest of two polkas', attempts: [at('p2', 'C2', 200, ['b', 'c', 'd']), at('p1', 'C1', 100, ['a', 'b', 'c'])], valid: all, want: 'C2' },
    { what: 'the latest it would vote for', attempts: [at('p2', 'C2', 200, ['b', 'c', 'd']), at('p1', 'C1', 100, ['a', 'b', 'c'])], valid: (c: string) => c !== 'C2', want: 'C1' },
    { what: 'another epoch\'s polka', attempts: [at('p1', 'C1', 100, ['a', 'b', 'c'], [], 2)], valid: all, want: undefined }
  ])('$what', ({ attempts, valid, want }) => {
    expect(reproposal(attempts, 3, W, valid)).toBe(want)
  })
})

describe('doubleBackers / sameRoundConflict / settleEpochQc', () => {
  it('names voters with yes on two contents of one epoch, in any rounds', () => {
    const attempts = [at('p1', 'C1', 100, [], ['a', 'b']), at('p2', 'C2', 200, [], ['b', 'c']), at('p3', 'C1', 300, [], ['c'])]
    expect([...doubleBackers(attempts, 3)]).toEqual([['b', ['C1', 'C2']], ['c', ['C1', 'C2']]])
  })
  it.each([
    [at('x', 'C1', 100, []), at('y', 'C2', 100, []), true],
    [at('x', 'C1', 100, []), at('y', 'C1', 100, []), false], // the same content twice
    [at('x', 'C1', 100, []), at('y', 'C2', 200, []), false], // two rounds: allowed after a polka
    [at('x', 'C1', 100, []), at('y', 'C2', 100, [], [], 4), false]
  ])('conflict %#', (a, b, want) => {
    expect(sameRoundConflict(a, b)).toBe(want)
  })
  it.each([
    [undefined, 'C1', 'adopt'],
    ['C1', 'C1', 'same'],
    ['C1', 'C2', 'conflict']
  ] as Array<[string | undefined, string, string]>)('finalized %s, QC on %s: %s', (finalized, content, want) => {
    expect(settleEpochQc(finalized, content)).toBe(want)
  })
})

describe('liveness where one phase stalled', () => {
  it('a 2/2 split of prevotes locks nobody: the next round passes once it heals', () => {
    // round 100: a and b prevote C1; round 200: c and d prevote C2 (each side saw only its own attempt)
    const split = [at('p1', 'C1', 100, ['a', 'b']), at('p2', 'C2', 200, ['c', 'd'])]
    for (const v of ['a', 'b', 'c', 'd']) expect(lockOf(split, v, 3)).toBeUndefined()
    expect(['p1', 'p2'].some(id => ['a', 'b', 'c', 'd'].some(v => mayBack(split, v, split.find(a => a.id === id) as EpochAttempt, W)))).toBe(false)
    // healed, round 300 re-proposes fresh content (no polka held): every member may prevote, then all may vote yes
    const next = at('p3', 'C3', 300, [])
    expect(['a', 'b', 'c', 'd'].map(v => mayPrevote([...split, next], v, next, W))).toEqual([true, true, true, true])
    const polka = { ...next, prevotes: ['a', 'b', 'c', 'd'] }
    expect(['a', 'b', 'c', 'd'].map(v => mayBack([...split, polka], v, polka, W))).toEqual([true, true, true, true])
  })
})

/**
 * The safety argument checked by random search: n members with random weights, a byzantine set below 1/3 of the weight
 * that prevotes and votes yes on everything, attempts over a few rounds (two contents in one round where a byzantine
 * leader may equivocate), and honest members that each see a random part of the votes and act by the rule on what
 * they see. No run may end with QCs (2/3 of yes weight) on two contents.
 */
type Mutable = EpochAttempt & { prevotes: string[], yes: string[] }

function search (rule: { mayPrevote: typeof mayPrevote, mayBack: typeof mayBack }, runs: number, seed: number): { runs: number, qcs: number, broken: number } {
  let s = seed
  const rnd = (n: number): number => { s = (s * 1103515245 + 12345) % 2147483648; return Math.floor((s / 2147483648) * n) }
  let qcs = 0
  let broken = 0
  for (let run = 0; run < runs; run++) {
    const n = 4 + rnd(4)
    const names = Array.from({ length: n }, (_, i) => `v${i}`)
    const w: Record<string, number> = {}
    for (const v of names) w[v] = 1 + rnd(3)
    const weights = electorate(w)
    const byz = new Set<string>()
    for (const v of names) {
      const b = [...byz].reduce((x, y) => x + w[y], 0) + w[v]
      if (rnd(3) === 0 && 3 * b < Number(weights.total)) byz.add(v)
    }
    const global: Mutable[] = []
    const rounds = 2 + rnd(3)
    for (let r = 1; r <= rounds; r++) {
      const contents = rnd(3) === 0 ? ['A', 'B'] : [['A', 'B', 'C'][rnd(3)]]
      contents.forEach((c, k) => global.push(at(`r${r}${c}${k}`, c, r * 100, [...byz], [...byz])))
    }
    const honest = names.filter(v => !byz.has(v))
    // each honest member's view: per attempt, the prevotes and yes votes delivered to it (its own always)
    const view = new Map(honest.map(v => [v, global.map((a): Mutable => ({ ...a, prevotes: [], yes: [] }))]))
    // rounds pass in order (as the leaders' slots do); a vote of an earlier round may still arrive late
    for (let step = 0; step < 60 * rounds; step++) {
      const v = honest[rnd(honest.length)]
      const mine = view.get(v) as Mutable[]
      const current = Math.floor(step / 60) + 1
      const open = global.map((a, k) => [a, k] as const).filter(([a]) => a.createdAt <= current * 100)
      const i = open[rnd(open.length)][1]
      const g = global[i]
      const local = mine[i]
      if (rnd(2) === 0) {
        // deliver one vote it has not seen
        const p = g.prevotes.filter(x => !local.prevotes.includes(x))
        const y = g.yes.filter(x => !local.yes.includes(x))
        if (p.length > 0 && rnd(2) === 0) local.prevotes.push(p[rnd(p.length)])
        else if (y.length > 0) local.yes.push(y[rnd(y.length)])
        continue
      }
      // act on what it sees, in the current round
      if (g.createdAt !== current * 100) continue
      if (!local.prevotes.includes(v) && rule.mayPrevote(mine, v, mine[i], weights)) { local.prevotes.push(v); g.prevotes.push(v) }
      if (!local.yes.includes(v) && rule.mayBack(mine, v, mine[i], weights)) { local.yes.push(v); g.yes.push(v) }
    }
    const finalized = new Set(global.filter(a => reachesQuorum(a.yes.reduce((x, y) => x + BigInt(w[y]), 0n), weights.total)).map(a => a.content))
    if (finalized.size > 0) qcs++
    if (finalized.size > 1) broken++
  }
  return { runs, qcs, broken }
}

describe('the safety argument, by random search', () => {
  it('no two contents of one epoch ever reach a QC while byzantine weight stays below 1/3', () => {
    const r = search({ mayPrevote, mayBack }, 4000, 7)
    expect(r.broken).toBe(0)
    expect(r.qcs).toBeGreaterThan(r.runs / 4) // the search reaches QCs, so it had something to break
  })
  it('the same search finds the break when members ignore their lock (the check has teeth)', () => {
    const careless: typeof mayPrevote = (attempts, voter, target) =>
      !attempts.some(a => a.epoch === target.epoch && a.id !== target.id && a.createdAt >= target.createdAt && a.prevotes.includes(voter))
    expect(search({ mayPrevote: careless, mayBack }, 4000, 7).broken).toBeGreaterThan(0)
  })
})
