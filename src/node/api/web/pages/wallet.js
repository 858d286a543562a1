// Wallet and market: balances, vault (free, locked, pending), locks, the chain and this node's settlements; the
// market's books and own orders where this node serves them. Each block says "not available" where the route does
// not exist here, and shows the node's own error where the subsystem is off or its chain unreachable.
import { html } from '../html.js'
import { optional } from '../api.js'
import { useLive } from '../live.js'
import { shortId } from '../format.js'
import { Generic, NotAvailable, Problem, Table } from '../ui.js'

const EVENTS = ['ledger.ready', 'ledger.funded', 'wallet.deposited', 'wallet.withdrawal-requested', 'wallet.withdrawn', 'wallet.sent', 'market.order-accepted', 'market.order-removed', 'market.fill']
const BLOCKS = [
  ['Wallet', '/v1/wallet', Wallet],
  ['Chain', '/v1/ledger', Generic],
  ['Settlements', '/v1/ledger/settlements', Settlements],
  ['Market: order books', '/v1/market/books', Generic],
  ['Market: own orders and fills', '/v1/market/orders', Generic]
]

const load = async () => await Promise.all(BLOCKS.map(async ([, path]) => await optional(path)))
const when = (iso) => iso == null ? '-' : iso.replace('T', ' ').slice(0, 19)

function Wallet ({ value: w }) {
  return html`<dl class="kv">
      <dt>address</dt><dd class="mono">${w.address}</dd>
      <dt>chain id</dt><dd>${w.chainId}</dd>
      <dt>FTNS (wallet)</dt><dd data-ftns=${w.ftns}>${w.ftns}</dd>
      <dt>gas</dt><dd>${w.eth}</dd>
      <dt>vault free</dt><dd>${w.vault.free}</dd>
      <dt>vault locked</dt><dd>${w.vault.locked}</dd>
      <dt>withdrawal pending</dt><dd>${w.vault.pending}${w.vault.readyAt != null ? ` (ready ${when(w.vault.readyAt)})` : ''}</dd>
    </dl>
    <h3>Locks</h3>
    ${w.locks.length === 0
      ? html`<p class="empty">No lock.</p>`
      : html`<${Table} id="locks" head=${['Lock', 'Role', 'Payer', 'Provider', 'Amount', 'Redeemed', 'Expiry', 'Closed']}
          rows=${w.locks.map(l => ({ key: l.lockId, cells: [html`<span class="mono">${shortId(l.lockId)}</span>`, l.role, html`<span class="mono">${shortId(l.payer)}</span>`, html`<span class="mono">${shortId(l.provider)}</span>`, l.amount, l.redeemed, when(l.expiry), l.closed ? 'yes' : 'no'] }))} />`}`
}

function Settlements ({ value }) {
  const list = value.settlements ?? []
  if (list.length === 0) return html`<p class="empty">No settlement yet.</p>`
  return html`<${Table} id="settlements" head=${['Kind', 'State', 'Tx', 'Block', 'Created', 'Updated', 'Error']}
    rows=${list.map(s => ({ key: s.id, cells: [s.kind, s.state, s.tx == null ? '-' : html`<span class="mono">${shortId(s.tx)}</span>`, s.blockNumber ?? '-', when(s.createdAt), when(s.updatedAt), s.error ?? '-'] }))} />`
}

/** The wallet and market page. */
export function WalletPage () {
  const { data, error } = useLive(load, EVENTS, 30_000)
  if (data == null) return error != null ? html`<${Problem} error=${error} />` : html`<p>Loading…</p>`
  return html`<section aria-labelledby="wallet-h">
    <h1 id="wallet-h">Wallet and market</h1>
    <${Problem} error=${error} />
    ${BLOCKS.map(([title, path, View], i) => html`<div class="card block" data-route=${path}>
      <h2>${title}</h2>
      ${data[i].missing ? html`<${NotAvailable} what=${title} />` : data[i].error != null ? html`<${Problem} error=${data[i].error} />` : html`<${View} value=${data[i].data} />`}
    </div>`)}
  </section>`
}
