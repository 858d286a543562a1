/* global setInterval, clearInterval */
// Node: who this node is, its peers on a map and in a table, each peer's hardware summary and measured speed.
import { html } from '../html.js'
import { useEffect, useState } from '../vendor/preact-hooks.js'
import { api } from '../api.js'
import { useLive } from '../live.js'
import { PeerMap } from '../peer-map.js'
import { shortId, formatLatency, formatUptime } from '../format.js'
import { Problem, Table } from '../ui.js'

const PEER_EVENTS = ['peer.connected', 'peer.disconnected', 'hardware.record', 'hardware.measured']

async function loadNode () {
  const [node, { peers }, hw, { peers: records }] = await Promise.all([
    api('GET', '/v1/node'), api('GET', '/v1/peers'), api('GET', '/v1/hardware'), api('GET', '/v1/hardware/peers')
  ])
  return { node, peers, hw, records: new Map(records.map(r => [r.peerId, r.record])) }
}

/** Seconds since `startedAt`, ticking locally (no request per second). */
function useUptime (startedAt) {
  const [now, setNow] = useState(Date.now())
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), 1000); return () => clearInterval(t) }, [])
  return startedAt == null ? null : Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000))
}

const speed = (rec) => rec?.bench?.samplesPerSec ?? null
const hwLine = (rec) => rec == null ? null : `${rec.cpu.cores}x ${rec.cpu.arch}, ${Math.round(rec.memory.totalMB / 1024)} GB${rec.gpus.length > 0 ? ', ' + rec.gpus.map(g => g.name).join('+') : ''}, ${rec.tfjs.backend}`

/** The node page. */
export function NodePage () {
  const { data, error } = useLive(loadNode, PEER_EVENTS, 10_000)
  const uptime = useUptime(data?.node.startedAt)
  if (data == null) return error != null ? html`<${Problem} error=${error} />` : html`<p>Loading…</p>`
  const { node, peers, hw, records } = data
  return html`<section aria-labelledby="node-h">
    <h1 id="node-h">Node</h1>
    ${error != null && html`<${Problem} error=${error} />`}
    <div class="cards">
      <dl class="card kv" data-testid="node-info">
        <dt>peer id</dt><dd class="mono" data-peer-id=${node.peerId}>${node.peerId}</dd>
        <dt>version</dt><dd>${node.version}</dd>
        <dt>profile</dt><dd>${node.profile}</dd>
        <dt>network</dt><dd>${node.network}</dd>
        <dt>uptime</dt><dd>${formatUptime(uptime)}</dd>
        <dt>peers</dt><dd>${peers.length}</dd>
        <dt>hardware</dt><dd>${hwLine(hw) ?? '-'}</dd>
        <dt>training speed</dt><dd>${speed(hw) == null ? 'not measured yet' : `${speed(hw)} samples/s`}</dd>
        <dt>addresses</dt><dd class="mono small">${node.addresses.map(a => html`<div>${a}</div>`)}</dd>
      </dl>
      <div class="card map-card"><h2>Peer map</h2><${PeerMap} self=${node.peerId} peers=${peers} /></div>
    </div>
    <h2>Peers</h2>
    ${peers.length === 0
      ? html`<p class="empty">No peers connected.</p>`
      : html`<${Table} id="peers" head=${['Peer', 'Latency', 'Last seen', 'Hardware', 'Samples/s', 'Address']}
          rows=${peers.map(p => ({
            key: p.peerId,
            attrs: { 'data-peer': p.peerId },
            cells: [html`<span class="mono" title=${p.peerId}>${shortId(p.peerId)}</span>`, formatLatency(p.latencyMs), p.lastSeen.slice(11, 19),
              p.hardware ?? hwLine(records.get(p.peerId)) ?? '-', speed(records.get(p.peerId)) ?? '-', html`<span class="mono small">${p.addresses[0] ?? '-'}</span>`]
          }))} />`}
  </section>`
}
