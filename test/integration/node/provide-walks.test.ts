/**
 * A node's DHT provide batches reuse its discovery's walks in a small mesh (batch-provide.ts: a walk that found fewer
 * than k peers found every peer it could reach): three real nodes; once node A's discovery has walked, an artifact
 * added on A reaches B's provider records without A walking towards the root.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { Mesh, waitFor } from '../../harness/index.js'

describe('provide batches reuse discovery walks (batch-provide.ts)', () => {
  let mesh: Mesh | undefined
  afterAll(async () => { await mesh?.close() })

  it('an add right after a discovery walk is provided to the peers that walk found, with no walk of its own', async () => {
    // batches leave at once, so the only walk that could precede this one's records is the batch's own
    mesh = await Mesh.start(3, { mode: 'inprocess', config: { storage: { provideBatchDelayMs: 0 } } })
    const a = mesh.meshNode(0)
    const self = a.libp2p.peerId.toMultihash().bytes
    await waitFor(() => a.libp2p.getConnections().length >= 2, { what: 'A connected to B and C' })
    // every walk A makes from now on, by key; a walk towards A's own id is discovery's
    const dht = a.libp2p.services.dht as unknown as { getClosestPeers: (key: Uint8Array, options?: unknown) => AsyncIterable<{ name: string }> }
    const walk = dht.getClosestPeers.bind(dht)
    const walks: Array<{ own: boolean, finals: number, done: boolean }> = []
    dht.getClosestPeers = async function * (key, options) {
      const w = { own: Buffer.from(key).equals(Buffer.from(self)), finals: 0, done: false }
      walks.push(w)
      for await (const ev of walk(key, options)) {
        if (ev.name === 'FINAL_PEER') w.finals++
        yield ev
      }
      w.done = true
    }
    try {
      // discovery walks again soon (its schedule, and each new connection brings one)
      await waitFor(() => walks.some(w => w.own && w.done && w.finals === 2), { timeoutMs: 30_000, what: 'a discovery walk of A that found B and C' })
      // its peers are handed to the provide batches once hashed into kad ids (a microtask or two)
      await new Promise(resolve => setTimeout(resolve, 200))
      const added = await a.artifacts.add(new TextEncoder().encode('provided after a discovery walk'), { name: 'walk.txt' })
      const root = CID.parse(added.cid)
      const b = mesh.meshNode(1)
      await waitFor(async () => {
        const stored: PeerId[] = await (b.libp2p.services.dht as any).providers.getProviders(root)
        return stored.some(p => p.equals(peerIdFromString(a.libp2p.peerId.toString())))
      }, { timeoutMs: 20_000, what: "B to store A's provider record of the new root" })
    } finally {
      dht.getClosestPeers = walk
    }
    expect(walks.filter(w => !w.own)).toEqual([])
  }, 90_000)
})
