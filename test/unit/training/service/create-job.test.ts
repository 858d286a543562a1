/**
 * TrainingService.createJob refuses a spec peers would drop (checkJobSpec) instead of answering 201 for a job nobody
 * else accepts. The service runs over small in-memory stand-ins: the refusal happens before Level or gossip is touched.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { ManualClock } from '../../../../src/common/clock.js'
import { EventBus } from '../../../../src/common/events.js'
import { silentLogger } from '../../../../src/common/logger.js'
import { MeshError } from '../../../../src/common/errors.js'
import { TrainingService } from '../../../../src/training/service/service.js'
import type { TrainingServiceComponents } from '../../../../src/training/service/components.js'
import type { CreateJobRequest } from '../../../../src/training/service/api-types.js'
import { defaultTrainingOptions } from '../../../../src/training/options.js'
import { encodeDelta } from '../../../../src/training/core/codec.js'
import { modelHash } from '../../../../src/training/core/delta.js'
import { jobIdOf } from '../../../../src/training/protocol/job-id.js'

const REQ: CreateJobRequest = {
  model: { arch: 'mlp', layers: [8, 10], seed: 1 }, dataset: 'digits', rounds: 2, minParticipants: 1, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
}

describe('TrainingService.createJob', () => {
  let service: TrainingService
  let writes: number
  let published: number

  let dataDir: string
  let stored: Map<string, Uint8Array>
  let components: TrainingServiceComponents
  const c = (): TrainingServiceComponents => components

  afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'meshnode-create-'))
    stored = new Map()
    writes = 0
    published = 0
    components = {
      peerId: '12D3KooWcreator',
      privateKey: await generateKeyPair('Ed25519'),
      gossip: { register: () => {}, publish: async () => { published++ } },
      artifacts: {
        add: async (bytes: Uint8Array) => { const cid = CID.createV1(raw.code, await sha256.digest(bytes)).toString(); stored.set(cid, bytes); return { cid } },
        meta: async (cid: string) => stored.has(cid) ? { local: true } : undefined,
        cat: async (cid: string) => { const b = stored.get(cid); if (b == null) throw new Error(`no artifact ${cid}`); return b }
      },
      state: { sublevel: () => ({ iterator: async function * () {}, put: async () => { writes++ }, del: async () => {} }) },
      events: new EventBus(),
      logger: silentLogger,
      clock: new ManualClock(1_700_000_000_000)
    }
    service = new TrainingService(components, {
      ...defaultTrainingOptions,
      dataDir, fetchTimeoutMs: 1000, announceIntervalMs: 60_000, recordMaxAgeMs: 60_000, recordMaxSkewMs: 60_000,
      resources: { trainingThreads: 1, maxMemoryMB: 512, dutyCycle: 1 }
    })
  })

  it('accepts the default timing', async () => {
    const { id } = await service.createJob(REQ)
    expect(service.getJob(id)?.spec.timing.capMs).toBe(30_000)
    expect(writes).toBeGreaterThan(0)
    expect(published).toBe(1)
  })

  it('writes the seal voting into the spec: the request\'s, else this node\'s setting (consensus by default)', async () => {
    const byDefault = (await service.createJob(REQ)).id
    expect(service.getJob(byDefault)?.spec.sealVoting).toBe('consensus')
    const asked = (await service.createJob({ ...REQ, sealVoting: 'majority' })).id
    expect(service.getJob(asked)?.spec.sealVoting).toBe('majority')
    expect(asked).not.toBe(byDefault) // the mode is part of what the job id hashes
  })

  // filled in from the defaults, each makes capMs < minWaitMs: a spec every other node rejects
  it.each([
    ['capMs below the default minWaitMs', { capMs: 500 }],
    ['minWaitMs above the default capMs', { minWaitMs: 60_000 }]
  ])('refuses %s with ERR_BOUNDS (a client error for the API)', async (_n, timing) => {
    const err = await service.createJob({ ...REQ, timing }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MeshError)
    expect((err as MeshError).code).toBe('ERR_BOUNDS')
    expect(service.listJobs()).toHaveLength(0)
    expect(writes).toBe(0)
    expect(published).toBe(0)
  })

  // issue 11, defect 4: an output layer of 3 on the 10-class digits was announced and hung silently
  it('refuses at create a model whose output layer is narrower than the creator\'s classes', async () => {
    const err = await service.createJob({ ...REQ, model: { arch: 'mlp', layers: [8, 3], seed: 1 } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MeshError)
    expect((err as MeshError).code).toBe('ERR_DATASET')
    expect((err as MeshError).kind).toBe('invalid')
    expect((err as Error).message).toMatch(/dataset digits has 10 classes .* output layer has 3 units/)
    expect(service.listJobs()).toHaveLength(0)
    expect(published).toBe(0)
  })

  it('refuses at join a dataset with more classes than the job\'s model outputs', async () => {
    const { id } = await service.createJob(REQ)
    const rows = Array.from({ length: 40 }, (_, i) => [...Array.from({ length: 64 }, (_, k) => (i + k) % 7), i % 12].join(',')).join('\n')
    await service.importDataset('twelve', rows, 'csv')
    const err = await service.joinJob(id, { dataset: 'twelve' }).catch((e: unknown) => e)
    expect((err as MeshError).code).toBe('ERR_DATASET')
    expect((err as Error).message).toMatch(/dataset twelve has 12 classes .* output layer has 10 units: it needs at least 12/)
    expect(service.getJob(id)?.joined).toBe(false)
  })

  // issue 11, defects 5 and 6 through the service: names kept, features scaled, a warning for unscaled ranges
  it('imports class names and standardises on request; warns about ranges differing by orders of magnitude', async () => {
    const wine = 'alcohol,malic,proline,kind\n13.2,1.8,1050,red\n12.4,2.1,520,white\n14.1,1.5,1680,red\n11.9,3.2,278,white\n'
    const plain = await service.importDataset('wine', wine, 'csv')
    expect(plain).toMatchObject({ rows: 4, features: 3, classes: 2, labels: ['red', 'white'] })
    expect(plain.standardized).toBeUndefined()
    expect(plain.warnings?.[0]).toMatch(/feature ranges differ by a factor of \d+ .*--standardize/)
    const scaled = await service.importDataset('wine-std', wine, 'csv', { standardize: true })
    expect(scaled).toMatchObject({ standardized: true, labels: ['red', 'white'] })
    expect(scaled.warnings).toBeUndefined()
    const listed = (await service.listDatasets()).find(d => d.name === 'wine-std')
    expect(listed).toMatchObject({ standardized: true, labels: ['red', 'white'] })
    await expect(service.importDataset('big', '1,2,5000\n', 'csv')).rejects.toThrow(/label 5000 is not a class index below the cap of 4096/)
  })

  // issue 11: warm start, a new job continuing from a trained model
  it('creates a job from a trained model (init.model) that joiners accept, and refuses a model of another shape', async () => {
    const params = 64 * 8 + 8 + 8 * 10 + 10
    const trained = Float32Array.from({ length: params }, (_, i) => Math.sin(i))
    const { cid } = await c().artifacts.add(encodeDelta(trained, { kind: 'fp32' }), { name: 'm', kind: 'model' })
    const { id } = await service.createJob({ ...REQ, init: { model: cid } })
    const spec = service.getJob(id)!.spec
    expect(spec.initialModelCid).toBe(cid)
    expect(spec.warmStart).toEqual({ modelHash: modelHash(trained) })
    expect(jobIdOf(spec)).toBe(id)
    const joined = await service.joinJob(id, { dataset: 'digits' })
    expect(joined.joined).toBe(true)

    const wrong = (await c().artifacts.add(encodeDelta(new Float32Array(10), { kind: 'fp32' }), { name: 'w', kind: 'model' })).cid
    await expect(service.createJob({ ...REQ, init: { model: wrong } })).rejects.toThrow(/has 10 parameters; the job's model has 610/)
    await expect(service.createJob({ ...REQ, init: { model: 'bafkreiabsent' } })).rejects.toThrow(/cannot read the warm-start model/)
  })
})
