import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { encode, decode } from 'cborg'
import { signRecord } from '../../../src/protocols/envelope.js'
import { ReplayGuard } from '../../../src/protocols/replay.js'
import { ARTIFACT_DOMAIN, ARTIFACT_TOPIC } from '../../../src/storage/protocol/topic.js'
import { ManualClock } from '../../../src/common/clock.js'
import { GossipValidationError } from '../../../src/common/errors.js'
import { validateArtifactGossip, ARTIFACT_RECORD_VERSION, MAX_ARTIFACT_RECORD_BYTES } from '../../../src/storage/protocol/artifact-record.js'

const NOW = 1_700_000_000_000
const CID = 'bafybeifr26fjy7fuehm6fwg7h7yh5rh3mdi3ba5ztqagtrccbcl7x2gcdu'
/** Another record's signing domain (the hardware record's). */
const OTHER_DOMAIN = 'meshnode/hardware-record'

interface Ctx { key: PrivateKey, other: PrivateKey, self: string, otherId: string }

function meta (producer: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { cid: CID, name: 'model-r3.bin', kind: 'model', mediaType: 'application/octet-stream', size: 1234, producer, job: 'job-1', round: 3, createdAt: NOW, ...over }
}

async function sign (key: PrivateKey, payload: unknown, opts: { domain?: string, version?: number, seq?: number } = {}): Promise<Uint8Array> {
  return await signRecord(key, opts.domain ?? ARTIFACT_DOMAIN, opts.version ?? ARTIFACT_RECORD_VERSION, opts.seq ?? NOW, payload)
}

/** [name, build bytes, forwarded by ('self' | 'other'), expected action, expected code] */
type Case = [string, (c: Ctx) => Promise<Uint8Array>, 'self' | 'other', 'reject' | 'ignore', string]

const cases: Case[] = [
  ['bad signature', async c => { const m = decode(await sign(c.key, meta(c.self))); m.g[0] ^= 0xff; return encode(m) }, 'self', 'reject', 'ERR_RECORD_SIGNATURE'],
  ['tampered payload', async c => { const m = decode(await sign(c.key, meta(c.self))); m.p = encode(meta(c.self, { size: 1 })); return encode(m) }, 'self', 'reject', 'ERR_RECORD_SIGNATURE'],
  ['oversized record', async c => await sign(c.key, meta(c.self, { name: 'x'.repeat(MAX_ARTIFACT_RECORD_BYTES) })), 'self', 'reject', 'ERR_TOO_LARGE'],
  ['oversized name (under the record cap)', async c => await sign(c.key, meta(c.self, { name: 'x'.repeat(300) })), 'self', 'reject', 'ERR_SCHEMA'],
  ['wrong domain', async c => await sign(c.key, meta(c.self), { domain: OTHER_DOMAIN }), 'self', 'reject', 'ERR_RECORD_DOMAIN'],
  ['unknown version', async c => await sign(c.key, meta(c.self), { version: 2 }), 'self', 'ignore', 'ERR_VERSION'],
  ['producer is not the signer', async c => await sign(c.key, meta(c.otherId)), 'self', 'reject', 'ERR_PRODUCER'],
  ['garbage bytes', async () => new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 'self', 'reject', 'ERR_RECORD_DECODE'],
  ['unknown kind', async c => await sign(c.key, meta(c.self, { kind: 'virus' })), 'self', 'reject', 'ERR_SCHEMA'],
  ['negative size', async c => await sign(c.key, meta(c.self, { size: -1 })), 'self', 'reject', 'ERR_SCHEMA'],
  ['fractional round', async c => await sign(c.key, meta(c.self, { round: 1.5 })), 'self', 'reject', 'ERR_SCHEMA'],
  ['extra field', async c => await sign(c.key, meta(c.self, { bytes: new Uint8Array(10) })), 'self', 'reject', 'ERR_SCHEMA'],
  ['missing cid', async c => { const m = meta(c.self); delete m.cid; return await sign(c.key, m) }, 'self', 'reject', 'ERR_SCHEMA'],
  ['cid that does not parse', async c => await sign(c.key, meta(c.self, { cid: 'bafy-not-a-cid' })), 'self', 'reject', 'ERR_SCHEMA'],
  ['non-canonical (v0) cid', async c => await sign(c.key, meta(c.self, { cid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG' })), 'self', 'reject', 'ERR_SCHEMA'],
  ['bad media type', async c => await sign(c.key, meta(c.self, { mediaType: 'not a type' })), 'self', 'reject', 'ERR_SCHEMA'],
  ['payload not a map', async c => await sign(c.key, ['cid', CID]), 'self', 'reject', 'ERR_SCHEMA'],
  ['stale record', async c => await sign(c.key, meta(c.self), { seq: NOW - 11 * 60_000 }), 'self', 'reject', 'ERR_STALE'],
  ['record from the future', async c => await sign(c.key, meta(c.self), { seq: NOW + 60_000 }), 'self', 'reject', 'ERR_FUTURE']
]

describe('artifact announcement validator', () => {
  async function ctx (): Promise<Ctx> {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    return { key, other, self: peerIdFromPrivateKey(key).toString(), otherId: peerIdFromPrivateKey(other).toString() }
  }
  const guard = (): ReplayGuard => new ReplayGuard(new ManualClock(NOW), { maxAgeMs: 10 * 60_000, maxSkewMs: 30_000 })

  it('accepts a valid announcement and returns the verified metadata', async () => {
    const c = await ctx()
    const rec = await validateArtifactGossip(await sign(c.key, meta(c.self)), c.self, guard())
    expect(rec.signer).toBe(c.self)
    expect(rec.payload).toEqual(meta(c.self))
  })

  it('accepts one without the optional job and round', async () => {
    const c = await ctx()
    const m = meta(c.self); delete m.job; delete m.round
    const rec = await validateArtifactGossip(await sign(c.key, m), c.self, guard())
    expect(rec.payload.job).toBeUndefined()
  })

  it.each(cases)('%s', async (_name, build, source, action, code) => {
    const c = await ctx()
    const bytes = await build(c)
    const err = await validateArtifactGossip(bytes, source === 'self' ? c.self : c.otherId, guard()).catch(e => e)
    expect(err).toBeInstanceOf(GossipValidationError)
    expect(err.action).toBe(action)
    expect(err.code).toBe(code)
  })

  it('refuses a replay of an accepted record (the same record again costs nobody), and does not mark refused ones as seen', async () => {
    const c = await ctx()
    const g = guard()
    const bytes = await sign(c.key, meta(c.self))
    // refused first (same seq, another producer): must not poison the replay window
    await expect(validateArtifactGossip(await sign(c.key, meta(c.otherId)), c.self, g)).rejects.toMatchObject({ code: 'ERR_PRODUCER' })
    await validateArtifactGossip(bytes, c.otherId, g)
    await expect(validateArtifactGossip(bytes, c.self, g)).rejects.toMatchObject({ action: 'ignore', code: 'ERR_REPLAY' })
  })
})

describe('artifact announcement wire names', () => {
  it('keeps the topic and the signing domain byte-identical', () => {
    expect(ARTIFACT_TOPIC).toBe('meshnode/artifacts/1')
    expect(ARTIFACT_DOMAIN).toBe('meshnode/artifact-announce')
  })
})
