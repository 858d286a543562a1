import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encode } from 'cborg'
import {
  canonicalJobBytes, createJobSpec, decodeTrainingMessage, encodeTrainingMessage, jobIdOf, MAX_TRAINING_MESSAGE_BYTES, TRAINING_LIMITS
} from '../../../../src/training/protocol/index.js'
import type { AggregationSpec, CompressionSpec } from '../../../../src/training/core/index.js'
import type { ModelSpec } from '../../../../src/training/model/spec.js'
import type { JobSpec } from '../../../../src/training/protocol/index.js'
import { NOW, cid, job, jobInput, messages } from './fixtures.js'

describe('job id', () => {
  it('is the hex sha256 of the canonical CBOR of the spec without its id', () => {
    const j = job('creator')
    expect(j.id).toMatch(/^[0-9a-f]{64}$/)
    expect(jobIdOf(j)).toBe(j.id)
    expect(canonicalJobBytes(j)).toEqual(canonicalJobBytes(jobInput('creator')))
  })

  it('does not depend on key order or on undefined optional fields', () => {
    const a = jobInput('creator')
    const reversed = Object.fromEntries(Object.entries(a).reverse()) as typeof a
    expect(jobIdOf(reversed)).toBe(jobIdOf(a))
    const { target: _t, ...noTarget } = a
    expect(jobIdOf({ ...noTarget, target: undefined })).toBe(jobIdOf(noTarget))
    expect(createJobSpec({ ...noTarget, manifestHash: undefined })).not.toHaveProperty('manifestHash')
  })

  it.each<[string, Partial<ReturnType<typeof jobInput>>]>([
    ['creator', { creator: 'someone-else' }],
    ['rounds', { rounds: 21 }],
    ['learning rate', { learningRate: 0.050000001 }],
    ['model seed', { model: { arch: 'mlp', layers: [64, 10], seed: 8, inputShape: [64] } }],
    ['aggregation', { aggregation: { kind: 'median' } }],
    ['timing', { timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 2000, capMs: 30_000, sealTimeoutMs: 10_001 } }],
    ['initial model', { initialModelCid: cid('other') }]
  ])('changes with the %s', (_n, over) => {
    expect(jobIdOf(jobInput('creator', over))).not.toBe(jobIdOf(jobInput('creator')))
  })

  it('types line up with the training core and model specs', () => {
    const j: JobSpec = job('creator')
    const agg: AggregationSpec = j.aggregation
    const comp: CompressionSpec = j.compression
    const model: ModelSpec = j.model as ModelSpec
    expect([agg.kind, comp.kind, model.arch]).toEqual(['fedavg', 'int8', 'mlp'])
  })
})

describe('encodeTrainingMessage / decodeTrainingMessage', () => {
  it('round-trips every message type with signer and seq', async () => {
    const key = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(key).toString()
    for (const msg of Object.values(messages(self))) {
      const bytes = await encodeTrainingMessage(key, NOW, msg)
      const rec = await decodeTrainingMessage(bytes)
      expect(rec.signer).toBe(self)
      expect(rec.seq).toBe(NOW)
      expect(rec.payload).toEqual(msg)
    }
  })

  it('drops undefined optional fields when encoding', async () => {
    const key = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(key).toString()
    const vote = { ...messages(self).vote, reason: undefined }
    const rec = await decodeTrainingMessage(await encodeTrainingMessage(key, NOW, vote))
    expect(rec.payload).not.toHaveProperty('reason')
  })

  it('a seal listing the participant cap fits the size cap', async () => {
    const key = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(key).toString()
    const seal = messages(self).seal
    if (seal.type !== 'seal') throw new Error('fixture')
    const peer = self // a real peer id length
    const deltas = Array.from({ length: TRAINING_LIMITS.maxParticipants }, (_, i) => ({ cid: cid(`d${i}`), peerId: `${peer.slice(0, -3)}${String(i).padStart(3, '0')}`, samples: 999_999_999 }))
      .sort((a, b) => (a.cid < b.cid ? -1 : 1))
    const bytes = await encodeTrainingMessage(key, NOW, { ...seal, deltas })
    expect(bytes.byteLength).toBeLessThan(MAX_TRAINING_MESSAGE_BYTES)
    await expect(decodeTrainingMessage(bytes)).resolves.toBeDefined()
    expect(encode(deltas).byteLength).toBeGreaterThan(20_000)
  })
})
