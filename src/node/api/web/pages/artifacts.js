// Artifacts: every artifact this node knows (stored here or announced by peers), filtered by name, kind or job,
// with pin/unpin and download.
import { html } from '../html.js'
import { useState } from '../vendor/preact-hooks.js'
import { api } from '../api.js'
import { useLive } from '../live.js'
import { formatBytes, shortId, shortJobId } from '../format.js'
import { Action, Problem, Table } from '../ui.js'

const ARTIFACT_EVENTS = ['artifact.added', 'artifact.pinned', 'artifact.removed', 'artifact.announced']

const loadArtifacts = async () => (await api('GET', '/v1/artifacts')).artifacts

/** The artifacts page. */
export function ArtifactsPage () {
  const { data, error, reload } = useLive(loadArtifacts, ARTIFACT_EVENTS)
  const [filter, setFilter] = useState('')
  const [localOnly, setLocalOnly] = useState(false)
  if (data == null) return error != null ? html`<${Problem} error=${error} />` : html`<p>Loading…</p>`
  const f = filter.trim().toLowerCase()
  const shown = data.filter(a => (!localOnly || a.local) && (f === '' || [a.name, a.kind, a.cid, a.job ?? '', a.producer].some(s => s.toLowerCase().includes(f))))
  const pin = (a) => async () => { await api('POST', `/v1/artifacts/${a.cid}/pin`); await reload() }
  const unpin = (a) => async () => { await api('DELETE', `/v1/artifacts/${a.cid}`); await reload() }
  return html`<section aria-labelledby="artifacts-h">
    <h1 id="artifacts-h">Artifacts</h1>
    <${Problem} error=${error} />
    <div class="filters">
      <label>Filter <input type="search" value=${filter} onInput=${e => setFilter(e.currentTarget.value)} placeholder="name, kind, cid, job, producer" /></label>
      <label class="check"><input type="checkbox" checked=${localOnly} onChange=${e => setLocalOnly(e.currentTarget.checked)} /> pinned here only</label>
      <span class="count">${shown.length} of ${data.length}</span>
    </div>
    ${shown.length === 0
      ? html`<p class="empty">No artifact matches.</p>`
      : html`<${Table} id="artifacts" head=${['Name', 'Kind', 'Size', 'Job', 'Round', 'Producer', 'Pinned', '']}
          rows=${shown.map(a => ({
            key: a.cid,
            attrs: { 'data-cid': a.cid, 'data-local': String(a.local) },
            cells: [html`<span title=${a.cid}>${a.name}</span>`, a.kind, formatBytes(a.size), a.job == null ? '-' : shortJobId(a.job), a.round ?? '-',
              html`<span class="mono">${shortId(a.producer)}</span>`, a.local ? 'yes' : 'no',
              html`<span class="buttons">
                ${a.local ? html`<${Action} label="Unpin" action=${unpin(a)} />` : html`<${Action} label="Pin" action=${pin(a)} />`}
                <a class="button" href=${`/v1/artifacts/${a.cid}`} download=${a.name}>Download</a>
              </span>`]
          }))} />`}
  </section>`
}
