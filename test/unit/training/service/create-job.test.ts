/**
 * TrainingService.createJob refuses a spec peers would drop (checkJobSpec) instead of answering 201 for a job nobody
 * else accepts. The service runs over small in-memory stand-ins: the refusal happens before Level or gossip is touched.
 */
import { describe, it, expect, beforeEach } from 'vitest'
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

const REQ: CreateJobRequest = {
  model: { arch: 'mlp', layers: [8, 10], seed: 1 }, dataset: 'digits', rounds: 2, minParticipants: 1, localEpochs: 1,
  batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
}

describe('TrainingService.createJob', () => {
  let service: TrainingService
  let writes: number
  let published: number

  beforeEach(async () => {
    writes = 0
    published = 0
    const c: TrainingServiceComponents = {
      peerId: '12D3KooWcreator',
      privateKey: await generateKeyPair('Ed25519'),
      gossip: { register: () => {}, publish: async () => { published++ } },
      artifacts: {
        add: async (bytes: Uint8Array) => ({ cid: CID.createV1(raw.code, await sha256.digest(bytes)).toString() }),
        meta: async () => undefined,
        cat: async () => { throw new Error('no artifact is read while creating a job') }
      },
      state: { sublevel: () => ({ iterator: async function * () {}, put: async () => { writes++ } }) },
      events: new EventBus(),
      logger: silentLogger,
      clock: new ManualClock(1_700_000_000_000)
    }
    service = new TrainingService(c, {
      ...defaultTrainingOptions,
      dataDir: '/nonexistent', fetchTimeoutMs: 1000, announceIntervalMs: 60_000, recordMaxAgeMs: 60_000, recordMaxSkewMs: 60_000,
      resources: { trainingThreads: 1, maxMemoryMB: 512, dutyCycle: 1 }
    })
  })

  it('accepts the default timing', async () => {
    const { id } = await service.createJob(REQ)
    expect(service.getJob(id)?.spec.timing.capMs).toBe(30_000)
    expect(writes).toBeGreaterThan(0)
    expect(published).toBe(1)
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
})
