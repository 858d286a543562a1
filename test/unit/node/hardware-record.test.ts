import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signRecord } from '../../../src/protocols/envelope.js'
import { ReplayGuard } from '../../../src/protocols/replay.js'
import { ManualClock } from '../../../src/common/clock.js'
import { GossipValidationError } from '../../../src/common/errors.js'
import {
  HARDWARE_DOMAIN, HARDWARE_PROTOCOL, HARDWARE_TOPIC, BANDWIDTH_PROTOCOL, openHardwareRecord, validateHardwareGossip,
  hardwareSummary
} from '../../../src/node/hardware/index.js'
import { SAMPLE } from './hardware-fixture.js'

const NOW = 1_700_000_000_000

describe('hardware record', () => {
  it('keeps its wire names byte for byte', () => {
    expect([HARDWARE_TOPIC, HARDWARE_DOMAIN, HARDWARE_PROTOCOL, BANDWIDTH_PROTOCOL])
      .toEqual(['meshnode/hardware/1', 'meshnode/hardware-record', '/meshnode/hardware/1.0.0', '/meshnode/bandwidth/1.0.0'])
  })

  it('opens a signed record and names its signer', async () => {
    const key = await generateKeyPair('Ed25519')
    const rec = await openHardwareRecord(await signRecord(key, HARDWARE_DOMAIN, 1, NOW, SAMPLE))
    expect(rec.payload).toEqual(SAMPLE)
    expect(rec.signer).toBe(peerIdFromPrivateKey(key).toString())
    expect(hardwareSummary(rec.payload)).toBe('8x x64 · 32 GB · RTX 4090 · 1234 samples/s')
  })

  const cases: Array<[string, (key: Awaited<ReturnType<typeof generateKeyPair>>) => Promise<Uint8Array>, 'reject' | 'ignore', string]> = [
    ['an oversized record', async key => await signRecord(key, HARDWARE_DOMAIN, 1, NOW, { ...SAMPLE, cpu: { ...SAMPLE.cpu, model: 'x'.repeat(40_000) } }), 'reject', 'ERR_TOO_LARGE'],
    ['a record breaking the schema', async key => await signRecord(key, HARDWARE_DOMAIN, 1, NOW, { ...SAMPLE, cpu: { ...SAMPLE.cpu, cores: -1 } }), 'reject', 'ERR_SCHEMA'],
    ['an extra field', async key => await signRecord(key, HARDWARE_DOMAIN, 1, NOW, { ...SAMPLE, extra: 1 }), 'reject', 'ERR_SCHEMA'],
    ['an unknown version', async key => await signRecord(key, HARDWARE_DOMAIN, 2, NOW, SAMPLE), 'ignore', 'ERR_VERSION'],
    ['another domain', async key => await signRecord(key, 'meshnode/artifact-announce', 1, NOW, SAMPLE), 'reject', 'ERR_RECORD_DOMAIN'],
    ['garbage', async () => new Uint8Array([0xde, 0xad]), 'reject', 'ERR_RECORD_DECODE']
  ]
  it.each(cases)('refuses %s', async (_name, make, action, code) => {
    const err = await openHardwareRecord(await make(await generateKeyPair('Ed25519'))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GossipValidationError)
    expect(err).toMatchObject({ action, code })
  })

  it('on gossip, needs a fresh unseen record (test/unit/protocols/gossip-record.test.ts has the rule)', async () => {
    const key = await generateKeyPair('Ed25519')
    const signer = peerIdFromPrivateKey(key).toString()
    const guard = new ReplayGuard(new ManualClock(NOW), { maxAgeMs: 60_000, maxSkewMs: 1000 })
    const bytes = await signRecord(key, HARDWARE_DOMAIN, 1, NOW, SAMPLE)
    expect((await validateHardwareGossip(bytes, signer, guard)).seq).toBe(NOW)
    await expect(validateHardwareGossip(bytes, signer, guard)).rejects.toMatchObject({ code: 'ERR_REPLAY' })
    const stale = await signRecord(key, HARDWARE_DOMAIN, 1, NOW - 120_000, SAMPLE)
    await expect(validateHardwareGossip(stale, signer, guard)).rejects.toMatchObject({ code: 'ERR_STALE' })
  })
})
