/**
 * The liveness service (src/node/liveness.ts): a yamux ping frame per connection sets its round trip, opens no
 * stream, and a peer that stops answering (a real daemon paused with SIGSTOP: its kernel still holds the TCP
 * connection open, only the process is silent) loses its connection within an interval and a timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import '../../../src/node/polyfills.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { LIVENESS_INTERVAL_MS, LIVENESS_TIMEOUT_MS, muxerPing } from '../../../src/node/liveness.js'
import { Mesh, waitFor } from '../../harness/index.js'

const nodes: MeshLibp2p[] = []
let mesh: Mesh | undefined
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
  await mesh?.close()
  mesh = undefined
})

async function node (liveness: { intervalMs: number, timeoutMs: number }): Promise<MeshLibp2p> {
  const n = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, liveness })
  nodes.push(n)
  return n
}

describe('connection liveness', () => {
  it('defaults: a minute between pings, a timeout shorter than that', () => {
    expect(LIVENESS_INTERVAL_MS).toBe(60_000)
    expect(LIVENESS_TIMEOUT_MS).toBeLessThan(LIVENESS_INTERVAL_MS)
  })

  it('pings each connection with a yamux frame: its round trip is set at both ends, no stream is opened', async () => {
    const a = await node({ intervalMs: 200, timeoutMs: 5000 })
    const b = await node({ intervalMs: 200, timeoutMs: 5000 })
    const conn = await a.dial(b.getMultiaddrs()[0])
    // libp2p's Connection keeps its muxer where liveness.ts reads it (this fails when a release moves it)
    expect(muxerPing(conn)).toBeTypeOf('function')
    const streamsBefore = conn.streams.length
    const [back] = await waitFor(() => { const c = b.getConnections(a.peerId); return c.length > 0 ? c : undefined })
    await waitFor(() => typeof conn.rtt === 'number' && typeof back.rtt === 'number', { what: 'round trips at both ends' })
    expect(conn.rtt).toBeGreaterThanOrEqual(0)
    expect(conn.rtt).toBeLessThan(5000)
    expect(conn.streams.filter(s => s.protocol === '/ipfs/ping/1.0.0')).toEqual([])
    // pings keep coming and the connection stays up
    await new Promise(resolve => setTimeout(resolve, 1000))
    expect(conn.status).toBe('open')
    expect(conn.streams.length).toBeLessThanOrEqual(streamsBefore + 2) // identify/kad may come and go, never a ping stream
  })

  it('aborts the connection of a peer that stops answering, and only then', async () => {
    mesh = await Mesh.start(1, { mode: 'process' })
    const daemon = mesh.nodes[0]
    const pid = daemon.pid
    if (pid == null) throw new Error('the harness gave no pid for a process node')
    const a = await node({ intervalMs: 500, timeoutMs: 1500 })
    const peer = peerIdFromString(daemon.peerId)
    await a.dial(multiaddr(daemon.addresses[0]))
    // answering: several intervals pass, the connection stays
    await new Promise(resolve => setTimeout(resolve, 2500))
    expect(a.getConnections(peer).length).toBeGreaterThan(0)
    process.kill(pid, 'SIGSTOP')
    try {
      const t0 = Date.now()
      await waitFor(() => a.getConnections(peer).length === 0, { timeoutMs: 10_000, what: 'the silent peer\'s connection to close' })
      // within an interval and a timeout (and a little slack for a busy machine)
      expect(Date.now() - t0).toBeLessThan(500 + 1500 + 3000)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })
})
