// The peer map: this node in the middle, each connected peer on a circle around it, the line's length nothing but
// layout and its colour the latency band. Hover or focus a peer for its latency and hardware. Plain SVG, no library.
import { html } from './html.js'
import { shortPeer, formatLatency } from './format.js'

const band = (ms) => ms == null ? 'unknown' : ms < 20 ? 'fast' : ms < 150 ? 'medium' : 'slow'

/** An SVG map of `self` and `peers` (the `/v1/peers` view). */
export function PeerMap ({ self, peers }) {
  const W = 320
  const c = W / 2
  const r = peers.length === 0 ? 0 : 115
  const pos = peers.map((p, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / peers.length
    return { p, x: c + r * Math.cos(a), y: c + r * Math.sin(a) }
  })
  return html`<svg class="peer-map" viewBox="0 0 ${W} ${W}" role="img" aria-label="peer map: ${peers.length} connected peers">
    ${pos.map(({ p, x, y }) => html`<line class=${`link ${band(p.latencyMs)}`} x1=${c} y1=${c} x2=${x} y2=${y} />`)}
    <g class="node self"><circle cx=${c} cy=${c} r="16" /><text x=${c} y=${c + 4} text-anchor="middle">me</text><title>this node ${self}</title></g>
    ${pos.map(({ p, x, y }) => html`<g class="node peer" tabindex="0" role="listitem" aria-label=${`peer ${p.peerId}, latency ${formatLatency(p.latencyMs)}`} data-peer=${p.peerId}>
      <circle cx=${x} cy=${y} r="12" class=${band(p.latencyMs)} />
      <text x=${x} y=${y + 26} text-anchor="middle">${shortPeer(p.peerId)}</text>
      <text x=${x} y=${y - 16} text-anchor="middle" class="lat">${formatLatency(p.latencyMs)}</text>
      <title>${`${p.peerId}\nlatency ${formatLatency(p.latencyMs)}\n${p.hardware ?? 'hardware not known yet'}`}</title>
    </g>`)}
  </svg>`
}
