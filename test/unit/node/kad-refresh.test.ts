/**
 * kad-dht's routing-table refresh comes every KAD_TABLE_REFRESH_INTERVAL_MS, not its built-in 5 minutes: the interval
 * is a field of its refresher (no option), and this test fails when a kad-dht release moves it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import '../../../src/node/polyfills.js'
import { KAD_TABLE_REFRESH_INTERVAL_MS, createMeshLibp2p, setTableRefreshInterval, type MeshLibp2p } from '../../../src/node/libp2p.js'

const nodes: MeshLibp2p[] = []
afterEach(async () => { for (const n of nodes.splice(0)) await n.stop() })

const refresher = (n: MeshLibp2p): { refreshInterval: number } => (n.services.dht as unknown as { routingTableRefresh: { refreshInterval: number } }).routingTableRefresh

describe('kad-dht routing-table refresh', () => {
  it('a mesh node arms its refresher with our interval', async () => {
    const n = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    nodes.push(n)
    expect(KAD_TABLE_REFRESH_INTERVAL_MS).toBeGreaterThan(5 * 60_000)
    expect(refresher(n).refreshInterval).toBe(KAD_TABLE_REFRESH_INTERVAL_MS)
    expect(setTableRefreshInterval(n, 1234)).toBe(true)
    expect(refresher(n).refreshInterval).toBe(1234)
  })
})
