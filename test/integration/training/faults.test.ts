import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import { sseEvents } from '../../../src/node/cli/train-sse.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'

let mesh: Mesh | undefined
afterEach(async () => { await mesh?.close(); mesh = undefined })

/** Short timings so a round with a dead peer closes in seconds. */
const FAST = { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 2000, capMs: 6000, sealTimeoutMs: 5000 }

const job = (over: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  model: { arch: 'mlp', layers: [64, 10], seed: 3 },
  dataset: 'digits',
  rounds: 40,
  minParticipants: 3,
  localEpochs: 2,
  batchSize: 10,
  learningRate: 0.1,
  aggregation: 'fedavg',
  compression: 'int8',
  timing: FAST,
  ...over
})

async function view (n: NodeHandle, id: string): Promise<JobView> {
  return await n.api.request<JobView>('GET', `/v1/training/jobs/${id}`)
}

async function start (nodes: NodeHandle[], req: CreateJobRequest): Promise<string> {
  const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', { json: req })
  await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the job on every node' })
  // a join fetches the initial model within storage.fetchTimeoutMs (short in the penalty test, 8 busy nodes): retry
  await Promise.all(nodes.map(async (n, i) => {
    for (let tries = 1; ; tries++) {
      try {
        return await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: nodes.length, seed: 5 } } })
      } catch (err) {
        // the model did not arrive in time (a timeout, or no provider yet): anything else is a real failure
        if (tries >= 8 || !['ERR_TIMEOUT', 'ERR_NOT_FOUND', 'ERR_FETCH'].includes(String((err as { code?: string }).code))) {
          throw new Error(`node ${n.index} (${n.peerId}) could not join after ${tries} tries: ${(err as Error).message}`)
        }
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    }
  }))
  return id
}

/** Wait until every given node has accepted round `round`; returns their views. */
async function accepted (nodes: NodeHandle[], id: string, round: number, timeoutMs = 90_000): Promise<JobView[]> {
  return await waitFor(async () => {
    const vs = await Promise.all(nodes.map(async n => await view(n, id)))
    return vs.every(v => v.rounds.some(r => r.round === round)) ? vs : undefined
  }, { timeoutMs, intervalMs: 300, what: `round ${round} accepted on ${nodes.length} nodes` })
}

const reportOf = (v: JobView, round: number): JobView['rounds'][number] | undefined => v.rounds.find(r => r.round === round)
const hashOf = (v: JobView, round: number): string | undefined => reportOf(v, round)?.modelHash

/** Poll `node` until it is in `phase` of a round >= `from` (returns its view then, to act at once). */
async function inPhase (node: NodeHandle, id: string, phase: JobView['phase'], from: number, what: string, also: (v: JobView) => boolean = () => true): Promise<JobView> {
  return await waitFor(async () => {
    const v = await view(node, id)
    return v.round >= from && v.phase === phase && also(v) ? v : undefined
  }, { timeoutMs: 120_000, intervalMs: 25, what })
}

/**
 * A restarted node catches up within two rounds, measured in rounds: from the moment its process is back, the others
 * seal at most two more rounds before it runs the round they are in (holding their model of the round before). The
 * restarted process first loads its data and tfjs and evaluates every round it adopts on the way (the in-memory
 * simulation, without those costs, catches up within one round).
 */
async function expectCaughtUp (node: NodeHandle, others: NodeHandle[], id: string): Promise<void> {
  const back = (await view(others[0], id)).round
  const [mine, theirs] = await waitFor(async () => {
    const [vn, vo] = await Promise.all([view(node, id), view(others[0], id)])
    return vn.round >= vo.round && vn.phase !== 'waiting' ? [vn, vo] as const : undefined
  }, { timeoutMs: 120_000, intervalMs: 200, what: 'the restarted node to catch up' })
  // measured in rounds: the others sealed at most two rounds while it caught up
  expect(theirs.round - back, `back at round ${back}, caught up at ${theirs.round}`).toBeLessThanOrEqual(2)
  // it holds the others' model of the round before (a report lands once its node has evaluated that round's model)
  const last = mine.round - 1
  const [own, other] = await waitFor(async () => {
    const hashes = [hashOf(await view(node, id), last), hashOf(await view(others[0], id), last)]
    return hashes.every(h => h != null) ? hashes : undefined
  }, { timeoutMs: 60_000, intervalMs: 200, what: `both nodes' reports of round ${last}` })
  expect(own).toBe(other)
}

