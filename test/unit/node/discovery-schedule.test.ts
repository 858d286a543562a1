/**
 * Discovery's walk schedule (pure): quick while the mesh forms, back-off once settled while walks find nobody, one
 * walk soon per new connection once settled (not the whole quick schedule), and a failed walk or a lone node keeps
 * the schedule's pace.
 */
import { describe, expect, it } from 'vitest'
import { IDLE_SCHEDULE_MS, SCHEDULE_MS, SOON_MS, afterWalk, initialSchedule, nextWalkDelay, onConnection, walkOutcome, type WalkSchedule } from '../../../src/node/discovery-schedule.js'

/** The state after `results` walks from the start (each the number of peers it dialled, -1: could not tell). */
const run = (results: number[], from: WalkSchedule = initialSchedule): WalkSchedule => results.reduce(afterWalk, from)
const settledQuiet = run(Array(SCHEDULE_MS.length).fill(0))

describe('discovery walk schedule', () => {
  it.each<[string, number[], number]>([
    ['the first walk comes quickly', [], 300],
    ['walks stay quick while the mesh forms, found or not', [3, 0, 0], 1500],
    ['the start-up schedule runs to its end', Array(SCHEDULE_MS.length - 1).fill(0), 30_000],
    ['once settled, a fruitless walk backs off two minutes', Array(SCHEDULE_MS.length).fill(0), IDLE_SCHEDULE_MS[0]],
    ['and further with each fruitless walk, up to 20 minutes', Array(SCHEDULE_MS.length + 6).fill(0), 1_200_000],
    ['a walk that found someone returns to the settled pace', [...Array(SCHEDULE_MS.length + 2).fill(0), 1], 30_000],
    ['a walk that could not tell (failed, or alone) returns to the settled pace', [...Array(SCHEDULE_MS.length + 4).fill(0), -1], 30_000]
  ])('%s', (_name, results, delay) => {
    expect(nextWalkDelay(run(results))).toBe(delay)
  })

  it('spreads idle delays by +-20% with the draw given, never the quick schedule', () => {
    const quiet = run([0], settledQuiet)
    expect([0, 0.5, 0.999].map(r => nextWalkDelay(quiet, r))).toEqual([240_000, 300_000, 359_880])
    expect(nextWalkDelay(run([0, 0]), 0)).toBe(SCHEDULE_MS[2])
  })

  it('a connection while forming brings the quick schedule back; once settled, one walk soon and the back-off kept', () => {
    const forming = run([0, 0, 0, 0, 0, 0])
    const c1 = onConnection(forming)
    expect(c1.rearm).toBe('schedule')
    expect(nextWalkDelay(c1.state)).toBe(1500)
    expect(onConnection(run([0, 0])).rearm).toBe('no')

    const backedOff = run([0, 0, 0], settledQuiet)
    const c2 = onConnection(backedOff)
    expect(c2.rearm).toBe('soon')
    expect(SOON_MS).toBe(1500)
    expect(c2.state).toEqual(backedOff)
    // the walk it brings finds nobody: the back-off goes on from where it was
    expect(nextWalkDelay(afterWalk(c2.state, 0))).toBe(IDLE_SCHEDULE_MS[3])
  })

  it.each([
    ['a walk that ended counts the peers it dialled', { dialled: 2, answers: 5, failed: false }, 2],
    ['a walk that ended finding nobody is fruitless', { dialled: 0, answers: 5, failed: false }, 0],
    ['a walk that failed before any answer could not tell', { dialled: 0, answers: 0, failed: true }, -1],
    ['a walk that timed out after answers naming nobody new is fruitless', { dialled: 0, answers: 3, failed: true }, 0],
    ['a walk that timed out after dialling someone counts them', { dialled: 1, answers: 0, failed: true }, 1]
  ])('walk outcome: %s', (_, w, want) => {
    expect(walkOutcome(w)).toBe(want)
  })
})
