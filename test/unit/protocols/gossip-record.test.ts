/**
 * openGossipRecord (src/protocols/record.ts): gossip messages carry no libp2p author (StrictNoSign), so a record is
 * judged on its own signature, age and novelty. The same record seen again costs nobody; another record under a seq
 * its signer used costs the forwarder only when the forwarder signed it (honest peers relay what they saw).
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
    // the same record again, even from its signer, costs nobody: it may come back by another path (a vote gossiped
    // after a QC carried it here); penalising it graylisted honest voters for half a minute
    await expect(openGossipRecord(bytes, signer, g, SPEC)).rejects.toMatchObject({ action: 'ignore', code: 'ERR_REPLAY' })
  })

  it.each<[string, string, 'reject' | 'ignore']>([
    ['its signer sending another record under the seq', 'signer', 'reject'],
    ['another peer relaying such a record', 'relay', 'ignore']
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
