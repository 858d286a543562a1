/**
 * A node killed between persisting a round step and mirroring it to consensus (seals through consensus): at restart,
 * the runner hands the bridge the machine's seals and its own seals and votes of the round in progress again
 * (job-runner.ts `remirror`). The service runs over a small in-memory state store and a recording consensus port: the
 * snapshot is a real round machine's, driven as the aggregator that sealed and approved attempt 0.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ManualClock } from '../../../../src/common/clock.js'
import { EventBus } from '../../../../src/common/events.js'
import { silentLogger } from '../../../../src/common/logger.js'
import { TrainingService } from '../../../../src/training/service/service.js'
import type { TrainingServiceComponents } from '../../../../src/training/service/components.js'
import type { TrainingProposals } from '../../../../src/training/service/hyperparams-kind.js'
import { defaultTrainingOptions } from '../../../../src/training/options.js'
import { MODEL_UPDATE_KIND, sealPayload } from '../../../../src/training/service/seal-kind.js'
import type { RoundSeal } from '../../../../src/training/protocol/index.js'
import { Driver, PEERS, cid, only, published } from '../round/driver.js'

/** The aggregator of round 0, attempt 0 among PEERS, after it sealed and approved: its persisted job. */
function sealedByUs (): { self: string, seal: RoundSeal, persisted: unknown } {
  const self = new Driver('p0').m.aggregatorFor(0, 0) ?? 'p0'
  const d = new Driver(self)
  d.setup(true, PEERS)
  const asked = only(d.deltas(PEERS), 'aggregate')[0]
  const out = d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: cid('agg'), modelHash: 'ab'.repeat(32), deltas: asked.deltas.map(x => x.cid) })
  const seal = published(out, 'seal')[0]
  expect(published(out, 'vote')).toMatchObject([{ approve: true }])
  return { self, seal, persisted: { spec: d.job, reports: [], snapshot: d.m.snapshot() } }
}

describe('restart with seals through consensus', () => {
  let dataDir: string
  let service: TrainingService | undefined
  afterEach(async () => { await service?.stop(); await rm(dataDir, { recursive: true, force: true }) })
  beforeEach(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'meshnode-remirror-')) })

  /** Start a service whose store holds `persisted`, over a consensus port that already holds `held` proposals. */
  async function restart (self: string, persisted: unknown, held: Array<{ id: string, payload: unknown }>): Promise<{ created: unknown[], votes: Array<[string, string]> }> {
    const created: unknown[] = []
    const votes: Array<[string, string]> = []
    const proposals: TrainingProposals = {
      registerKind: () => () => {},
      create: async req => { created.push(req.payload); return { id: `new${created.length}` } },
      list: q => q.kind === MODEL_UPDATE_KIND ? held.map(h => ({ ...h, status: 'pending' })) : [],
      vote: async (id, choice) => { votes.push([id, choice]) }
    }
    const c: TrainingServiceComponents = {
      peerId: self,
      privateKey: await generateKeyPair('Ed25519'),
      gossip: { register: () => {}, publish: async () => {} },
      artifacts: { add: async () => { throw new Error('not needed') }, meta: async () => undefined, cat: async () => { throw new Error('offline') } },
      state: {
        sublevel: <V>(name: string) => ({
          iterator: async function * (): AsyncGenerator<[string, V]> { if (name === 'training') yield ['job', persisted as V] },
          put: async () => {},
          del: async () => {}
        })
      },
      events: new EventBus(),
      logger: silentLogger,
      clock: new ManualClock(Date.now()),
      proposals
    }
    service = new TrainingService(c, {
      ...defaultTrainingOptions,
      dataDir, fetchTimeoutMs: 1000, announceIntervalMs: 60_000, recordMaxAgeMs: 60_000, recordMaxSkewMs: 60_000,
      resources: { trainingThreads: 1, maxMemoryMB: 512, dutyCycle: 1 }
    })
    // the job's queue resumes it (and mirrors to consensus) in the background: the tests wait for what they expect
    await service.start()
    return { created, votes }
  }

  it('votes yes on the proposal of its seal that consensus holds (it was cut off after proposing)', async () => {
    const { self, seal, persisted } = sealedByUs()
    const { created, votes } = await restart(self, persisted, [{ id: 'held', payload: sealPayload(seal, PEERS) }])
    await vi.waitFor(() => { expect(votes).toEqual([['held', 'yes']]) }, { timeout: 10_000 })
    // the seal was handed over before the vote (one queue, in order): it found its proposal and made none
    expect(created).toEqual([])
  })

  it('proposes its seal when consensus holds none (it was cut off before proposing)', async () => {
    const { self, seal, persisted } = sealedByUs()
    const { created } = await restart(self, persisted, [])
    await vi.waitFor(() => { expect(created).toEqual([sealPayload(seal, PEERS)]) }, { timeout: 10_000 })
  })
})
