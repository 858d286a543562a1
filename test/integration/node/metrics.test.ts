import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { Mesh, waitFor } from '../../harness/index.js'
import { HARDWARE_TOPIC } from '../../../src/node/hardware/index.js'
import { helpRepeatsName } from '../../../src/node/metrics-exposition.js'

/** Run `promtool check metrics` on an exposition; fails (never skips) when promtool is not installed. */
function promtool (text: string): { status: number | null, output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  if (r.error != null) throw new Error(`promtool is not installed (${r.error.message}): install the Debian package \`prometheus\` (apt-get install -y prometheus; .ci/run does)`)
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

const sample = (metrics: string, series: string): number => {
  const line = metrics.split('\n').find(l => l.startsWith(series + ' '))
  return line == null ? 0 : Number(line.slice(series.length + 1))
}

/** A foreign peer whose gossipsub neither signs nor caps what it sends. */
async function foreignPeer (): Promise<Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, pubsub: GossipSub }>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, maxInboundDataLength: 8 * 1024 * 1024 }) as any
    }
  }) as any
}

describe('/metrics of a live node', () => {
  let mesh: Mesh
  let metrics: string

  beforeAll(async () => {
    mesh = await Mesh.start(2, { mode: 'inprocess' })
    const node = mesh.meshNode(0)
    await waitFor(() => node.libp2p.services.pubsub.getSubscribers(HARDWARE_TOPIC).length > 0, { what: 'a gossip peer' })
    // a foreign peer with gossipsub's default policy sends a signed message (meshnode runs StrictNoSign: refused as
    // signature_present) and an oversized one: both are refused before validation
    const foreign = await foreignPeer()
    mesh.defer(async () => { await foreign.stop() })
    foreign.services.pubsub.subscribe(HARDWARE_TOPIC)
    await foreign.dial(multiaddr(mesh.nodes[0].addresses[0]))
    await waitFor(() => foreign.services.pubsub.getSubscribers(HARDWARE_TOPIC).some(p => p.toString() === node.peerId), { what: 'the foreign peer to see the node subscribe' })
    await foreign.services.pubsub.publish(HARDWARE_TOPIC, new Uint8Array([1, 2, 3]))
    await waitFor(async () => {
      metrics = await (await mesh.nodes[0].api.fetch('GET', '/metrics')).text()
      return sample(metrics, 'meshnode_gossipsub_messages_refused_total{reason="signature_present"}') >= 1
    }, { what: 'the signed message to be counted' })
    await foreign.services.pubsub.publish(HARDWARE_TOPIC, new Uint8Array(2 * 1024 * 1024))
    await waitFor(async () => {
      metrics = await (await mesh.nodes[0].api.fetch('GET', '/metrics')).text()
      return sample(metrics, 'meshnode_gossipsub_rpcs_dropped_total{reason="stream_error"}') >= 1 &&
        sample(metrics, `meshnode_gossipsub_mesh_peers{topic="${HARDWARE_TOPIC}"}`) >= 1
    }, { what: 'the oversized message to be counted and a gossip mesh' })
  })
  afterAll(async () => { await mesh?.close() })

  it('passes `promtool check metrics` with no output', () => {
    const r = promtool(metrics)
    expect(r.output).toBe('')
    expect(r.status).toBe(0)
  })

  it('gives every family a help string that says more than its name, and exports process metrics once', () => {
    const helps = [...metrics.matchAll(/^# HELP (\S+) (.*)$/gm)].map(m => [m[1], m[2]] as const)
    expect(helps.length).toBeGreaterThan(50)
    expect(helps.filter(([name, help]) => helpRepeatsName(name, help)).map(([name]) => name)).toEqual([])
    const names = helps.map(([name]) => name)
    expect(names.filter(n => /^(nodejs|process)_/.test(n))).toEqual([])
    expect(names).toContain('meshnode_process_process_cpu_seconds_total')
    expect(new Set(names).size).toBe(names.length)
  })

  it('exports gossipsub\'s mesh sizes, peer scores and refusals before validation', () => {
    expect(sample(metrics, `meshnode_gossipsub_mesh_peers{topic="${HARDWARE_TOPIC}"}`)).toBeGreaterThanOrEqual(1)
    expect(sample(metrics, 'meshnode_gossipsub_peer_score_count')).toBeGreaterThanOrEqual(1)
    expect(sample(metrics, 'meshnode_gossipsub_messages_refused_total{reason="signature_present"}')).toBeGreaterThanOrEqual(1)
    expect(sample(metrics, 'meshnode_gossipsub_rpcs_dropped_total{reason="stream_error"}')).toBeGreaterThanOrEqual(1)
  })
})
