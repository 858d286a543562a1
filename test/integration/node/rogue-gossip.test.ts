import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { encode, decode } from 'cborg'
import { multiaddr } from '@multiformats/multiaddr'
import { Mesh, waitFor } from '../../harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { signRecord } from '../../../src/protocols/envelope.js'
import { ARTIFACT_DOMAIN } from '../../../src/storage/index.js'
import type { MeshNode } from '../../../src/node/node.js'
import { HARDWARE_DOMAIN, HARDWARE_TOPIC, type HardwareRecord } from '../../../src/node/hardware/index.js'

/** Count of `meshnode_gossip_validation_total` for one code on the hardware topic, read from /metrics. */
function rejected (metrics: string, code: string): number {
  const re = new RegExp(`meshnode_gossip_validation_total\\{topic="meshnode/hardware/1",result="reject",code="${code}"\\} (\\d+)`)
  return Number(re.exec(metrics)?.[1] ?? 0)
}

describe('a rogue peer gossiping bad hardware records', () => {
  let mesh: Mesh
  let rogue: MeshLibp2p
  let honest: MeshNode
  let sample: HardwareRecord

  beforeAll(async () => {
    mesh = await Mesh.start(2, { mode: 'inprocess' })
    honest = mesh.meshNode(0)
    sample = honest.hardware.local() as HardwareRecord
    const rogueKey = await generateKeyPair('Ed25519')
    rogue = await createMeshLibp2p({ privateKey: rogueKey, listen: ['/ip4/127.0.0.1/tcp/0'], ipColocationThreshold: 1000 })
    mesh.defer(async () => { await rogue.stop() })
    rogue.services.pubsub.subscribe(HARDWARE_TOPIC)
    await rogue.dial(multiaddr(mesh.nodes[0].addresses[0]))
    await waitFor(() => rogue.services.pubsub.getSubscribers(HARDWARE_TOPIC).some(p => p.toString() === honest.peerId), { what: 'rogue to see the honest subscriber' })
    await waitFor(() => honest.libp2p.services.pubsub.getSubscribers(HARDWARE_TOPIC).some(p => p.equals(rogue.peerId)), { what: 'honest node to see the rogue subscribe' })
    // the honest node must know the other honest node's record, to replay it
    await waitFor(() => honest.hardware.get(mesh.nodes[1].peerId), { what: 'honest records' })
  })
  afterAll(async () => { await mesh?.close() })

  it('rejects every kind of bad record, shows none of them, lowers the rogue\'s score and stays up', async () => {
    // a second rogue (`forger`) whose libp2p key the test also holds, so it signs the records it gossips
    const key = await generateKeyPair('Ed25519')
    const forger = await createMeshLibp2p({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], ipColocationThreshold: 1000 })
    mesh.defer(async () => { await forger.stop() })
    forger.services.pubsub.subscribe(HARDWARE_TOPIC)
    await forger.dial(multiaddr(mesh.nodes[0].addresses[0]))
    await waitFor(() => forger.services.pubsub.getSubscribers(HARDWARE_TOPIC).length > 0, { what: 'forger to see subscribers' })

    const now = Date.now()
    const valid = await signRecord(key, HARDWARE_DOMAIN, 1, now, sample)
    const honestRecordOfOther = honest.hardware.get(mesh.nodes[1].peerId)
    expect(honestRecordOfOther).toBeDefined()

    const tampered = decode(await signRecord(key, HARDWARE_DOMAIN, 1, now + 1, sample)) as Record<string, unknown>
    tampered.p = encode({ ...sample, cpu: { ...sample.cpu, cores: 4096 } })
    const bad: Array<[string, MeshLibp2p, Uint8Array]> = [
      ['ERR_RECORD_DECODE', rogue, new Uint8Array([0xde, 0xad, 0xbe, 0xef])],
      ['ERR_RECORD_DECODE', forger, encode(sample)], // an unsigned record: the bare payload
      ['ERR_TOO_LARGE', forger, await signRecord(key, HARDWARE_DOMAIN, 1, now + 2, { ...sample, cpu: { ...sample.cpu, model: 'x'.repeat(40_000) } })],
      ['ERR_SCHEMA', forger, await signRecord(key, HARDWARE_DOMAIN, 1, now + 3, { ...sample, cpu: { ...sample.cpu, cores: -1 } })],
      ['ERR_RECORD_SIGNATURE', forger, encode(tampered)],
      ['ERR_RECORD_DOMAIN', forger, await signRecord(key, ARTIFACT_DOMAIN, 1, now + 4, sample)],
      ['ERR_STALE', forger, await signRecord(key, HARDWARE_DOMAIN, 1, now - 60 * 60_000, sample)]
    ]
    const before = await mesh.nodes[0].api.fetch('GET', '/metrics').then(async r => await r.text())
    for (const [, from, data] of bad) await from.services.pubsub.publish(HARDWARE_TOPIC, data)
    // one valid record from the forger, then another under the same seq: a replay (the same bytes again would be the
    // same gossip message, dropped unseen by gossipsub's seen-cache)
    await forger.services.pubsub.publish(HARDWARE_TOPIC, valid)
    await waitFor(() => honest.hardware.get(forger.peerId.toString()), { what: 'the valid record to be accepted' })
    await forger.services.pubsub.publish(HARDWARE_TOPIC, await signRecord(key, HARDWARE_DOMAIN, 1, now, { ...sample, cpu: { ...sample.cpu, cores: sample.cpu.cores + 1 } }))

    const expected = new Map<string, number>()
    for (const [code] of bad) expected.set(code, (expected.get(code) ?? 0) + 1)
    expected.set('ERR_REPLAY', 1)
    await waitFor(async () => {
      const after = await mesh.nodes[0].api.fetch('GET', '/metrics').then(async r => await r.text())
      return [...expected].every(([code, n]) => rejected(after, code) - rejected(before, code) >= n)
    }, { what: 'every bad record to be rejected with its code' })

    // only verified records are held: the honest peer and the forger's single valid record (with its own seq)
    const { peers } = await mesh.nodes[0].api.request<{ peers: Array<{ peerId: string, seq: number, record: HardwareRecord }> }>('GET', '/v1/hardware/peers')
    expect(peers.map(p => p.peerId).sort()).toEqual([mesh.nodes[1].peerId, forger.peerId.toString()].sort())
    const held = peers.find(p => p.peerId === forger.peerId.toString())
    expect(held?.seq).toBe(now)
    expect(held?.record.cpu.cores).toBe(sample.cpu.cores)
    expect(peers.some(p => p.peerId === rogue.peerId.toString())).toBe(false)

    // gossipsub scores both senders of invalid messages below zero
    // getScore lives on the gossipsub implementation, not on its public interface type
    const scores = honest.libp2p.services.pubsub as unknown as { getScore: (peerId: string) => number }
    await waitFor(() => scores.getScore(forger.peerId.toString()) < 0, { what: 'the forger\'s score to drop' })
    await waitFor(() => scores.getScore(rogue.peerId.toString()) < 0, { what: 'the rogue\'s score to drop' })
    expect(await mesh.nodes[0].api.request('GET', '/v1/health')).toEqual({ status: 'ok' })
  })
})
