import { describe, it, expect } from 'vitest'
import { WorkTicker } from '../../../src/common/work-ticker.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
/** Waits (generously: a loaded machine) until `done()`. */
async function until (done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!done() && Date.now() < deadline) await sleep(5)
}

describe('WorkTicker (a periodic task that runs only while it has work)', () => {
  it('has no timer without work, ticks once armed with work, and stops itself when the work is done', async () => {
    let work = 0
    let passes = 0
    const t = new WorkTicker(() => { passes++; if (work > 0) work-- }, 10, () => work > 0)
    t.arm()
    expect(t.ticking).toBe(false)
    await sleep(50)
    expect(passes).toBe(0)
    work = 3
    t.arm()
    expect(t.ticking).toBe(true)
    await until(() => !t.ticking)
    expect(t.ticking).toBe(false)
    expect(work).toBe(0)
    expect(passes).toBe(3)
    await sleep(50)
    expect(passes).toBe(3) // nothing runs once the work is done
    t.stop()
  })

  it('never overlaps passes, survives a failing pass, and stays stopped after stop()', async () => {
    let active = 0
    let maxActive = 0
    let passes = 0
    const t = new WorkTicker(async () => {
      passes++
      active++
      maxActive = Math.max(maxActive, active)
      await sleep(35)
      active--
      if (passes === 1) throw new Error('one failing pass')
    }, 5, () => true)
    t.arm()
    await until(() => passes >= 3)
    expect(passes).toBeGreaterThanOrEqual(3) // the failing first pass did not end the ticking
    expect(maxActive).toBe(1)
    t.stop()
    expect(t.ticking).toBe(false)
    t.arm()
    expect(t.ticking).toBe(false)
  })
})
