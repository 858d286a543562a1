import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { Mesh, waitFor } from '../../harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import type { MeshNode } from '../../../src/node/node.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'

const TOPIC = 'meshnode/colocation-test/1'

/** A bare libp2p peer listening on `ip`, subscribed to TOPIC, stopped with the mesh. */
async function peerOn (mesh: Mesh, ip: string): Promise<MeshLibp2p> {
  const p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: [`/ip4/${ip}/tcp/0`] })
  mesh.defer(async () => { await p.stop() })
  p.services.pubsub.subscribe(TOPIC)
  return p
}

/** The node dials the peer (so the node sees the peer's own address) and waits until gossipsub tracks it. */
async function connect (node: MeshNode, peer: MeshLibp2p): Promise<void> {
  await node.libp2p.dial(multiaddr(peer.getMultiaddrs()[0]))
  await waitFor(() => node.libp2p.services.pubsub.getSubscribers(TOPIC).some(p => p.equals(peer.peerId)), { what: 'gossipsub to track the peer' })
}

/** Resolve after `n` of the node's gossipsub heartbeats. */
async function heartbeats (node: MeshNode, n: number): Promise<void> {
  const pubsub = node.libp2p.services.pubsub
  await new Promise<void>(resolve => {
    let seen = 0
    const onBeat = (): void => { if (++seen === n) { pubsub.removeEventListener('gossipsub:heartbeat', onBeat); resolve() } }
    pubsub.addEventListener('gossipsub:heartbeat', onBeat)
  })
}

/** gossipsub's score of a peer as the node computes it (the class has it; the exported interface does not). */
const score = (node: MeshNode, peer: MeshLibp2p): number =>
  (node.libp2p.services.pubsub as unknown as { getScore: (id: string) => number }).getScore(peer.peerId.toString())

/** One node with gossipsub's colocation policy as configured (the harness's default raises the threshold). */
async function nodeWith (gossip: PartialNodeOptions['gossip']): Promise<{ mesh: Mesh, node: MeshNode }> {
  const mesh = await Mesh.start(1, { mode: 'inprocess', config: { gossip } })
  return { mesh, node: mesh.meshNode(0) }
}

/** 12 well-behaved identities from 127.0.0.1 connect, are tracked, and leave. */
async function churn (mesh: Mesh, node: MeshNode): Promise<void> {
  const ids = await Promise.all(Array.from({ length: 12 }, async () => await peerOn(mesh, '127.0.0.1')))
  await Promise.all(ids.map(async p => { await connect(node, p) }))
  await Promise.all(ids.map(async p => { await p.stop() }))
  await waitFor(() => ids.every(p => node.libp2p.getConnections(p.peerId).length === 0), { what: 'the identities to leave' })
}

describe('gossipsub IP colocation policy', () => {
  let mesh: Mesh | undefined
  afterEach(async () => { await mesh?.close(); mesh = undefined })

  it('after 12 short-lived identities on 127.0.0.1, an honest peer on 127.0.0.1 keeps a non-negative score and receives every message', async () => {
    const started = await nodeWith({ ipColocationThreshold: 10 }) // the default policy: loopback and private ranges exempt
    mesh = started.mesh
    const { node } = started
    await churn(mesh, node)
    const honest = await peerOn(mesh, '127.0.0.1')
    const received: string[] = []
    honest.services.pubsub.addEventListener('message', evt => { if (evt.detail.topic === TOPIC) received.push(new TextDecoder().decode(evt.detail.data)) })
    await connect(node, honest)
    await waitFor(() => honest.services.pubsub.getPeers().some(p => p.toString() === node.peerId), { what: 'the honest peer to track the node' })
    // scores are cached for one heartbeat: read after two, so the score counts every IP the node remembers
    await heartbeats(node, 2)
    expect(score(node, honest)).toBeGreaterThanOrEqual(0)
    const sent = Array.from({ length: 20 }, (_, i) => `m${i}`)
    for (const m of sent) await node.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode(m))
    await waitFor(() => received.length >= sent.length, { what: `every message (got ${received.length})` })
    expect(received.sort()).toEqual([...sent].sort())
  })

  it('without the exemption (ipColocationExempt: []), the same churn pushes the honest peer\'s score below zero', async () => {
    const started = await nodeWith({ ipColocationThreshold: 10, ipColocationExempt: [] })
    mesh = started.mesh
    const { node } = started
    await churn(mesh, node)
    const honest = await peerOn(mesh, '127.0.0.1')
    await connect(node, honest)
    // 12 remembered identities + the honest one on one IP: (13 - 10)^2 * -10 = -90
    await waitFor(() => score(node, honest) < 0, { what: 'the colocation penalty' })
  })

  it('applies to addresses outside the exempt ranges only: distinct 127.x addresses, threshold 2', async () => {
    // only 127.0.0.1 is exempt here, so 127.0.0.2 and 127.0.0.3 stand for public addresses
    const started = await nodeWith({ ipColocationThreshold: 2, ipColocationExempt: ['127.0.0.1/32'] })
    mesh = started.mesh
    const { node } = started
    const crowded = await Promise.all([1, 2, 3].map(async () => await peerOn(mesh as Mesh, '127.0.0.2')))
    const alone = await peerOn(mesh, '127.0.0.3')
    const exempt = await Promise.all([1, 2, 3].map(async () => await peerOn(mesh as Mesh, '127.0.0.1')))
    for (const p of [...crowded, alone, ...exempt]) await connect(node, p)
    // three identities on 127.0.0.2 exceed the threshold of 2: (3 - 2)^2 * -10 each
    await waitFor(() => crowded.every(p => score(node, p) <= -10), { what: 'the penalty on 127.0.0.2' })
    await heartbeats(node, 2)
    expect(score(node, alone)).toBeGreaterThanOrEqual(0)
    for (const p of exempt) expect(score(node, p)).toBeGreaterThanOrEqual(0)
  })
})
