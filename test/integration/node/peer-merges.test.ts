/**
 * Repeated peer-store merges (src/node/peer-merges.ts) on a real node's peer store: a merge equal to one made since the
 * peer's record last changed is answered without a write; any change by another writer, a delete, the memory's end
 * or other fields bring the write back, and the record always holds what was merged.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PeerStore } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { mergeKey, skipRepeatedMerges } from '../../../src/node/peer-merges.js'

const X = multiaddr('/ip4/127.0.0.1/tcp/4001')
const Y = multiaddr('/ip4/127.0.0.1/tcp/4002')

describe('mergeKey', () => {
  it.each([
    [{ multiaddrs: [X] }, 'm:/ip4/127.0.0.1/tcp/4001;'],
    [{ multiaddrs: [X, Y] }, 'm:/ip4/127.0.0.1/tcp/4001,/ip4/127.0.0.1/tcp/4002;'],
    [{ protocols: ['/a', '/b'] }, 'p:/a,/b;'],
    [{ multiaddrs: [X], protocols: ['/a'] }, 'm:/ip4/127.0.0.1/tcp/4001;p:/a;'],
    [{ multiaddrs: [X], tags: { t: { value: 1 } } }, undefined],
    [{ metadata: { k: new Uint8Array(1) } }, undefined],
    [{}, undefined]
  ])('%o -> %s', (data, key) => { expect(mergeKey(data as any)).toBe(key) })
})

describe('peer-store merges made once (peer-merges.ts)', () => {
  let node: MeshLibp2p
  let store: PeerStore
  let peer: PeerId
  let writes = 0
  let t = 0

  beforeAll(async () => {
    node = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    // the peer store's own methods (the node's instance has them wrapped already), counted
    const own = Object.getPrototypeOf(node.peerStore) as PeerStore
    const merge: PeerStore['merge'] = async (id, data, options) => { writes++; return await own.merge.call(node.peerStore, id, data, options) }
    const remove: PeerStore['delete'] = async (id, options) => { await own.delete.call(node.peerStore, id, options) }
    store = { merge, delete: remove } as unknown as PeerStore
    skipRepeatedMerges(store, node, () => t, 60_000)
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })
  afterAll(async () => { await node?.stop() })

  const addresses = async (): Promise<string[]> => (await node.peerStore.get(peer)).addresses.map(a => a.multiaddr.toString()).sort()

  it('writes a merge once, and again only when something changed', async () => {
    await store.merge(peer, { multiaddrs: [X] })
    const repeat = await store.merge(peer, { multiaddrs: [X] })
    expect(writes).toBe(1)
    expect(repeat.addresses.map(a => a.multiaddr.toString())).toEqual([X.toString()])
    // another merge of the same peer is its own; it changed the record, so what was merged before is merged again once
    await store.merge(peer, { protocols: ['/meshnode-test/1'] })
    await store.merge(peer, { protocols: ['/meshnode-test/1'] })
    expect(writes).toBe(2)
    await store.merge(peer, { multiaddrs: [X] })
    await store.merge(peer, { multiaddrs: [X] })
    await store.merge(peer, { protocols: ['/meshnode-test/1'] })
    expect(writes).toBe(3)
  })

  it('writes again after another writer changed the record', async () => {
    // identify replaces the addresses: X is gone, and the next merge of X must bring it back
    await node.peerStore.patch(peer, { multiaddrs: [Y] })
    expect(await addresses()).toEqual([Y.toString()])
    await store.merge(peer, { multiaddrs: [X] })
    expect(writes).toBe(4)
    expect(await addresses()).toEqual([X.toString(), Y.toString()].sort())
  })

  it('writes again after a delete, and after the memory ran out', async () => {
    await store.delete(peer)
    await store.merge(peer, { multiaddrs: [X] })
    expect(writes).toBe(5)
    expect(await addresses()).toEqual([X.toString()])
    t += 60_000
    await store.merge(peer, { multiaddrs: [X] })
    expect(writes).toBe(6)
  })

  it('always writes merges of other fields', async () => {
    await store.merge(peer, { multiaddrs: [X], tags: { t: { value: 1 } } })
    await store.merge(peer, { multiaddrs: [X], tags: { t: { value: 1 } } })
    expect(writes).toBe(8)
  })

  it('does not remember a merge that another change followed before it returned', async () => {
    // the merge takes the peer's lock first, the other writer's change (X gone) lands before the merge returns
    const merged = store.merge(peer, { multiaddrs: [X] })
    const other = node.peerStore.patch(peer, { multiaddrs: [Y] })
    await Promise.all([merged, other])
    expect(await addresses()).toEqual([Y.toString()])
    const before = writes
    await store.merge(peer, { multiaddrs: [X] })
    expect(writes - before).toBe(1)
    expect(await addresses()).toEqual([X.toString(), Y.toString()].sort())
  })
})
