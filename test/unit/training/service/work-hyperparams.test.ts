/**
 * The hyperparams seam: local training reads the learning rate, epochs and batch size of each round from RoundWork's
 * `hyperparams` hook (the accepted `hyperparams` changes), not from the signed spec.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { silentLogger } from '../../../../src/common/logger.js'
import { decodeDelta, encodeDelta } from '../../../../src/training/core/codec.js'
import { loadBuiltin } from '../../../../src/training/data/builtin.js'
import { subset } from '../../../../src/training/data/dataset.js'
import { initBackend } from '../../../../src/training/model/backend.js'
import { initialWeights } from '../../../../src/training/model/init.js'
import type { Hyperparams } from '../../../../src/training/protocol/hyperparams.js'
import type { JobSpec } from '../../../../src/training/protocol/job-schema.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import { RoundWork } from '../../../../src/training/service/work.js'

beforeAll(async () => { await initBackend('wasm') })

describe('RoundWork.train with the hyperparams hook', () => {
  it('trains each round with the values the hook gives for that round', async () => {
    const store = new Map<string, Uint8Array>()
    const artifacts = {
      add: async (bytes: Uint8Array) => { const cid = CID.createV1(raw.code, await sha256.digest(bytes)).toString(); store.set(cid, bytes); return { cid } },
      meta: async (cid: string) => store.has(cid) ? { local: true } : undefined,
      cat: async (cid: string) => { const b = store.get(cid); if (b == null) throw new Error('absent'); return b }
    }
    const model = { arch: 'mlp' as const, layers: [16, 10], seed: 5, inputShape: [64] }
    const { flat } = initialWeights(model, [64])
    const baseCid = (await artifacts.add(encodeDelta(flat, { kind: 'fp32' }))).cid
    const digits = await loadBuiltin('digits')
    const data = { train: subset(digits, Array.from({ length: 300 }, (_, i) => i)), test: subset(digits, Array.from({ length: 100 }, (_, i) => 1000 + i)) }
    const spec = { id: 'j'.repeat(64), model, localEpochs: 1, batchSize: 10, learningRate: 0.1, compression: { kind: 'fp32' }, timing: { capMs: 30_000 } } as unknown as JobSpec
    const job = { spec, params: flat.length, inputShape: [64], data, bytes: { sent: 0, received: 0 }, prefetched: new Map(), reports: [] } as unknown as JobRuntime
    const asked: number[] = []
    // from round 1 on, an accepted change cut the learning rate 10x
    const hook = (_job: JobRuntime, round: number): Hyperparams => { asked.push(round); return { learningRate: round >= 1 ? 0.01 : 0.1, localEpochs: 1, batchSize: 10 } }
    const norm = async (work: RoundWork, round: number): Promise<number> => {
      const ev = await work.train(job, round, baseCid)
      if (ev?.kind !== 'local-delta-ready') throw new Error('no delta')
      const d = decodeDelta(store.get(ev.cid) ?? new Uint8Array(), { maxElements: flat.length })
      return Math.sqrt(d.reduce((a, x) => a + x * x, 0))
    }
    const hooked = new RoundWork({ artifacts, logger: silentLogger, fetchTimeoutMs: 1000, resources: { maxMemoryMB: 1024, dutyCycle: 1 }, hyperparams: hook })
    const plain = new RoundWork({ artifacts, logger: silentLogger, fetchTimeoutMs: 1000, resources: { maxMemoryMB: 1024, dutyCycle: 1 } })
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
