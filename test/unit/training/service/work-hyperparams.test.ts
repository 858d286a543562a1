/**
 * The hyperparams seam: local training reads the learning rate, epochs and batch size of each round from RoundWork's
 * `hyperparams` hook (the accepted `hyperparams` changes), not from the signed spec.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeDelta } from '../../../../src/training/core/codec.js'
import { initBackend } from '../../../../src/training/model/backend.js'
import type { Hyperparams } from '../../../../src/training/protocol/hyperparams.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { RoundWork } from '../../../../src/training/service/work.js'
import { workFixture } from './work-fixtures.js'

beforeAll(async () => { await initBackend('wasm') })

describe('RoundWork.train with the hyperparams hook', () => {
  it('trains each round with the values the hook gives for that round', async () => {
    const { store, flat, baseCid, job, work } = await workFixture({ train: 300, test: 100, localEpochs: 1 })
    const asked: number[] = []
    // from round 1 on, an accepted change cut the learning rate 10x
    const hook = (_job: JobRuntime, round: number): Hyperparams => { asked.push(round); return { learningRate: round >= 1 ? 0.01 : 0.1, localEpochs: 1, batchSize: 10 } }
    const norm = async (work: RoundWork, round: number): Promise<number> => {
      const ev = await work.train(job, round, baseCid)
      if (ev?.kind !== 'local-delta-ready') throw new Error('no delta')
      const d = decodeDelta(store.get(ev.cid) ?? new Uint8Array(), { maxElements: flat.length })
      return Math.sqrt(d.reduce((a, x) => a + x * x, 0))
    }
    const hooked = work(hook)
    const plain = work()
    // round 0: the hook gives the spec's values, so the delta is the spec's bit for bit
    expect(await norm(hooked, 0)).toBe(await norm(plain, 0))
    // round 1: a tenth of the learning rate moves the weights far less (the same seed, the same batches)
    const slow = await norm(hooked, 1)
    const fast = await norm(plain, 1)
    expect(slow).toBeLessThan(fast * 0.3)
    expect(asked).toEqual([0, 1])
    hooked.dispose()
    plain.dispose()
  })
})
