/**
 * Coalesced gossip RPCs (src/node/gossip-coalesce.ts) between two real nodes: what one turn of the event loop sends a
 * peer leaves as one write on its gossip stream, every message arrives in order, each turn's RPCs still leave in that
 * turn, and RPCs made just before the stream closes are not lost.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { waitFor } from '../../harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { coalesceGossipRpcs, isCoalescing } from '../../../src/node/gossip-coalesce.js'

const TOPIC = 'meshnode-test/coalesce/1'
const nextTurn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

interface Outbound { rawStream: { send: (...args: unknown[]) => boolean }, close: () => Promise<void> }

describe('one gossip write per peer per turn (gossip-coalesce.ts)', () => {
  let a: MeshLibp2p
  let b: MeshLibp2p
  const received: number[] = []
  let sends = 0
  let stream: Outbound

  const outboundToB = (): Outbound | undefined => (Reflect.get(a.services.pubsub, 'streamsOutbound') as Map<string, Outbound>).get(b.peerId.toString())
  const message = (i: number): Uint8Array => { const data = new Uint8Array(600); new DataView(data.buffer).setUint32(0, i); return data }

  beforeAll(async () => {
    [a, b] = await Promise.all([0, 1].map(async () => await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
    b.services.pubsub.addEventListener('message', evt => { received.push(new DataView(evt.detail.data.buffer, evt.detail.data.byteOffset).getUint32(0)) })
    for (const p of [a, b]) p.services.pubsub.subscribe(TOPIC)
    await a.dial(b.getMultiaddrs()[0])
    await waitFor(() => a.services.pubsub.getSubscribers(TOPIC).some(p => p.equals(b.peerId)) && outboundToB() != null, { what: 'A to see B subscribed' })
    stream = outboundToB() as Outbound
    // count what reaches the raw stream (each send is one yamux frame, one noise encryption)
    const send = stream.rawStream.send
    stream.rawStream.send = function (...args) { sends++; return Reflect.apply(send, this, args) }
  })
  afterAll(async () => { await Promise.all([a, b].map(async p => { await p?.stop() })) })

  it('patches gossipsub\'s outbound streams once, through the node', () => {
    expect(isCoalescing(stream)).toBe(true)
    // a second install is a no-op
    expect(coalesceGossipRpcs(a.services.pubsub)).toBe(true)
  })

  it('sends 50 messages published in one turn as one write, all received in order', async () => {
    await nextTurn()
    const before = sends
    await Promise.all(Array.from({ length: 50 }, async (_, i) => await a.services.pubsub.publish(TOPIC, message(i))))
    await waitFor(() => received.length === 50, { what: 'B to receive 50 messages' })
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(sends - before).toBe(1)
  })

  it('sends the messages of 20 turns in 20 writes (nothing waits past its turn)', async () => {
    received.length = 0
    await nextTurn()
    const before = sends
    for (let i = 100; i < 120; i++) {
      await a.services.pubsub.publish(TOPIC, message(i))
      await nextTurn()
      await waitFor(() => received.includes(i), { what: `B to receive message ${i}` })
    }
    expect(sends - before).toBe(20)
  })

  it('sends what waits before the stream closes', async () => {
    received.length = 0
    await a.services.pubsub.publish(TOPIC, message(200))
    // the message is pushed and waits for the end of the turn: closing sends it first
    await stream.close()
    await waitFor(() => received.includes(200), { what: 'B to receive the last message' })
  })
})
