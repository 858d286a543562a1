/** One RoundWork fixture for the unit tests of local training: an in-memory artifact store, a digits job, its base model. */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { silentLogger } from '../../../../src/common/logger.js'
import { encodeDelta } from '../../../../src/training/core/codec.js'
import { loadBuiltin } from '../../../../src/training/data/builtin.js'
import { subset } from '../../../../src/training/data/dataset.js'
import { initialWeights } from '../../../../src/training/model/init.js'
import type { Hyperparams } from '../../../../src/training/protocol/hyperparams.js'
import type { JobSpec } from '../../../../src/training/protocol/job-schema.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import { RoundWork } from '../../../../src/training/service/work.js'

export const MODEL = { arch: 'mlp' as const, layers: [16, 10], seed: 5, inputShape: [64] }

/** A digits job of `train`/`test` samples with `localEpochs` epochs, and its seeded base model stored as an artifact. */
export async function workFixture (opts: { train: number, test: number, localEpochs: number, fetchTimeoutMs?: number }) {
  const store = new Map<string, Uint8Array>()
  const artifacts = {
    add: async (bytes: Uint8Array) => { const cid = CID.createV1(raw.code, await sha256.digest(bytes)).toString(); store.set(cid, bytes); return { cid } },
    meta: async (cid: string) => store.has(cid) ? { local: true } : undefined,
    cat: async (cid: string) => { const b = store.get(cid); if (b == null) throw new Error('absent'); return b }
  }
  const { flat } = initialWeights(MODEL, [64])
  const baseCid = (await artifacts.add(encodeDelta(flat, { kind: 'fp32' }))).cid
  const digits = await loadBuiltin('digits')
  const data = {
    train: subset(digits, Array.from({ length: opts.train }, (_, i) => i)),
    test: subset(digits, Array.from({ length: opts.test }, (_, i) => 1000 + i))
  }
  const spec = { id: 'j'.repeat(64), model: MODEL, localEpochs: opts.localEpochs, batchSize: 10, learningRate: 0.1, compression: { kind: 'fp32' }, timing: { capMs: 30_000 } } as unknown as JobSpec
  const job = { spec, params: flat.length, inputShape: [64], data, bytes: { sent: 0, received: 0 }, prefetched: new Map(), reports: [] } as unknown as JobRuntime
  const work = (hyperparams?: (job: JobRuntime, round: number) => Hyperparams): RoundWork =>
    new RoundWork({ artifacts, logger: silentLogger, fetchTimeoutMs: opts.fetchTimeoutMs ?? 1000, resources: { maxMemoryMB: 1024, dutyCycle: 1 }, hyperparams })
  return { store, artifacts, flat, baseCid, data, job, work }
}
