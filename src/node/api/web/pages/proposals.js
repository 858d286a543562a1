// Proposals and reputation: pending proposals with their tally against the quorum, vote and veto buttons, the
// history; the reputation table with each score's parts. "Not available" where this node serves no consensus routes.
import { html } from '../html.js'
import { api, optional } from '../api.js'
import { useLive } from '../live.js'
import { shortId } from '../format.js'
import { Action, NotAvailable, Problem, Table } from '../ui.js'

const EVENTS = ['proposal.created', 'proposal.voted', 'proposal.accepted', 'proposal.rejected', 'proposal.expired', 'proposal.vetoed', 'proposal.executed', 'epoch.finalized']

async function load () {
  const [proposals, reputation] = await Promise.all([optional('/v1/proposals'), optional('/v1/reputation')])
  return { proposals, reputation }
}

/** A weight (decimal string, may outgrow 2^53) as a share of the total, one decimal. */
function share (part, total) {
  try {
    const t = BigInt(total)
    return t === 0n ? '-' : `${(Number((BigInt(part) * 1000n) / t) / 10).toFixed(1)}%`
  } catch { return '-' }
}

function Tally ({ t }) {
  const pct = (w) => { try { const q = BigInt(t.weightTotal); return q === 0n ? 0 : Number((BigInt(w) * 1000n) / q) / 10 } catch { return 0 } }
  return html`<div class="tally" aria-label=${`yes ${share(t.yes, t.weightTotal)}, quorum ${share(t.quorum, t.weightTotal)}`}>
    <div class="bar"><span class="yes" style=${`width:${pct(t.yes)}%`}></span><span class="no" style=${`width:${pct(t.no)}%`}></span><i class="quorum" style=${`left:${pct(t.quorum)}%`}></i></div>
    <small>yes ${share(t.yes, t.weightTotal)} · quorum ${share(t.quorum, t.weightTotal)} · yes ${t.yes} / quorum ${t.quorum} of ${t.weightTotal} (no ${t.no}, abstain ${t.abstain})</small>
  </div>`
}

function Proposals ({ list, reload }) {
  const pending = list.filter(p => p.status === 'pending')
  const history = list.filter(p => p.status !== 'pending')
  const vote = (p, choice) => async () => { await api('POST', `/v1/proposals/${p.id}/votes`, { choice }); await reload() }
  const veto = (p) => async () => { await api('POST', `/v1/proposals/${p.id}/veto`, {}); await reload() }
  return html`<h2>Pending</h2>
    ${pending.length === 0 && html`<p class="empty">No pending proposal.</p>`}
    ${pending.map(p => html`<article class="card proposal" data-proposal=${p.id}>
      <header><h3>${p.kind}</h3><span class="mono small">${shortId(p.id)}</span></header>
      <p class="small">by <span class="mono">${shortId(p.proposer)}</span>, expires ${p.expiresAt.replace('T', ' ').slice(0, 19)} · ${p.votes.length} votes</p>
      <${Tally} t=${p.tally} />
      <div class="buttons">
        <${Action} label="Vote yes" action=${vote(p, 'yes')} /><${Action} label="Vote no" action=${vote(p, 'no')} />
        <${Action} label="Abstain" action=${vote(p, 'abstain')} /><${Action} label="Veto" kind="danger" confirm="Veto this proposal (guardians only)?" action=${veto(p)} />
      </div>
    </article>`)}
    <h2>History</h2>
    ${history.length === 0
      ? html`<p class="empty">No decided proposal yet.</p>`
      : html`<${Table} id="proposal-history" head=${['Proposal', 'Kind', 'Status', 'Executed', 'Epoch', 'Votes', 'Vetoes']}
          rows=${history.map(p => ({ key: p.id, attrs: { 'data-proposal': p.id }, cells: [html`<span class="mono">${shortId(p.id)}</span>`, p.kind, p.status, p.executed ? 'yes' : 'no', p.epoch ?? '-', p.votes.length, p.vetoes.length] }))} />`}`
}

function Reputation ({ r }) {
  const head = html`<p class="small">epoch ${r.epoch} · <span class="mono">${shortId(r.hash)}</span></p>`
  if (r.peers.length === 0) return html`${head}<p class="empty">No peer in the table yet: peers enter it when a finalized epoch counts their work.</p>`
  return html`${head}
    <${Table} id="reputation" head=${['Peer', 'Score', 'Weight', 'Probation', 'Age', 'Work', 'Bonds', 'Slashes', 'Decay', 'Capped']}
      rows=${r.peers.map(p => ({
        key: p.peerId,
        attrs: { 'data-peer': p.peerId },
        cells: [html`<span class="mono">${shortId(p.peerId)}</span>`, p.score, p.weight, p.probation ? 'yes' : 'no', p.age,
          p.parts?.work ?? '-', p.parts?.bonds ?? '-', p.parts?.slashes ?? '-', p.parts?.decay ?? '-', p.parts?.capped ?? '-']
      }))} />`
}

/** The proposals and reputation page. */
export function ProposalsPage () {
  const { data, error, reload } = useLive(load, EVENTS)
  if (data == null) return error != null ? html`<${Problem} error=${error} />` : html`<p>Loading…</p>`
  const list = data.proposals.data?.proposals ?? data.proposals.data
  return html`<section aria-labelledby="proposals-h">
    <h1 id="proposals-h">Proposals</h1>
    <${Problem} error=${error} />
    ${data.proposals.missing ? html`<${NotAvailable} what="Proposals" />` : data.proposals.error != null ? html`<${Problem} error=${data.proposals.error} />` : html`<${Proposals} list=${Array.isArray(list) ? list : []} reload=${reload} />`}
    <h1>Reputation</h1>
    ${data.reputation.missing ? html`<${NotAvailable} what="Reputation" />` : data.reputation.error != null ? html`<${Problem} error=${data.reputation.error} />` : html`<${Reputation} r=${data.reputation.data} />`}
  </section>`
}
