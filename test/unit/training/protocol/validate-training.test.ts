import { describe, it, expect, beforeAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { encode, decode } from 'cborg'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { signRecord } from '../../../../src/protocols/envelope.js'
import { ReplayGuard } from '../../../../src/protocols/replay.js'
import { ARTIFACT_DOMAIN } from '../../../../src/storage/protocol/topic.js'
import { ManualClock } from '../../../../src/common/clock.js'
import { GossipValidationError } from '../../../../src/common/errors.js'
import {
  MAX_TRAINING_MESSAGE_BYTES, TRAINING_DOMAIN, TRAINING_MESSAGE_VERSION, createJobSpec, validateTrainingGossip, type TrainingMessage
} from '../../../../src/training/protocol/index.js'
import { NOW, cid, jobInput, messages } from './fixtures.js'

interface Ctx { key: PrivateKey, self: string, otherId: string, msgs: Record<TrainingMessage['type'], TrainingMessage> }
type Payload = Record<string, unknown>
let c: Ctx

async function sign (payload: unknown, opts: { domain?: string, version?: number, seq?: number } = {}): Promise<Uint8Array> {
  return await signRecord(c.key, opts.domain ?? TRAINING_DOMAIN, opts.version ?? TRAINING_MESSAGE_VERSION, opts.seq ?? NOW, payload)
}
/** A valid message of `type` with fields replaced. */
const m = (type: TrainingMessage['type'], over: Payload = {}): Payload => ({ ...(structuredClone(c.msgs[type]) as Payload), ...over })
/** A job announcement with spec fields replaced and a correct id (so only the bound under test fails). */
const jobWith = (over: Payload): Payload => ({ type: 'job', job: createJobSpec({ ...jobInput(c.self), ...over } as ReturnType<typeof jobInput>) })
const sealDeltas = (): Array<{ cid: string, peerId: string, samples: number }> => structuredClone((c.msgs.seal as { deltas: Array<{ cid: string, peerId: string, samples: number }> }).deltas)
const base58v1 = (): string => CID.parse(cid('x')).toString(base58btc)

/** [name, payload or bytes builder, forwarded by, action, code] */
type Case = [string, () => Promise<Uint8Array> | Uint8Array | Payload | unknown[], 'self' | 'other', 'reject' | 'ignore', string]

const cases: Case[] = [
  // envelope
  ['bad signature', async () => { const e = decode(await sign(m('join'))); e.g[0] ^= 0xff; return encode(e) }, 'self', 'reject', 'ERR_RECORD_SIGNATURE'],
  ['tampered payload', async () => { const e = decode(await sign(m('join'))); e.p = encode(m('join', { samples: 1 })); return encode(e) }, 'self', 'reject', 'ERR_RECORD_SIGNATURE'],
  ['wrong domain', async () => await sign(m('join'), { domain: ARTIFACT_DOMAIN }), 'self', 'reject', 'ERR_RECORD_DOMAIN'],
  ['garbage bytes', () => new Uint8Array([1, 2, 3]), 'self', 'reject', 'ERR_RECORD_DECODE'],
  ['over the 64 KiB cap', async () => await sign(m('vote', { reason: 'x'.repeat(MAX_TRAINING_MESSAGE_BYTES) })), 'self', 'reject', 'ERR_TOO_LARGE'],
  ['unknown version', async () => await sign(m('join'), { version: 2 }), 'self', 'ignore', 'ERR_VERSION'],
  ['stale', async () => await sign(m('join'), { seq: NOW - 11 * 60_000 }), 'self', 'reject', 'ERR_STALE'],
  ['from the future', async () => await sign(m('join'), { seq: NOW + 60_000 }), 'self', 'reject', 'ERR_FUTURE'],
  // schema
  ['payload not a map', () => ['join'], 'self', 'reject', 'ERR_SCHEMA'],
  ['no type', () => { const p = m('join'); delete p.type; return p }, 'self', 'reject', 'ERR_SCHEMA'],
  ['unknown type (a later addition)', () => m('join', { type: 'heartbeat' }), 'self', 'ignore', 'ERR_UNKNOWN_TYPE'],
  ['extra field', () => m('join', { weights: new Uint8Array(8) }), 'self', 'reject', 'ERR_SCHEMA'],
  ['job id not hex', () => m('join', { jobId: 'job-1' }), 'self', 'reject', 'ERR_SCHEMA'],
  ['delta without metrics', () => { const p = m('delta'); delete p.metrics; return p }, 'self', 'reject', 'ERR_SCHEMA'],
  ['NaN accuracy', () => m('delta', { metrics: { loss: 0.1, accuracy: NaN } }), 'self', 'reject', 'ERR_SCHEMA'],
  ['infinite loss', () => m('delta', { metrics: { loss: Infinity, accuracy: 0.5 } }), 'self', 'reject', 'ERR_SCHEMA'],
  ['fractional round', () => m('delta', { round: 1.5 }), 'self', 'reject', 'ERR_SCHEMA'],
  ['approve not boolean', () => m('vote', { approve: 1 }), 'self', 'reject', 'ERR_SCHEMA'],
  ['seal without deltas', () => m('seal', { deltas: [] }), 'self', 'reject', 'ERR_SCHEMA'],
  ['seal with 257 deltas', () => m('seal', { deltas: Array.from({ length: 257 }, (_, i) => ({ cid: cid(`d${i}`), peerId: `p${i}`, samples: 1 })) }), 'self', 'reject', 'ERR_SCHEMA'],
  ['seal model hash not hex', () => m('seal', { modelHash: 'AB'.repeat(32) }), 'self', 'reject', 'ERR_SCHEMA'],
  ['job with an unknown aggregation', () => jobWith({ aggregation: { kind: 'mean' } }), 'self', 'reject', 'ERR_SCHEMA'],
  ['job with an unknown architecture', () => jobWith({ model: { arch: 'transformer', seed: 1 } }), 'self', 'reject', 'ERR_SCHEMA'],
  ['job without timing', () => { const j = jobWith({}); delete (j.job as Payload).timing; return j }, 'self', 'reject', 'ERR_SCHEMA'],
  // bounds
  ['round at the cap', () => m('delta', { round: 10_000 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['negative round', () => m('vote', { round: -1 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['attempt at the cap', () => m('seal', { attempt: 1024 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['zero samples', () => m('delta', { samples: 0 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['1e9 samples', () => m('join', { samples: 1e9 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['zero samples in a seal entry', () => { const d = sealDeltas(); d[1].samples = 0; return m('seal', { deltas: d }) }, 'self', 'reject', 'ERR_BOUNDS'],
  ['accuracy above 1', () => m('delta', { metrics: { loss: 0.1, accuracy: 1.5 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['negative loss', () => m('seal', { metrics: { loss: -0.1, accuracy: 0.5 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['empty delta', () => m('delta', { bytes: 0 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['job with 0 rounds', () => jobWith({ rounds: 0 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['job with 10001 rounds', () => jobWith({ rounds: 10_001 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['job needing 0 participants', () => jobWith({ minParticipants: 0 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['job with learning rate 0', () => jobWith({ learningRate: 0 }), 'self', 'reject', 'ERR_BOUNDS'],
  ['trimmed mean beta 0.5', () => jobWith({ aggregation: { kind: 'trimmed-mean', beta: 0.5 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['krum f too large for minParticipants', () => jobWith({ aggregation: { kind: 'krum', f: 1 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['top-k fraction 0', () => jobWith({ compression: { kind: 'topk', fraction: 0 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['target accuracy 1.5', () => jobWith({ target: { metric: 'accuracy', value: 1.5 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['cap below the minimum wait', () => jobWith({ timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 2000, capMs: 1000, sealTimeoutMs: 10_000 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['zero seal timeout', () => jobWith({ timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 0, capMs: 1000, sealTimeoutMs: 0 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['model with one output class', () => jobWith({ model: { arch: 'mlp', layers: [64, 1], seed: 1 } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['model over the parameter cap', () => jobWith({ model: { arch: 'mlp', layers: [65_536, 65_536, 10], seed: 1, inputShape: [4096] } }), 'self', 'reject', 'ERR_BOUNDS'],
  // job identity
  ['job id that is not the spec hash', () => { const j = jobWith({}); (j.job as Payload).rounds = 19; return j }, 'self', 'reject', 'ERR_JOB_ID'],
  ['job announced in another creator\'s name', () => ({ type: 'job', job: createJobSpec(jobInput(c.otherId)) }), 'self', 'reject', 'ERR_SIGNER'],
  // CIDs
  ['delta cid that does not parse', () => m('delta', { cid: 'bafy-not-a-cid' }), 'self', 'reject', 'ERR_CID'],
  ['CIDv0 base model', () => m('delta', { baseModelCid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG' }), 'self', 'reject', 'ERR_CID'],
  ['non-canonical (base58) CIDv1', () => m('vote', { aggregateCid: base58v1() }), 'self', 'reject', 'ERR_CID'],
  ['bad aggregate cid in a seal', () => m('seal', { aggregateCid: 'nope' }), 'self', 'reject', 'ERR_CID'],
  ['bad delta cid in a seal', () => m('seal', { deltas: [{ cid: 'nope', peerId: 'p', samples: 1 }] }), 'self', 'reject', 'ERR_CID'],
  ['bad initial model cid', () => jobWith({ initialModelCid: 'nope' }), 'self', 'reject', 'ERR_CID'],
  // seal ordering
  ['seal deltas not sorted by cid', () => m('seal', { deltas: sealDeltas().reverse() }), 'self', 'reject', 'ERR_ORDER'],
  ['seal listing a cid twice', () => { const d = sealDeltas(); d[1] = { ...d[0], peerId: 'another' }; return m('seal', { deltas: d }) }, 'self', 'reject', 'ERR_ORDER'],
  // promises
  ['promise for attempt 0', () => { const p = m('promise', { attempt: 0 }); delete p.locked; return p }, 'self', 'reject', 'ERR_BOUNDS'],
  ['promise reporting a lock from its own attempt', () => m('promise', { locked: { attempt: 2, aggregateCid: cid('m4') } }), 'self', 'reject', 'ERR_BOUNDS'],
  ['promise with a bad locked cid', () => m('promise', { locked: { attempt: 1, aggregateCid: 'nope' } }), 'self', 'reject', 'ERR_CID'],
  ['seal listing a peer twice', () => { const d = sealDeltas(); d[2].peerId = d[0].peerId; return m('seal', { deltas: d }) }, 'self', 'reject', 'ERR_DUPLICATE']
]

describe('training gossip validator', () => {
  beforeAll(async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const self = peerIdFromPrivateKey(key).toString()
    c = { key, self, otherId: peerIdFromPrivateKey(other).toString(), msgs: messages(self) }
  })
  const guard = (): ReplayGuard => new ReplayGuard(new ManualClock(NOW), { maxAgeMs: 10 * 60_000, maxSkewMs: 30_000 })

  it.each(['job', 'join', 'leave', 'delta', 'seal', 'vote', 'promise'] as const)('accepts a valid %s message', async type => {
    const rec = await validateTrainingGossip(await sign(c.msgs[type]), c.self, guard())
    expect(rec.signer).toBe(c.self)
    expect(rec.payload).toEqual(c.msgs[type])
  })

  it('accepts a promise without a lock', async () => {
    const p = m('promise')
    delete p.locked
    await expect(validateTrainingGossip(await sign(p), c.self, guard())).resolves.toMatchObject({ payload: p })
  })

  it.each(cases)('%s', async (_name, build, source, action, code) => {
    const built = await build()
    const bytes = built instanceof Uint8Array ? built : await sign(built)
    const err = await validateTrainingGossip(bytes, source === 'self' ? c.self : c.otherId, guard()).catch(e => e)
    expect(err).toBeInstanceOf(GossipValidationError)
    expect({ action: err.action, code: err.code }).toEqual({ action, code })
  })

  it('refuses a replay (the same record again costs nobody), and a refused message does not poison the replay window', async () => {
    const g = guard()
    const bytes = await sign(c.msgs.delta)
    const forged = decode(bytes); forged.g[0] ^= 0xff // same seq, a signature that fails
    await expect(validateTrainingGossip(encode(forged), c.self, g)).rejects.toMatchObject({ code: 'ERR_RECORD_SIGNATURE' })
    await validateTrainingGossip(bytes, c.otherId, g)
    await expect(validateTrainingGossip(bytes, c.self, g)).rejects.toMatchObject({ action: 'ignore', code: 'ERR_REPLAY' })
  })
})
