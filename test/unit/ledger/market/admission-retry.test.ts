/**
 * Gossiped orders whose admission failed for this node's reasons (a chain read, a stale lane read) are admitted again: after the back-off, doubling, until they
 * settle or the tries run out; bounded; dropped on clear.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AdmissionRetry, type RetryOutcome } from '../../../../src/ledger/market/service/admission-retry.js'

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

/** A retry set whose admission answers from `outcomes` in turn, recording when each try ran. */
function retrySet (outcomes: RetryOutcome[], limits = { max: 2, tries: 3, delayMs: 100 }): { r: AdmissionRetry<string>, tries: Array<{ item: string, at: number }> } {
  const tries: Array<{ item: string, at: number }> = []
  const start = Date.now()
  const r = new AdmissionRetry<string>(limits, async item => {
    tries.push({ item, at: Date.now() - start })
    return outcomes.shift() ?? 'settled'
  })
  return { r, tries }
}

describe('AdmissionRetry', () => {
  it('admits again after the delay and stops once settled', async () => {
    const { r, tries } = retrySet(['settled'])
    expect(r.hold('a')).toBe(true)
    await vi.advanceTimersByTimeAsync(99)
    expect(tries).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(tries).toEqual([{ item: 'a', at: 100 }])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tries).toHaveLength(1)
    expect(r.size).toBe(0)
  })

  it('backs off, doubling, while the chain fails, and gives up after its tries', async () => {
    const { r, tries } = retrySet(['again', 'again', 'again', 'again'])
    r.hold('a')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tries.map(t => t.at)).toEqual([100, 300, 700])
    expect(r.size).toBe(0)
  })

  it('a try that succeeds after failures ends the retries', async () => {
    const { r, tries } = retrySet(['again', 'settled'])
    r.hold('a')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tries.map(t => t.at)).toEqual([100, 300])
  })

  it('holds at most `max` messages; room again once one is tried', async () => {
    const { r, tries } = retrySet([])
    expect([r.hold('a'), r.hold('b'), r.hold('c')]).toEqual([true, true, false])
    await vi.advanceTimersByTimeAsync(100)
    expect(tries.map(t => t.item)).toEqual(['a', 'b'])
    expect(r.hold('c')).toBe(true)
  })

  it('clear drops what is held', async () => {
    const { r, tries } = retrySet([])
    r.hold('a')
    r.clear()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tries).toEqual([])
    expect(r.size).toBe(0)
  })
})
