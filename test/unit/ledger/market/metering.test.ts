import { describe, expect, it } from 'vitest'
import { meterHasWork, meterStep } from '../../../../src/ledger/market/index.js'

describe('meterStep (a compute job paid by a voucher per unit)', () => {
  // [elapsed units, units bought, units covered] -> [unitsRun, due, missed, action]
  const table: Array<[number, number, number, number, number, number, string]> = [
    [0, 3, 0, 0, 0, 0, 'run'],
    [0.4, 3, 0, 1, 0, 0, 'run'],
    [1.4, 3, 0, 2, 0, 0, 'run'], // the first voucher has half a unit to arrive
    [1.6, 3, 0, 2, 1, 1, 'run'], // one missed: keep going
    [2.6, 3, 0, 3, 2, 2, 'stop'], // two missed: stop
    [2.6, 3, 1, 3, 2, 1, 'run'],
    [3.6, 3, 2, 3, 3, 1, 'run'], // past the end, waiting for the last voucher
    [5.0, 3, 2, 3, 3, 1, 'stop'], // ... at most two units
    [2.2, 3, 3, 3, 1, 0, 'done'], // covered every unit (paid ahead): done
    [3.1, 3, 3, 3, 2, 0, 'done'],
    [10, 6, 6, 6, 6, 0, 'done'],
    [4.5, 6, 2, 5, 4, 2, 'stop'], // the buyer went away after two vouchers
    [0, 1, 0, 0, 0, 0, 'run'],
    [2.5, 1, 0, 1, 1, 1, 'run'], // one unit bought, no voucher: one missed ...
    [3.0, 1, 0, 1, 1, 1, 'stop'] // ... until two units past its end
  ]
  for (const [elapsed, units, covered, unitsRun, due, missed, action] of table) {
    it(`${elapsed} of ${units} units, ${covered} covered -> ${action}`, () => {
      expect(meterStep(elapsed, units, covered)).toEqual({ unitsRun, due, missed, action })
    })
  }

  it('never runs more units than bought, never counts a voucher ahead of time as missed', () => {
    for (let units = 1; units <= 8; units++) {
      for (let t = 0; t <= units + 3; t += 0.25) {
        for (let covered = 0; covered <= units; covered++) {
          const m = meterStep(t, units, covered)
          expect(m.unitsRun).toBeLessThanOrEqual(units)
          expect(m.missed).toBeGreaterThanOrEqual(0)
          if (covered >= units) expect(m.action).toBe('done')
          if (m.action === 'stop') expect(m.missed >= 2 || t >= units + 2).toBe(true)
        }
      }
    }
  })
})

describe('meterHasWork (whether the provider\'s meter ticks)', () => {
  type J = Parameters<typeof meterHasWork>[1] extends Iterable<infer T> ? T : never
  const p = (state: J['state'], refunded: string | null = null): J => ({ role: 'provider', state, refunded })
  const b = (state: J['state']): J => ({ role: 'buyer', state, refunded: null })
  // [resumed, jobs] -> ticks
  const table: Array<[string, boolean, J[], boolean]> = [
    ['an idle node: no jobs', true, [], false],
    ['jobs kept over a restart, not yet resumed', false, [], true],
    ['a provider job running', true, [p('running')], true],
    ['a provider job starting (its start saves the change)', true, [p('starting')], false],
    ['a provider job over, its lock not yet released', true, [p('done')], true],
    ['a failed provider job, its lock not yet released', true, [p('failed')], true],
    ['provider jobs over and released', true, [p('done', '0'), p('stopped', '5')], false],
    ['buyer jobs only (their payments have their own timers)', true, [b('running'), b('starting'), b('done')], false],
    ['one running among released ones', true, [p('done', '0'), b('running'), p('running')], true]
  ]
  for (const [what, resumed, jobs, ticks] of table) {
    it(`${what} -> ${ticks ? 'ticks' : 'no tick'}`, () => { expect(meterHasWork(resumed, jobs)).toBe(ticks) })
  }
})
