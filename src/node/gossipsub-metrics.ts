/**
 * gossipsub's own metrics, chosen and renamed: gossipsub registers about a hundred series through its
 * `metricsRegister` (many gauges named `_total`, raw topic strings as labels); we expose the few an operator needs,
 * named `meshnode_gossipsub_*` with bounded labels, and give the rest no-op sinks:
 * - mesh and topic sizes per topic, peers by score threshold, and a histogram of current peer scores;
 * - every message or RPC refused before our validators run: invalid or missing signatures, bad sequence numbers,
 *   blacklisted or graylisted senders, undecodable RPCs and oversized ones (the stream reader's length cap drops the
 *   RPC and the stream: counted as `stream_error`). Refusals by our validators are `meshnode_gossip_validation_total`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { MetricsRegister } from '@libp2p/gossipsub/metrics'

type Labels = Record<string, string | number>
type Collect = () => void

/** A gossipsub metric we do not export. */
const sink = {
  inc () {},
  set () {},
  observe () {},
  reset () {},
  startTimer () { return () => {} },
  addCollect () {}
}

/** gossipsub's `metricsRegister` and `metricsTopicStrToLabel` for the node's topics, on the node's registry. */
export function gossipsubMetrics (registry: Registry, topics: readonly string[]): { metricsRegister: MetricsRegister, metricsTopicStrToLabel: Map<string, string> } {
  const registers = [registry]
  const known = new Set(topics)
  const topic = (t: unknown): string => typeof t === 'string' && known.has(t) ? t : 'other'
  const collects: Collect[] = []

  const meshPeers = new Gauge({
    name: 'meshnode_gossipsub_mesh_peers',
    help: 'Peers in our gossipsub mesh, by topic',
    labelNames: ['topic'],
    registers,
    // gossipsub refreshes every exported value in one scrape callback: run it before any of them is read
    collect () {
      meshPeers.reset(); topicPeers.reset(); scoreThreshold.reset()
      for (const c of collects) c()
    }
  })
  const topicPeers = new Gauge({ name: 'meshnode_gossipsub_topic_peers', help: 'Connected peers subscribed to each topic', labelNames: ['topic'], registers })
  const scores = new Histogram({
    name: 'meshnode_gossipsub_peer_score',
    help: 'gossipsub scores of the connected peers at the last scrape (negative: misbehaving or colocated)',
    buckets: [-1000, -200, -100, -50, -10, -1, 0, 1, 5, 10, 50, 100],
    registers
  })
  const scoreThreshold = new Gauge({ name: 'meshnode_gossipsub_peers_at_score_threshold', help: 'Connected peers whose score is at or above each threshold (graylist, publish, gossip, mesh)', labelNames: ['threshold'], registers })
  const refused = new Counter({ name: 'meshnode_gossipsub_messages_refused_total', help: 'Messages gossipsub refused, by reason (signature, sequence number or sender checks before validation; ignore or reject by a validator)', labelNames: ['reason'], registers })
  const rpcDropped = new Counter({ name: 'meshnode_gossipsub_rpcs_dropped_total', help: 'Inbound RPCs dropped before any message was read, by reason (stream_error includes RPCs over the size cap)', labelNames: ['reason'], registers })

  const rpcReason: Record<string, string> = {
    gossipsub_peer_read_stream_err_count_total: 'stream_error',
    gossipsub_rpc_data_err_count_total: 'undecodable',
    gossipsub_rpc_recv_err_count_total: 'handler_error',
    gossipsub_rpc_rcv_not_accepted_total: 'graylisted'
  }
  for (const reason of Object.values(rpcReason)) rpcDropped.inc({ reason }, 0)

  const register = {
    gauge (config: { name: string }) {
      const name = config.name
      if (name === 'gossipsub_mcache_size') return { ...sink, addCollect (fn: Collect) { collects.push(fn) } }
      if (name === 'gossipsub_mesh_peer_count' || name === 'gossipsub_topic_peer_count') {
        const g = name === 'gossipsub_mesh_peer_count' ? meshPeers : topicPeers
        return { ...sink, set (labels: Labels, v: number) { g.inc({ topic: topic(labels.topicStr) }, v) } }
      }
      if (name === 'gossipsub_peers_by_score_threshold_count') {
        return { ...sink, set (labels: Labels, v: number) { scoreThreshold.set({ threshold: String(labels.threshold) }, v) } }
      }
      if (name === 'gossipsub_msg_received_invalid_total') {
        return { ...sink, inc (labels: Labels, v = 1) { refused.inc({ reason: String(labels.error) }, v) } }
      }
      const reason = rpcReason[name]
      if (reason != null) return { ...sink, inc (v = 1) { rpcDropped.inc({ reason }, typeof v === 'number' ? v : 1) } }
      return sink
    },
    histogram () { return sink },
    avgMinMax (config: { name: string }) {
      if (config.name !== 'gossipsub_score') return sink
      return { set (values: number[]) { scores.reset(); for (const v of values) scores.observe(v) } }
    }
  }
  return {
    metricsRegister: register as MetricsRegister,
    metricsTopicStrToLabel: new Map(topics.map(t => [t, t]))
  }
}
