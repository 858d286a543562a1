/**
 * Issue 11, defect 2: a delta announcement's metrics used to be the accuracy of the node's locally trained model, so
 * the seal's figure (and the target) judged models nobody gets. They are now the node's evaluation of the global
 * model the round starts from, on its held-out split.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { silentLogger } from '../../../../src/common/logger.js'
import { encodeDelta } from '../../../../src/training/core/codec.js'
import { loadBuiltin } from '../../../../src/training/data/builtin.js'
import { subset } from '../../../../src/training/data/dataset.js'
import { initBackend } from '../../../../src/training/model/backend.js'
import { buildModel, modelWeightsManifest, setFlatWeights } from '../../../../src/training/model/build.js'
import { initialWeights } from '../../../../src/training/model/init.js'
import { evaluate } from '../../../../src/training/model/train.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import { RoundWork } from '../../../../src/training/service/work.js'
import type { JobSpec } from '../../../../src/training/protocol/job-schema.js'

beforeAll(async () => { await initBackend('wasm') })

describe('RoundWork.train', () => {
  it('announces the evaluation of the base (global) model on the held-out split, not of the local model', async () => {
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
    const data = { train: subset(digits, Array.from({ length: 600 }, (_, i) => i)), test: subset(digits, Array.from({ length: 300 }, (_, i) => 1000 + i)) }
    const spec = { id: 'j'.repeat(64), model, localEpochs: 3, batchSize: 10, learningRate: 0.1, compression: { kind: 'fp32' }, timing: { capMs: 30_000 } } as unknown as JobSpec
    const job = { spec, params: flat.length, inputShape: [64], data, bytes: { sent: 0, received: 0 }, prefetched: new Map(), reports: [] } as unknown as JobRuntime
    const work = new RoundWork({ artifacts, logger: silentLogger, fetchTimeoutMs: 1000, resources: { maxMemoryMB: 1024, dutyCycle: 1 } })

    const ev = await work.train(job, 0, baseCid)
    if (ev?.kind !== 'local-delta-ready') throw new Error('no delta')
    const m = await buildModel(model)
    setFlatWeights(m, modelWeightsManifest(m), flat)
    const base = evaluate(m, data.test)
    // the untrained base model is near chance; three local epochs take the local model far above it
    expect(base.accuracy).toBeLessThan(0.4)
    expect(ev.metrics.accuracy).toBeCloseTo(base.accuracy, 10)
    expect(ev.metrics.loss).toBeCloseTo(base.loss, 5)
    m.dispose()
    work.dispose()
  })
})
