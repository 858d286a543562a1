/** Valid training messages for protocol tests. */
import { fakeCid } from '../round/sim.js'
import { createJobSpec, type JobSpec, type JobSpecInput, type TrainingMessage } from '../../../../src/training/protocol/index.js'

export const NOW = 1_700_000_000_000
export const cid = (s: string): string => fakeCid(new TextEncoder().encode(s))
export const HASH = 'ab'.repeat(32)

export function jobInput (creator: string, over: Partial<JobSpecInput> = {}): JobSpecInput {
  return {
    creator,
    model: { arch: 'mlp', layers: [64, 10], seed: 7, inputShape: [64] },
    dataset: 'digits',
    rounds: 20,
    minParticipants: 3,
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    aggregation: { kind: 'fedavg' },
    compression: { kind: 'int8', blockSize: 256 },
    target: { metric: 'accuracy', value: 0.9 },
    initialModelCid: cid('m0'),
    createdAt: NOW,
    timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 2000, capMs: 30_000, sealTimeoutMs: 10_000 },
    ...over
  }
}

export function job (creator: string, over: Partial<JobSpecInput> = {}): JobSpec {
  return createJobSpec(jobInput(creator, over))
}

/** One valid message of each type; `signer` authors them (and created the job). */
export function messages (signer: string): Record<TrainingMessage['type'], TrainingMessage> {
  const j = job(signer)
  const deltas = [cid('d1'), cid('d2'), cid('d3')].sort().map((c, i) => ({ cid: c, peerId: `peer${i}`, samples: 100 + i }))
  return {
    job: { type: 'job', job: j },
    join: { type: 'join', jobId: j.id, samples: 500 },
    leave: { type: 'leave', jobId: j.id },
    delta: { type: 'delta', jobId: j.id, round: 3, baseModelCid: cid('m3'), cid: cid('d1'), samples: 500, bytes: 4096, metrics: { loss: 0.4, accuracy: 0.87 } },
    seal: { type: 'seal', jobId: j.id, round: 3, attempt: 1, baseModelCid: cid('m3'), deltas, aggregateCid: cid('m4'), modelHash: HASH, metrics: { loss: 0.4, accuracy: 0.87 } },
    vote: { type: 'vote', jobId: j.id, round: 3, attempt: 1, aggregateCid: cid('m4'), approve: false, reason: 'mismatch' },
    promise: { type: 'promise', jobId: j.id, round: 3, attempt: 2, locked: { attempt: 1, aggregateCid: cid('m4') } },
    stop: { type: 'stop', jobId: j.id, round: 3, reason: 'enough' },
    eval: { type: 'eval', jobId: j.id, round: 3, modelCid: cid('m4'), accuracy: 0.9, loss: 0.3, samples: 120 },
    electorate: { type: 'electorate', jobId: j.id, round: 3, fromAttempt: 4, electorate: ['peer0', 'peer2'] },
    payee: { type: 'payee', jobId: j.id, address: '0x' + '12'.repeat(20) },
    voucher: { type: 'voucher', jobId: j.id, round: 3, peerId: 'peer1', payer: '0x' + '34'.repeat(20), provider: '0x' + '12'.repeat(20), salt: '7', cumulativeAmount: '1000', r: '0x' + '56'.repeat(32), vs: '0x' + '78'.repeat(32) }
  }
}
