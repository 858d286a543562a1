/**
 * Asks waiting for their maker node's hardware record: the bounded pending set (pure), the wait's release and
 * timeout on a manual clock, and the market topics the node scores.
 */
import { describe, expect, it } from 'vitest'
import { PendingAsks, marketNamesOf, marketTopicsOf, type Refusal } from '../../../../src/ledger/market/index.js'
import { HardwareWait, HeldAsk } from '../../../../src/ledger/market/service/hardware-wait.js'

const LIMITS = { maxPerPeer: 2, maxTotal: 3, waitMs: 30_000 }

describe('PendingAsks', () => {
  type Step = { op: 'add', peer: string, hash: string, at: number, ok: boolean } | { op: 'take', peer: string, got: string[] } | { op: 'expire', at: number, got: string[] }
  const cases: Array<{ name: string, steps: Step[], size: number }> = [
    { name: 'holds an ask until taken', steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'take', peer: 'A', got: ['a1'] }, { op: 'take', peer: 'A', got: [] }], size: 0 },
    { name: 'per maker node bound', steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'add', peer: 'A', hash: 'a2', at: 0, ok: true }, { op: 'add', peer: 'A', hash: 'a3', at: 0, ok: false }], size: 2 },
    {
      name: 'total bound',
      steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'add', peer: 'B', hash: 'b1', at: 0, ok: true }, { op: 'add', peer: 'C', hash: 'c1', at: 0, ok: true }, { op: 'add', peer: 'D', hash: 'd1', at: 0, ok: false }],
      size: 3
    },
    { name: 'a held hash again is no new entry', steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'add', peer: 'A', hash: 'a1', at: 5, ok: true }, { op: 'add', peer: 'A', hash: 'a2', at: 5, ok: true }], size: 2 },
    {
      name: 'expires at its deadline, oldest first, only what is due',
      steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'add', peer: 'B', hash: 'b1', at: 10, ok: true }, { op: 'expire', at: 29_999, got: [] }, { op: 'expire', at: 30_000, got: ['a1'] }, { op: 'expire', at: 30_010, got: ['b1'] }],
      size: 0
    },
    {
      name: 'room again after a take',
      steps: [{ op: 'add', peer: 'A', hash: 'a1', at: 0, ok: true }, { op: 'add', peer: 'A', hash: 'a2', at: 0, ok: true }, { op: 'take', peer: 'A', got: ['a1', 'a2'] }, { op: 'add', peer: 'A', hash: 'a3', at: 0, ok: true }],
      size: 1
    }
  ]
  it.each(cases)('$name', ({ steps, size }) => {
    const p = new PendingAsks<string>(LIMITS)
    for (const s of steps) {
      if (s.op === 'add') {
        const r = p.add(s.peer, s.hash, s.hash, s.at)
        expect(r.ok).toBe(s.ok)
        if (!r.ok) expect(r.refusal.reason).toBe('hardware-unknown')
      } else if (s.op === 'take') expect(p.take(s.peer).map(e => e.item)).toEqual(s.got)
      else expect(p.expire(s.at).map(e => e.hash)).toEqual(s.got)
    }
    expect(p.size).toBe(size)
    expect(p.peers().length).toBeLessThanOrEqual(size)
  })
})

describe('HardwareWait', () => {
  function setup (): { w: HardwareWait<string>, known: Set<string>, readmitted: string[], refused: Array<[string, Refusal]>, clock: { t: number } } {
    const clock = { t: 0 }
    const known = new Set<string>()
    const readmitted: string[] = []
    const refused: Array<[string, Refusal]> = []
    const w = new HardwareWait<string>({ ...LIMITS, waitMs: 5000 }, {
      known: p => known.has(p),
      readmit: item => { readmitted.push(item) },
      refuse: (item, _hash, r) => { refused.push([item, r]) },
      now: () => clock.t
    })
    return { w, known, readmitted, refused, clock }
  }
  const hold = (w: HardwareWait<string>, peer: string, hash: string): unknown => {
    try { return w.hold(peer, hash, hash, r => new Error(r.reason)) } catch (err) { return err }
  }

  it('parks an ask (HeldAsk), readmits it when its record arrives, not before', () => {
    const { w, known, readmitted } = setup()
    expect(hold(w, 'A', 'a1')).toBeInstanceOf(HeldAsk)
    w.release('A')
    expect(readmitted).toEqual([])
    known.add('A')
    w.release('A')
    expect(readmitted).toEqual(['a1'])
    expect(w.size).toBe(0)
  })

  it('the sweep readmits records that came another way and refuses what waited too long, with hardware-unknown', () => {
    const { w, known, readmitted, refused, clock } = setup()
    hold(w, 'A', 'a1')
    hold(w, 'B', 'b1')
    clock.t = 1000
    known.add('B')
    w.sweep()
    expect(readmitted).toEqual(['b1'])
    clock.t = 4999
    w.sweep()
    expect(refused).toEqual([])
    clock.t = 5000
    w.sweep()
    expect(refused.map(([item, r]) => [item, r.reason])).toEqual([['a1', 'hardware-unknown']])
    expect(refused[0][1].message).toMatch(/no hardware record of A arrived within 5000 ms/)
    expect(w.size).toBe(0)
  })

  it('past its bounds it refuses at once (the error the caller builds)', () => {
    const { w } = setup()
    hold(w, 'A', 'a1')
    hold(w, 'A', 'a2')
    const err = hold(w, 'A', 'a3')
    expect(err).not.toBeInstanceOf(HeldAsk)
    expect((err as Error).message).toBe('hardware-unknown')
  })
})

describe('market topics', () => {
  it('names compute, each quote market, and the test token on local; deduplicated', () => {
    const o = { network: 'local', quotes: [{ symbol: 'USDC' }, { symbol: 'tusd' }], localQuote: { symbol: 'TUSD' } }
    expect(marketNamesOf(o)).toEqual(['compute', 'ftns-usdc', 'ftns-tusd'])
    expect(marketTopicsOf({ ...o, network: 'amoy' })).toEqual(['meshnode/market/compute/1', 'meshnode/market/ftns-usdc/1', 'meshnode/market/ftns-tusd/1'])
    expect(marketTopicsOf({ network: 'amoy', quotes: [], localQuote: { symbol: 'TUSD' } })).toEqual(['meshnode/market/compute/1'])
  })
})