describe('faults during training', () => {
  it('a SIGKILLed aggregator is replaced by the next one, a SIGKILLed participant is left out, and both catch up after restart', async () => {
    mesh = await Mesh.start(5, { mode: 'process' })
    const nodes = mesh.nodes
    // rounds of ~6 s: long enough that a restarted process (data, tfjs, one evaluation per adopted round) can catch up
    // within two, on two shared cores
    const id = await start(nodes, job({ timing: { ...FAST, minWaitMs: 5000, capMs: 8000 } }))
    await accepted(nodes, id, 0)

    // a round whose attempt-0 aggregator is still collecting (it has not closed, so it cannot have sealed): kill it then
    const { node: aggregator, view: open } = await waitFor(async () => {
      const v = await view(nodes[0], id)
      const n = nodes.find(x => x.peerId === v.aggregator)
      if (v.phase !== 'collecting' || v.attempt !== 0 || n == null) return undefined
      const own = await view(n, id)
      return own.round === v.round && own.phase === 'collecting' && own.aggregator === n.peerId ? { node: n, view: own } : undefined
    }, { timeoutMs: 120_000, intervalMs: 25, what: 'an aggregator collecting its round' })
    await aggregator.kill()
    const alive = nodes.filter(n => n !== aggregator)
    // nobody had accepted that round when it died
    for (const v of await Promise.all(alive.map(async n => await view(n, id)))) expect(reportOf(v, open.round)).toBeUndefined()
    const after = await accepted(alive, id, open.round)
    expect(new Set(after.map(v => hashOf(v, open.round))).size).toBe(1)
    // another node sealed it, in a later attempt (attempt 0 was the dead node's)
    const sealed = reportOf(after[0], open.round)
    expect(sealed?.aggregator).toBeDefined()
    expect(sealed?.aggregator).not.toBe(aggregator.peerId)
    expect(alive.map(n => n.peerId)).toContain(sealed?.aggregator)
    expect(sealed?.attempt).toBeGreaterThanOrEqual(1)

    // restarted, it catches up within two rounds
    await aggregator.restart()
    await expectCaughtUp(aggregator, alive, id)

    // a participant (not the aggregator) dies while its round is collecting, before it delivered: left out of the seal
    const victim = alive.find(n => n !== aggregator) as NodeHandle
    const from = (await view(victim, id)).round + 1
    const collecting = await inPhase(victim, id, 'collecting', from, 'the victim collecting a new round', v => v.aggregator !== victim.peerId)
    await victim.kill()
    const rest = nodes.filter(n => n !== victim)
    for (const v of await Promise.all(rest.map(async n => await view(n, id)))) expect(reportOf(v, collecting.round)).toBeUndefined()
    const done = await accepted(rest, id, collecting.round)
    expect(new Set(done.map(v => hashOf(v, collecting.round))).size).toBe(1)
    const contributors = reportOf(done[0], collecting.round)?.contributors
    expect(contributors?.length).toBeGreaterThanOrEqual(3)
    expect(contributors).not.toContain(victim.peerId)
    await victim.restart()
    await expectCaughtUp(victim, rest, id)
  }, 400_000)

  it('rejects and counts every kind of malformed delta, penalises the senders, and keeps training', async () => {
    mesh = await Mesh.start(3, { mode: 'process', config: { storage: { fetchTimeoutMs: 6000 } } })
    const kinds = ['nan', 'wrong-shape', 'oversized', 'garbage', 'unfetchable'] as const
    for (const adversary of kinds) {
      await mesh.add({ mode: 'process', bootstrap: mesh.nodes[0].addresses, config: { storage: { fetchTimeoutMs: 6000 }, training: { adversary } } })
    }
    const honest = mesh.nodes.slice(0, 3)
    // every honest node's penalties, per sender, from its event stream (each feeds the sender's gossipsub score)
    const seen = honest.map(() => new Set<string>())
    const streams = new AbortController()
    const following = honest.map(async (n, i) => {
      const res = await n.api.fetch('GET', '/v1/events', { signal: streams.signal })
      if (res.body == null) return
      for await (const ev of sseEvents(res.body)) {
        if (ev.event !== 'training.penalty') continue
        const p = JSON.parse(ev.data) as { peerId: string, reason: string }
        seen[i].add(`${p.peerId}|${p.reason}`)
      }
    }).map(async p => await p.catch(() => {}))
    // the unfetchable sender is the slowest node (it verifies every seal, and so adopts each round, after the others):
    // rounds wait long enough for its delta to be in each of them, and an aggregator's failed fetch of it (one
    // fetchTimeoutMs) fits in one attempt
    // three rounds: a CI run once listed the unfetchable delta in neither of two (its sender joined late, then adopted
    // each round late), and nothing fetched it
    const id = await start(mesh.nodes, job({ rounds: 3, minParticipants: 3, timing: { ...FAST, minWaitMs: 6000, capMs: 10_000, sealTimeoutMs: 9000 } }))
    const vs = await waitFor(async () => {
      const v = await Promise.all(honest.map(async n => await view(n, id)))
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 180_000, intervalMs: 1000, what: 'the job to finish on the honest nodes' })
    // every honest node holds the final model; any round two nodes both report, they report identically
    expect(vs.every(v => hashOf(v, 2) != null)).toBe(true)
    for (const r of [0, 1, 2]) expect(new Set(vs.map(v => hashOf(v, r)).filter(h => h != null)).size, JSON.stringify(vs.map(v => v.rounds))).toBe(1)
    // only honest deltas made it into the models
    expect(vs[0].rounds.every(r => r.participants === 3)).toBe(true)
    // deltas are screened by whoever aggregates (any node, adversaries run the honest screening code too):
    // collect the rejection counters of the whole mesh
    const texts = await Promise.all(mesh.nodes.map(async n => await (await n.api.fetch('GET', '/metrics')).text()))
    const rejected = [...new Set(texts.flatMap(t => [...t.matchAll(/meshnode_training_deltas_rejected_total\{code="([A-Z_]+)"\} (\d+)/g)].map(m => m[1])))]
    // NaN/Inf, wrong shape, undecodable, over the size limit, not fetchable in time: one code each
    expect(rejected.sort()).toEqual(['ERR_CODEC', 'ERR_NONFINITE', 'ERR_NOT_FOUND', 'ERR_SHAPE', 'ERR_TOO_LARGE'])
    const penalties = texts.flatMap(t => [...t.matchAll(/meshnode_training_penalties_total\{reason="(?:invalid|unavailable)-delta"\} (\d+)/g)].map(m => Number(m[1])))
    expect(penalties.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(kinds.length)
    // per sender, on every honest node: every delta is screened as it arrives (src/training/service/work.ts,
    // screenEarly), so whatever the aggregator rotation, each honest node penalises each sender of bytes that prove
    // malformed. A delta nobody can fetch may be the network's fault: only the nodes that needed it penalise it, and
    // lightly (unavailable, not invalid: it proves nothing about the delta).
    await waitFor(() => honest.every((_, i) => kinds.slice(0, 4).every((_, k) => seen[i].has(`${mesh?.nodes[3 + k].peerId}|invalid-delta`))) || undefined, { timeoutMs: 20_000, intervalMs: 200, what: 'every honest node\'s penalties of every malformed sender' })
      .catch(() => undefined)
    for (const [i, n] of honest.entries()) {
      for (const [k, kind] of kinds.slice(0, 4).entries()) {
        expect(seen[i].has(`${mesh.nodes[3 + k].peerId}|invalid-delta`), `node ${n.index} penalised the ${kind} sender`).toBe(true)
      }
    }
    expect(honest.some((_, i) => seen[i].has(`${mesh?.nodes[7].peerId}|unavailable-delta`)), 'someone penalised the unfetchable sender').toBe(true)
    // and the penalties reach gossipsub: on every honest node, each malformed sender's score is below zero (it is
    // being muted), while the honest peers' scores are not (scores are recomputed at gossipsub's heartbeat)
    const bad = kinds.slice(0, 4).map((_, k) => mesh!.nodes[3 + k].peerId)
    for (const n of honest) {
      const scores = await waitFor(async () => {
        const { peers } = await n.api.request<{ peers: Array<{ peerId: string, gossipScore: number | null }> }>('GET', '/v1/peers')
        const by = new Map(peers.map(p => [p.peerId, p.gossipScore]))
        return bad.every(id => (by.get(id) ?? 0) < 0) ? by : undefined
      }, { timeoutMs: 10_000, intervalMs: 500, what: `node ${n.index}'s gossipsub scores of the malformed senders below zero` })
      for (const h of honest) if (h !== n && scores.has(h.peerId)) expect(scores.get(h.peerId), `node ${n.index}'s score of honest node ${h.index}`).toBeGreaterThanOrEqual(0)
    }
    streams.abort()
    await Promise.all(following)
    for (const n of mesh.nodes) expect(await n.api.request('GET', '/v1/health')).toEqual({ status: 'ok' })
  }, 300_000)
})
