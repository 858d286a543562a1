/**
 * A delta whose prefetch failed (its producer died) is fetched once more only for what is left of one fetch timeout,
 * counted from the prefetch's start: a dead producer used to cost the round's aggregator two full timeouts. A fetch
 * that failed is `delta-unavailable`, not `delta-invalid` (it proves nothing about the delta), and a later
 * verification of a seal listing it fetches it again with a full timeout.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/training/model/backend.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import { workFixture } from './work-fixtures.js'

beforeAll(async () => { await initBackend('wasm') })

const DEAD = 'bafkreidead'

describe('RoundWork: a failed prefetch', () => {
  it('leaves the aggregator\'s retry the rest of one fetch timeout; the delta is unavailable, and fetched afresh later', async () => {
    const { artifacts, baseCid, job, work } = await workFixture({ train: 50, test: 20, localEpochs: 1, fetchTimeoutMs: 5000 })
    const asked: number[] = []
    const cat = artifacts.cat
    artifacts.cat = async (cid: string, opts?: { timeoutMs?: number }) => {
      if (cid !== DEAD) return await cat(cid)
      asked.push(opts?.timeoutMs ?? -1)
      // the prefetch hangs 1.5 s before failing; the retry fails at once
      if (asked.length === 1) await new Promise(resolve => setTimeout(resolve, 1500))
      throw new Error('no provider answered')
    }
    const runtime = { ...job, machine: { view: () => ({ round: 1, participants: ['producer'] }) } } as unknown as JobRuntime
    const w = work()
    void w.prefetch(runtime, 1, DEAD, 'producer')
    const events = await w.aggregate(runtime, { kind: 'aggregate', round: 1, attempt: 0, baseModelCid: baseCid, deltas: [{ cid: DEAD, peerId: 'producer', samples: 10 }] })
    expect(events).toMatchObject([{ kind: 'delta-unavailable', round: 1, cid: DEAD, peerId: 'producer' }])
    expect(asked).toHaveLength(2)
    expect(asked[0]).toBe(5000)
    // 5000 - ~1500 ms spent: well under a second full timeout, above the 2 s floor
    expect(asked[1]).toBeGreaterThanOrEqual(2000)
    expect(asked[1]).toBeLessThan(3700)
    // verifying a seal that lists it (a re-proposal, attempts later): a full timeout, and no verdict on the aggregate
    const seal = { type: 'seal', jobId: runtime.spec.id, round: 1, attempt: 1, baseModelCid: baseCid, deltas: [{ cid: DEAD, peerId: 'producer', samples: 10 }], aggregateCid: 'bafkreiagg', modelHash: '00'.repeat(32), metrics: { loss: 1, accuracy: 0.5 } } as const
    const verified = await w.verify(runtime, { ...seal, deltas: [...seal.deltas], metrics: { ...seal.metrics } })
    expect(verified).toMatchObject([{ kind: 'delta-unavailable', cid: DEAD }, { kind: 'seal-verified', ok: false, reason: 'unavailable' }])
    expect(asked).toEqual([5000, asked[1], 5000])
    w.dispose()
  })
})
