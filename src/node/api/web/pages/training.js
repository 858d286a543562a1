// Training: every job this node knows with its status, round, participants and contributors, a live curve of the
// job's accuracy and loss per round (the numbers `meshnode train status` prints), and create/join/leave/stop/export.
import { html } from '../html.js'
import { useState } from '../vendor/preact-hooks.js'
import { api } from '../api.js'
import { useLive } from '../live.js'
import { Curve } from '../chart.js'
import { formatPct, formatNum, shortJobId, shortPeer } from '../format.js'
import { Action, Problem } from '../ui.js'

const JOB_EVENTS = ['training.job', 'training.round', 'training.finished', 'training.stopped', 'training.dataset']

async function loadJobs () {
  const [{ jobs }, { datasets }, node] = await Promise.all([api('GET', '/v1/training/jobs'), api('GET', '/v1/training/datasets'), api('GET', '/v1/node')])
  return { jobs, datasets, self: node.peerId }
}

function JobCard ({ job, self, reload }) {
  const rounds = [...job.rounds].sort((a, b) => a.round - b.round)
  const last = rounds[rounds.length - 1]
  const act = (verb) => async () => { await api('POST', `/v1/training/jobs/${job.id}/${verb}`, verb === 'join' ? { dataset: job.spec.dataset } : undefined); await reload() }
  const running = job.status !== 'finished' && job.status !== 'stopped'
  return html`<article class="card job" data-job=${job.id} aria-label=${`job ${shortJobId(job.id)}`}>
    <header><h2 class="mono">${shortJobId(job.id)}</h2><span class=${`badge ${job.status}`}>${job.status}</span></header>
    <dl class="kv">
      <dt>dataset</dt><dd>${job.spec.dataset}</dd>
      <dt>round</dt><dd data-round=${job.round}>${job.round} / ${job.spec.rounds} (${job.phase})</dd>
      <dt>accuracy</dt><dd>${formatPct(last?.pooled?.accuracy ?? last?.accuracy)}${last?.pooled != null ? ` (${last.pooled.nodes}/${last.pooled.of} nodes)` : ''}</dd>
      <dt>loss</dt><dd>${formatNum(last?.loss)}</dd>
      <dt>participants</dt><dd>${job.participants.length}: <span class="mono small">${job.participants.map(shortPeer).join(', ')}</span></dd>
      <dt>contributors</dt><dd class="mono small">${last?.contributors == null ? '-' : last.contributors.map(shortPeer).join(', ')}</dd>
    </dl>
    <${Curve} rounds=${rounds} label=${`accuracy and loss of job ${shortJobId(job.id)}`} />
    <div class="buttons">
      ${!job.joined && running && html`<${Action} label="Join" action=${act('join')} />`}
      ${job.joined && running && html`<${Action} label="Leave" action=${act('leave')} />`}
      ${running && job.spec.creator === self && html`<${Action} label="Stop for everyone" kind="danger" confirm="Stop this job on every node?" action=${act('stop')} />`}
      <a class="button" href=${`/v1/training/jobs/${job.id}/model`} download=${`model-${shortJobId(job.id)}.json`}>Export model</a>
    </div>
  </article>`
}

function CreateJob ({ datasets, reload }) {
  const [form, setForm] = useState({ dataset: datasets[0]?.name ?? 'digits', layers: '64,10', rounds: 20, minParticipants: 2 })
  const [error, setError] = useState(null)
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value })
  const submit = async (e) => {
    e.preventDefault()
    setError(null)
    // the CLI's `train create` defaults for everything not on the form
    const body = {
      model: { arch: 'mlp', layers: form.layers.split(',').map(Number), seed: 1 },
      dataset: form.dataset, rounds: Number(form.rounds), minParticipants: Number(form.minParticipants),
      localEpochs: 5, batchSize: 10, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32'
    }
    try { await api('POST', '/v1/training/jobs', body); await reload() } catch (err) { setError(err) }
  }
  return html`<form class="card create" onSubmit=${submit} aria-label="create a training job">
    <h2>New job</h2>
    <label>Dataset <select value=${form.dataset} onChange=${set('dataset')}>${datasets.map(d => html`<option value=${d.name}>${d.name} (${d.rows} rows)</option>`)}</select></label>
    <label>Layers <input value=${form.layers} onInput=${set('layers')} pattern="[0-9]+(,[0-9]+)*" /></label>
    <label>Rounds <input type="number" min="1" value=${form.rounds} onInput=${set('rounds')} /></label>
    <label>Min participants <input type="number" min="1" value=${form.minParticipants} onInput=${set('minParticipants')} /></label>
    <button type="submit">Create and announce</button>
    <${Problem} error=${error} />
  </form>`
}

/** The training page. */
export function TrainingPage () {
  const { data, error, reload } = useLive(loadJobs, JOB_EVENTS)
  if (data == null) return error != null ? html`<${Problem} error=${error} />` : html`<p>Loading…</p>`
  return html`<section aria-labelledby="training-h">
    <h1 id="training-h">Training</h1>
    <${Problem} error=${error} />
    <div class="jobs">
      ${data.jobs.length === 0 && html`<p class="empty">No training job known to this node.</p>`}
      ${data.jobs.map(j => html`<${JobCard} key=${j.id} job=${j} self=${data.self} reload=${reload} />`)}
    </div>
    <${CreateJob} datasets=${data.datasets} reload=${reload} />
  </section>`
}
