/**
 * Order propagation across a mesh (issue [market]): N in-process nodes with the ledger on one anvil; node 0 posts K
 * signed FTNS/TUSD asks one after another and we time, for each order and each other node, from the moment node 0's
 * `POST /v1/market/orders` answered until that node admitted the order into its book (`market.order-accepted`):
 * gossip plus the receiver's full admission (schema, signature, funding and status reads on chain). The baseline,
 * measured in the same run on the same mesh: raw gossipsub delivery of a message of the same size on a topic with no
 * validator. Prints one JSON object with p50/p99 in ms. `--quick`: 4 nodes, 5 orders.
 */
import '../src/node/polyfills.js'
import { Mesh, freePort, waitFor, type NodeHandle } from '../test/harness/index.js'
import type { PostOrderResult } from '../src/ledger/index.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/market-propagation.ts [--quick]\n  order propagation to N nodes (gossip + admission) p50/p99 beside raw gossip delivery on the same mesh; one JSON object\n  --quick  4 nodes, 5 orders (default 10 nodes, 20 orders)\n')
  process.exit(0)
}
const QUICK = process.argv.includes('--quick')
const NODES = QUICK ? 4 : 10
const ORDERS = QUICK ? 5 : 20
const RAW_TOPIC = 'meshnode/bench-raw/1'

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10
}

async function main (): Promise<void> {
  const port = await freePort()
  const config = { ledger: { enabled: true, anvil: { port } }, market: { revalidateMs: 60_000 } }
  const mesh = new Mesh()
  try {
    const ready = async (n: NodeHandle): Promise<void> => { await waitFor(async () => await n.api.request('GET', '/v1/market/books').then(() => true, () => false), { timeoutMs: 180_000, what: `node ${n.index}'s market` }) }
    const first = await mesh.add({ mode: 'inprocess', config })
    await ready(first)
    // in batches: every node's ledger takes the local chain's lock for its faucet (a whole mesh at once may time out)
    for (let i = 1; i < NODES; i += 3) {
      const batch = await Promise.all(Array.from({ length: Math.min(3, NODES - i) }, async () => await mesh.add({ mode: 'inprocess', config, bootstrap: first.addresses })))
      for (const n of batch) await ready(n)
    }
    const accepted = new Map<string, number[]>()
    const raw = new Map<string, number[]>()
    mesh.nodes.forEach((_, i) => {
      const node = mesh.meshNode(i)
      if (i === 0) return
      node.events.subscribe(e => {
        if (e.type === 'market.order-accepted') accepted.set(String(e.data.hash), [...(accepted.get(String(e.data.hash)) ?? []), performance.now()])
      })
      const pubsub = node.libp2p.services.pubsub
      pubsub.subscribe(RAW_TOPIC)
      pubsub.addEventListener('message', (evt) => {
        if (evt.detail.topic === RAW_TOPIC) { const id = new TextDecoder().decode(evt.detail.data.subarray(0, 16)); raw.set(id, [...(raw.get(id) ?? []), performance.now()]) }
      })
    })
    mesh.meshNode(0).libp2p.services.pubsub.subscribe(RAW_TOPIC)
    // let the mesh settle (gossipsub meshes form over a few heartbeats)
    await new Promise(resolve => setTimeout(resolve, 5000))
    const order: number[] = []
    const rawMs: number[] = []
    let size = 700
    for (let k = 0; k < ORDERS; k++) {
      const posted = await mesh.nodes[0].api.request<PostOrderResult>('POST', '/v1/market/orders', { json: { market: 'ftns-tusd', side: 'ask', price: String(2_000_000 + k), units: '1' } })
      const t0 = performance.now()
      size = JSON.stringify(posted.message).length
      await waitFor(() => (accepted.get(posted.hash)?.length ?? 0) >= NODES - 1, { timeoutMs: 60_000, what: `order ${k} on every node` })
      for (const t of accepted.get(posted.hash) ?? []) order.push(t - t0)
      const id = `raw-${String(k).padStart(12, '0')}`
      const data = new Uint8Array(size)
      data.set(new TextEncoder().encode(id))
      const r0 = performance.now()
      await mesh.meshNode(0).libp2p.services.pubsub.publish(RAW_TOPIC, data)
      await waitFor(() => (raw.get(id)?.length ?? 0) >= NODES - 1, { timeoutMs: 60_000, what: `raw message ${k} on every node` })
      for (const t of raw.get(id) ?? []) rawMs.push(t - r0)
    }
    process.stdout.write(JSON.stringify({
      nodes: NODES,
      orders: ORDERS,
      messageBytes: size,
      orderPropagationMs: { p50: pct(order, 0.5), p99: pct(order, 0.99), max: pct(order, 1), samples: order.length },
      baseline: { rawGossipMs: { p50: pct(rawMs, 0.5), p99: pct(rawMs, 0.99), max: pct(rawMs, 1), samples: rawMs.length } }
    }, null, 2) + '\n')
  } finally {
    await mesh.close()
  }
}

await main()
