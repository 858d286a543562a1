/**
 * openGossipRecord (src/protocols/record.ts): gossip messages carry no libp2p author (StrictNoSign), so a record is
 * judged on its own signature, age and novelty, and a record seen before costs the forwarder only when the forwarder
 * signed it (honest peers relay recent records again after our restart or once gossipsub's seen-cache forgot them).
 */
import { describe, it, expect } from 'vitest'
import { Type } from '@sinclair/typebox'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signRecord } from '../../../src/protocols/envelope.js'
import { openGossipRecord, schemaParser, type RecordSpec } from '../../../src/protocols/record.js'
import { ReplayGuard } from '../../../src/protocols/replay.js'
import { ManualClock } from '../../../src/common/clock.js'

const NOW = 1_700_000_000_000
const SPEC: RecordSpec<{ n: number }> = { name: 'test record', domain: 'test/1', version: 1, maxBytes: 1024, parse: schemaParser('test record', Type.Object({ n: Type.Integer() })) }
const RELAY = '12D3KooWrelay'

describe('openGossipRecord', async () => {
  const key = await generateKeyPair('Ed25519')
  const signer = peerIdFromPrivateKey(key).toString()
  const guard = (): ReplayGuard => new ReplayGuard(new ManualClock(NOW), { maxAgeMs: 60_000, maxSkewMs: 1000 })

  it('accepts a fresh record from whoever forwards it first, once', async () => {
    const g = guard()
    const bytes = await signRecord(key, SPEC.domain, 1, NOW, { n: 1 })
    const rec = await openGossipRecord(bytes, RELAY, g, SPEC)
    expect(rec).toMatchObject({ signer, seq: NOW, payload: { n: 1 } })
    await expect(openGossipRecord(bytes, signer, g, SPEC)).rejects.toMatchObject({ code: 'ERR_REPLAY' })
  })

  it.each<[string, string, 'reject' | 'ignore']>([
    ['its signer sending it again', 'signer', 'reject'],
    ['another peer relaying it again', 'relay', 'ignore']
  ])('a replay: %s (%s)', async (_name, who, action) => {
    const g = guard()
    await openGossipRecord(await signRecord(key, SPEC.domain, 1, NOW, { n: 1 }), signer, g, SPEC)
    // same seq, other bytes: past gossipsub's seen-cache, which names messages by content
    const again = await signRecord(key, SPEC.domain, 1, NOW, { n: 2 })
    await expect(openGossipRecord(again, who === 'signer' ? signer : RELAY, g, SPEC)).rejects.toMatchObject({ action, code: 'ERR_REPLAY' })
  })

  it('rejects a stale record and a broken payload whoever forwards them, without marking them seen', async () => {
    const g = guard()
    await expect(openGossipRecord(await signRecord(key, SPEC.domain, 1, NOW - 120_000, { n: 1 }), RELAY, g, SPEC)).rejects.toMatchObject({ action: 'reject', code: 'ERR_STALE' })
    await expect(openGossipRecord(await signRecord(key, SPEC.domain, 1, NOW, { n: 'x' }), RELAY, g, SPEC)).rejects.toMatchObject({ action: 'reject', code: 'ERR_SCHEMA' })
    expect((await openGossipRecord(await signRecord(key, SPEC.domain, 1, NOW, { n: 1 }), RELAY, g, SPEC)).seq).toBe(NOW)
  })
})
