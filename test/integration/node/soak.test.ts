/**
 * A small soak (issue [scale]): 8 CLI daemons on 127.0.0.1, each bootstrapped to the first, with the DEFAULT gossip,
 * colocation and connection options (the harness's TEST_CONFIG raises the colocation threshold and the per-IP dial
 * guard for other tests; this one puts the defaults back, so a default that mutes or refuses loopback peers fails it).
 * 1 KiB artifacts are added round-robin through the admin API on a fixed schedule (10 per second for 20 s) and every
 * node's `/v1/events` stream must record every other node's `artifact.announced`. The full-size run (20 nodes, 25
 * and 50 per second, 5 minutes) is `npx tsx bench/soak.ts`.
 *
 * Kept from TEST_CONFIG: loopback listen and API port 0 (20 nodes cannot share port 4101), mDNS off (multicast leaves
 * the machine), warn-level JSON logs, no training micro-benchmark at start, no ledger. Put back to the defaults:
 * gossip.* (ipColocationThreshold 10, the exempt ranges), connections.* (inboundPerIpPerSecond 5, unguardedRanges,
 * targetPeers, maxConnections) and hardware.advertiseIntervalMs.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { Mesh, waitFor } from '../../harness/index.js'
import { defaultNodeOptions } from '../../../src/node/options.js'
import { defaultHardwareOptions } from '../../../src/node/hardware/options.js'
import { Receipts, onSchedule, watchAnnouncements } from '../../../bench/fixtures/soak-driver.js'

const NODES = 8
const RATE = 10
const SECONDS = 20
const defaults = defaultNodeOptions('unused')

describe(`soak: ${NODES} CLI nodes with default options, ${RATE} adds/s for ${SECONDS} s`, () => {
  let mesh: Mesh
  beforeAll(async () => {
    mesh = await Mesh.start(NODES, {
      mode: 'process',
      config: { gossip: defaults.gossip, connections: defaults.connections, hardware: { advertiseIntervalMs: defaultHardwareOptions.advertiseIntervalMs } }
    })
  }, 120_000)
  afterAll(async () => { await mesh?.close() })

  it('every announcement reaches every other node', async () => {
    // connected enough for gossip (formation itself is mesh.test.ts's subject; on a loaded machine the last few
    // discovery dials can take a while): every node has at least half the others
    const counts = async (): Promise<number[]> => await Promise.all(mesh.nodes.map(async n => (await n.api.request<{ peers: unknown[] }>('GET', '/v1/peers')).peers.length))
    await waitFor(async () => (await counts()).every(p => p >= NODES / 2), { timeoutMs: 60_000, intervalMs: 250, what: 'every node connected to half the others' })
      .catch(async err => { throw new Error(`${(err as Error).message}; peers per node: ${(await counts()).join(' ')}`) })
    const receipts = new Receipts()
    const ac = new AbortController()
    try {
      await Promise.all(mesh.nodes.map(async (n, i) => {
        const token = (await readFile(join(n.dataDir, 'admin.token'), 'utf8')).trim()
        await watchAnnouncements(n.api.baseUrl, token, (name, at) => {
          const m = /^soak-(\d+)$/.exec(name)
          if (m != null) receipts.received(Number(m[1]), i, at)
        }, ac.signal)
      }))
      const failures: string[] = []
      const fired = await onSchedule(RATE, RATE * SECONDS, async (i, due) => {
        const by = i % NODES
        receipts.sent(i, due, by)
        await mesh.nodes[by].api.fetch('POST', '/v1/artifacts', { query: { name: `soak-${i}` }, body: randomBytes(1024) })
          .then(async res => await res.arrayBuffer(), err => { failures.push((err as Error).message) })
      })
      await Promise.all(fired)
      expect(failures).toEqual([])
      const expected = receipts.expected(NODES)
      await waitFor(() => receipts.delivered() >= expected, { timeoutMs: 15_000, intervalMs: 100, what: 'every announcement' }).catch(() => {})
      const report = receipts.report(NODES)
      process.stderr.write(`soak: ${JSON.stringify(report)}\n`)
      expect(report.delivered).toBe(expected)
      expect(expected).toBe(RATE * SECONDS * (NODES - 1))
    } finally {
      ac.abort()
    }
  })
})
