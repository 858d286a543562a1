import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encode, decode } from 'cborg'
import { signRecord, openRecord } from '../../../src/protocols/envelope.js'
import { ReplayGuard, SeqSource, recordFingerprint } from '../../../src/protocols/replay.js'
import { ManualClock } from '../../../src/common/clock.js'
import { RecordError, GossipValidationError } from '../../../src/common/errors.js'

describe('signed envelope', () => {
  it('round-trips and names the signer', async () => {
    const key = await generateKeyPair('Ed25519')
    const bytes = await signRecord(key, 'd/1', 1, 42, { a: 1, b: 'x' })
    const rec = await openRecord(bytes, { domain: 'd/1' })
    expect(rec.payload).toEqual({ a: 1, b: 'x' })
    expect(rec.signer).toBe(peerIdFromPrivateKey(key).toString())
    expect(rec.seq).toBe(42)
  })

  const cases: Array<[string, (b: Uint8Array) => Uint8Array, string, string?]> = [
    ['garbage', () => new Uint8Array([0xff, 0x00, 0x13]), 'ERR_RECORD_DECODE'],
    ['not a map', () => encode([1, 2, 3]), 'ERR_RECORD_DECODE'],
    ['wrong domain', b => b, 'ERR_RECORD_DOMAIN', 'other/1'],
    ['tampered payload', b => { const m = decode(b); m.p = encode({ a: 2, b: 'x' }); return encode(m) }, 'ERR_RECORD_SIGNATURE'],
    ['tampered seq', b => { const m = decode(b); m.s = 43; return encode(m) }, 'ERR_RECORD_SIGNATURE'],
    ['bad key', b => { const m = decode(b); m.k = new Uint8Array(5); return encode(m) }, 'ERR_RECORD_KEY'],
    ['missing sig', b => { const m = decode(b); delete m.g; return encode(m) }, 'ERR_RECORD_DECODE']
  ]
  it.each(cases)('rejects %s', async (_name, mutate, code, domain) => {
    const key = await generateKeyPair('Ed25519')
    const bytes = mutate(await signRecord(key, 'd/1', 1, 42, { a: 1, b: 'x' }))
    const err = await openRecord(bytes, { domain: domain ?? 'd/1' }).catch(e => e)
    expect(err).toBeInstanceOf(RecordError)
    expect(err.code).toBe(code)
  })

  it('rejects a signature by another key', async () => {
    const a = await generateKeyPair('Ed25519')
    const b = await generateKeyPair('Ed25519')
    const m = decode(await signRecord(a, 'd/1', 1, 1, 'x'))
    m.k = decode(await signRecord(b, 'd/1', 1, 1, 'x')).k
    await expect(openRecord(encode(m), { domain: 'd/1' })).rejects.toMatchObject({ code: 'ERR_RECORD_SIGNATURE' })
  })

  it('verifies every record of a known signer (the signer cache keeps the key, never a verdict)', async () => {
    const key = await generateKeyPair('Ed25519')
    const good = await signRecord(key, 'd/1', 1, 7, 'x')
    for (let i = 0; i < 2; i++) expect((await openRecord(good, { domain: 'd/1' })).signer).toBe(peerIdFromPrivateKey(key).toString())
    const m = decode(good)
    m.p = encode('y')
    await expect(openRecord(encode(m), { domain: 'd/1' })).rejects.toMatchObject({ code: 'ERR_RECORD_SIGNATURE' })
    m.p = decode(good).p
    m.g = m.g.slice(0, 63)
    await expect(openRecord(encode(m), { domain: 'd/1' })).rejects.toMatchObject({ code: 'ERR_RECORD_SIGNATURE' })
    expect((await openRecord(good, { domain: 'd/1' })).payload).toBe('x')
  })

  it('refuses a secp256k1 signer, every time', async () => {
    const key = await generateKeyPair('secp256k1')
    const bytes = await signRecord(key, 'd/1', 1, 7, 'x')
    for (let i = 0; i < 2; i++) await expect(openRecord(bytes, { domain: 'd/1' })).rejects.toMatchObject({ code: 'ERR_RECORD_KEY' })
  })

  it('enforces the size cap', async () => {
    const key = await generateKeyPair('Ed25519')
    const bytes = await signRecord(key, 'd/1', 1, 1, new Uint8Array(2000))
    await expect(openRecord(bytes, { domain: 'd/1', maxBytes: 1000 })).rejects.toMatchObject({ code: 'ERR_RECORD_SIZE' })
  })
})

describe('replay guard', () => {
  const clock = new ManualClock(1_000_000)
  const guard = new ReplayGuard(clock, { maxAgeMs: 60_000, maxSkewMs: 5_000 })
  const cases: Array<[string, number, string | null]> = [
    ['fresh', 1_000_000, null],
    ['duplicate', 1_000_000, 'ERR_REPLAY'],
    ['too old', 1_000_000 - 60_001, 'ERR_STALE'],
    ['too far ahead', 1_000_000 + 5_001, 'ERR_FUTURE'],
    ['slightly ahead', 1_000_000 + 4_000, null]
  ]
  it.each(cases)('%s', (_n, seq, code) => {
    if (code == null) expect(() => guard.check('p', 'd', seq)).not.toThrow()
    else {
      try { guard.check('p', 'd', seq); expect.fail('should throw') } catch (e) {
        expect(e).toBeInstanceOf(GossipValidationError)
        expect((e as GossipValidationError).code).toBe(code)
        expect((e as GossipValidationError).action).toBe('reject')
      }
    }
  })

  it('the same record again is ignored; another record under a used seq is rejected', () => {
    const g = new ReplayGuard(new ManualClock(1_000_000), { maxAgeMs: 60_000, maxSkewMs: 5_000 })
    const [a, b] = [recordFingerprint(Uint8Array.of(1)), recordFingerprint(Uint8Array.of(2))]
    g.check('p', 'd', 1_000_000, a)
    expect(() => g.check('p', 'd', 1_000_000, a)).toThrow(expect.objectContaining({ action: 'ignore', code: 'ERR_REPLAY' }))
    expect(() => g.check('p', 'd', 1_000_000, b)).toThrow(expect.objectContaining({ action: 'reject', code: 'ERR_REPLAY' }))
    expect(() => g.check('p', 'd', 1_000_000)).toThrow(expect.objectContaining({ action: 'reject', code: 'ERR_REPLAY' }))
  })

  it('seq source is strictly increasing within one millisecond', () => {
    const s = new SeqSource(new ManualClock(5))
    expect([s.next(), s.next(), s.next()]).toEqual([5, 6, 7])
  })
})
