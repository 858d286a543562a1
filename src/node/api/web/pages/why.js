// "Why am I not participating or earning?": the checks the API can answer, each with what to do about it.
import { html } from '../html.js'
import { api, optional } from '../api.js'
import { useLive } from '../live.js'
import { Problem } from '../ui.js'

const EVENTS = ['peer.connected', 'peer.disconnected', 'hardware.measured', 'training.job', 'training.dataset', 'training.finished', 'training.stopped', 'ledger.funded', 'wallet.deposited', 'epoch.finalized']

/** True for a decimal amount string that is zero (`0`, `0.0`). */
const zero = (v) => !/[1-9]/.test(String(v))

/** The list of checks: `{ id, ok, title, detail }`. Exported for the bench and tests through the page. */
export async function runChecks () {
  const [node, hw, { datasets }, { jobs }, wallet, reputation] = await Promise.all([
    api('GET', '/v1/node'), api('GET', '/v1/hardware'), api('GET', '/v1/training/datasets'), api('GET', '/v1/training/jobs'),
    optional('/v1/wallet'), optional('/v1/reputation')
  ])
  const checks = []
  checks.push({ id: 'peers', ok: node.peers > 0, title: node.peers > 0 ? `${node.peers} peers connected` : 'No peers', detail: 'Without peers no round can reach its minimum participants. Check the bootstrap addresses and that the listen port is reachable.' })
  checks.push({ id: 'dataset', ok: datasets.length > 0, title: datasets.length > 0 ? `${datasets.length} datasets` : 'No dataset', detail: 'Import one with `meshnode train datasets import`, or use a built-in one.' })
  const joined = jobs.filter(j => j.joined && j.status !== 'finished' && j.status !== 'stopped').length
  const open = jobs.filter(j => !j.joined && (j.status === 'announced')).length
  checks.push({ id: 'jobs', ok: joined > 0, title: joined > 0 ? `Taking part in ${joined} jobs` : open > 0 ? `${open} announced jobs not joined` : 'No running job joined', detail: 'A node earns by contributing to jobs: join one on the Training page.' })
  const r = hw.resources
  const capped = r == null ? false : r.dutyCycle < 0.25 || r.trainingThreads < 1 || r.maxMemoryMB < 256
  checks.push({ id: 'profile', ok: !capped, title: capped ? 'Profile caps training tightly' : 'Profile caps allow training', detail: r == null ? '-' : `${r.trainingThreads} threads, ${r.maxMemoryMB} MB, duty cycle ${r.dutyCycle}: jobs whose estimated footprint exceeds the memory cap are refused.` })
  checks.push({ id: 'speed', ok: hw.bench != null, title: hw.bench != null ? `Measured ${hw.bench.samplesPerSec} samples/s` : 'Training speed not measured', detail: 'Aggregators size deadlines from the advertised speed; it is measured shortly after start unless the benchmark is off.' })
  if (wallet.error != null) {
    const off = wallet.error.code === 'ERR_LEDGER_DISABLED'
    checks.push({ id: 'wallet', ok: false, title: off ? 'Ledger switched off' : `Wallet unavailable (${wallet.error.code})`, detail: off ? 'Without the ledger this node cannot be paid: set `ledger.enabled: true`.' : wallet.error.message })
  } else if (wallet.data != null) {
    const w = wallet.data
    const funded = !zero(w.ftns) || !zero(w.vault?.free ?? '0')
    const gas = !zero(w.eth)
    checks.push({ id: 'wallet', ok: funded && gas, title: !funded ? 'Wallet unfunded' : !gas ? 'No gas in the wallet' : `Wallet holds ${w.ftns} FTNS`, detail: 'Market orders and settlement need FTNS in the wallet or vault, and gas for the transactions.' })
  }
  if (reputation.error != null) {
    checks.push({ id: 'probation', ok: false, title: `Reputation unavailable (${reputation.error.code})`, detail: reputation.error.message })
  } else if (reputation.data != null) {
    const me = reputation.data.peers?.find(p => p.peerId === node.peerId)
    const probation = me?.probation === true
    checks.push({ id: 'probation', ok: me != null && !probation, title: me == null ? 'Not in the reputation table yet' : probation ? 'On probation' : `Reputation ${me.score}`, detail: 'New peers start on probation: their votes weigh less until they have contributed for a few epochs; a peer enters the table once an epoch that counts its work is finalized.' })
  }
  return checks
}

/** The panel; `secondary` when it shares a page, so the page's own data loads first. */
export function WhyPanel ({ secondary = false }) {
  const { data, error } = useLive(runChecks, EVENTS, 30_000, secondary ? 400 : 0)
  return html`<section class="card why" aria-labelledby="why-h">
    <h2 id="why-h">Why am I not participating or earning?</h2>
    <${Problem} error=${error} />
    ${data == null
      ? html`<p>Checking…</p>`
      : html`<ul class="checks">${data.map(c => html`<li class=${c.ok ? 'ok' : 'bad'} data-check=${c.id} data-ok=${String(c.ok)}>
          <span class="mark" aria-hidden="true">${c.ok ? '✓' : '!'}</span><strong>${c.title}</strong>${!c.ok && html`<span class="detail">${c.detail}</span>`}</li>`)}</ul>`}
  </section>`
}
