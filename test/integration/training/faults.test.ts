import { describe, it, expect, afterEach } from 'vitest'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import type { JobView, CreateJobRequest } from '../../../src/training/service/api-types.js'
import type { MeshNode } from '../../../src/node/node.js'

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
        if (tries >= 4 || !['ERR_TIMEOUT', 'ERR_NOT_FOUND', 'ERR_FETCH'].includes(String((err as { code?: string }).code))) {
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
  const last = mine.round - 1
  expect(hashOf(mine, last)).toBe(hashOf(theirs, last))
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

  it('rejects and counts every kind of malformed delta, penalises each sender on every honest node, and keeps training', async () => {
    // short enough that the unfetchable delta is refused within a round, long enough for joins to fetch the model
    const storage = { storage: { fetchTimeoutMs: 8000 } }
    mesh = await Mesh.start(2, { mode: 'process', config: storage })
    // one honest node in this process: its gossipsub scores of the senders can be read
    const observer = await mesh.add({ mode: 'inprocess', bootstrap: mesh.nodes.flatMap(n => n.addresses), config: { storage: { fetchTimeoutMs: 15_000 } } })
    const kinds = ['nan', 'wrong-shape', 'oversized', 'garbage', 'unfetchable'] as const
    for (const adversary of kinds) {
      // each also dials the observer, so the observer's gossipsub tracks (and scores) every one of them
      await mesh.add({ mode: 'process', bootstrap: [...mesh.nodes[0].addresses, ...observer.addresses], config: { ...storage, training: { adversary } } })
    }
    const honest = mesh.nodes.slice(0, 3)
    const adversaries = mesh.nodes.slice(3)
    const penalties = honest.map(n => collect(n, 'training.penalty'))
    // round 0's electorate is everyone; from round 1 it is the honest contributors, who then take turns sealing: with
    // 5 rounds each honest node aggregates (and screens every adversary's delta) at least once
    const id = await start(mesh.nodes, job({ rounds: 5, minParticipants: 3 }))
    const vs = await waitFor(async () => {
      const v = await Promise.all(honest.map(async n => await view(n, id)))
      return v.every(x => x.status === 'finished') ? v : undefined
    }, { timeoutMs: 240_000, intervalMs: 1000, what: 'the job to finish on the honest nodes' })
    for (const p of penalties) p.close()
    for (let r = 0; r < 5; r++) expect(new Set(vs.map(v => hashOf(v, r))).size, JSON.stringify(vs.map(v => v.rounds))).toBe(1)
    // only honest deltas made it into the models
    const honestIds = honest.map(n => n.peerId).sort()
    for (const r of vs[0].rounds) expect(r.contributors).toEqual(honestIds)
    const texts = await Promise.all(mesh.nodes.map(async n => await (await n.api.fetch('GET', '/metrics')).text()))
    const rejected = [...new Set(texts.flatMap(t => [...t.matchAll(/meshnode_training_deltas_rejected_total\{code="([A-Z_]+)"\} (\d+)/g)].map(m => m[1])))]
    // NaN/Inf, wrong shape, undecodable, over the size limit, not fetchable in time: one code each
    expect(rejected.sort()).toEqual(['ERR_CODEC', 'ERR_NONFINITE', 'ERR_NOT_FOUND', 'ERR_SHAPE', 'ERR_TOO_LARGE'])
    // per sender: every honest node penalised every adversary for an invalid delta, and no honest peer
    for (const [i, p] of penalties.entries()) {
      const mine = p.events.filter(e => e.jobId === id)
      for (const a of adversaries) expect(mine.some(e => e.peerId === a.peerId && e.reason === 'invalid-delta'), `node ${i} penalised ${a.index}`).toBe(true)
      expect(mine.filter(e => honestIds.includes(String(e.peerId)))).toEqual([])
    }
    // and the penalties reach gossipsub: the observer scores every sender below zero, its honest peers not
    const node = (observer as unknown as { node: MeshNode }).node
    const pubsub = node.libp2p.services.pubsub as unknown as { getScore: (id: string) => number }
    for (const a of adversaries) {
      expect(node.penalties.score(a.peerId), `app score of ${a.index}`).toBeLessThan(0)
      expect(pubsub.getScore(a.peerId), `gossipsub score of ${a.index}`).toBeLessThan(0)
    }
    for (const h of honest.filter(n => n !== observer)) expect(pubsub.getScore(h.peerId)).toBeGreaterThanOrEqual(0)
    for (const n of mesh.nodes) expect(await n.api.request('GET', '/v1/health')).toEqual({ status: 'ok' })
  }, 360_000)
})

/** Collect one type of event from a node's `/v1/events` stream until `close()`. */
function collect (node: NodeHandle, type: string): { events: Array<Record<string, unknown>>, close: () => void } {
  const events: Array<Record<string, unknown>> = []
  const abort = new AbortController()
  void node.api.fetch('GET', '/v1/events', { signal: abort.signal }).then(async res => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let buf = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buf += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end)
        buf = buf.slice(end + 2)
        const ev = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (ev === type && data != null) events.push(JSON.parse(data) as Record<string, unknown>)
      }
    }
  }).catch(() => {})
  return { events, close: () => { abort.abort() } }
}
