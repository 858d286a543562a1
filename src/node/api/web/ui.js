// Small shared pieces: an error box, a table, a button that shows its own progress and error.
import { html } from './html.js'
import { useState } from './vendor/preact-hooks.js'

/** An API error, as the CLI would print it (`code: message`). */
export function Problem ({ error }) {
  if (error == null) return null
  return html`<p class="problem" role="alert">${error.code != null ? `${error.code}: ` : ''}${error.message ?? String(error)}</p>`
}

/** A table; `rows` are `{ key, cells, attrs }`. Scrolls sideways on a phone instead of squeezing. */
export function Table ({ id, head, rows }) {
  return html`<div class="table-wrap"><table id=${id}>
    <thead><tr>${head.map(h => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${rows.map(r => html`<tr key=${r.key} ...${r.attrs ?? {}}>${r.cells.map(c => html`<td>${c}</td>`)}</tr>`)}</tbody>
  </table></div>`
}

/** A button running `action()`; disabled while it runs, its error shown beside it. */
export function Action ({ label, action, kind = '', confirm }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(null)
  const click = async () => {
    if (confirm != null && !globalThis.confirm(confirm)) return
    setBusy(true); setError(null)
    try { await action() } catch (e) { setError(e) } finally { setBusy(false) }
  }
  return html`<span class="action"><button type="button" class=${kind} disabled=${busy} onClick=${click}>${busy ? '…' : label}</button>${error != null && html`<${Problem} error=${error} />`}</span>`
}

const scalar = (v) => v == null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)

/**
 * Any JSON the node answers, readable without knowing its shape: an object as key/value lines, an array of objects
 * as a table. Used for pages whose routes other subsystems are still adding fields to (wallet, ledger, market).
 */
export function Generic ({ value, id }) {
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<p class="empty">none</p>`
    if (value.every(v => v != null && typeof v === 'object' && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap(v => Object.keys(v)))]
      return html`<${Table} id=${id} head=${keys} rows=${value.map((v, i) => ({ key: i, cells: keys.map(k => scalar(v[k])) }))} />`
    }
    return html`<span>${value.map(scalar).join(', ')}</span>`
  }
  if (value != null && typeof value === 'object') {
    return html`<dl class="kv" id=${id}>${Object.entries(value).map(([k, v]) => html`<dt>${k}</dt><dd>${v != null && typeof v === 'object' ? html`<${Generic} value=${v} />` : scalar(v)}</dd>`)}</dl>`
  }
  return html`<span>${scalar(value)}</span>`
}

/** What a page shows when this node does not serve the routes it needs. */
export function NotAvailable ({ what }) {
  return html`<p class="empty not-available">${what}: not available on this node.</p>`
}
