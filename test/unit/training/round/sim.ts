/**
 * An in-memory simulation of N JobMachines: a fake gossip bus with fixed latency, a content-addressed fake Helia, and
 * fake shells that train, aggregate and verify with the real training core. Time is a ManualClock driven by an event
 * queue, so runs are deterministic and take milliseconds. Unit level: no network, no signatures.
 */
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { ManualClock } from '../../../../src/common/clock.js'
import { aggregate, applyDelta, modelHash, type AggregationSpec } from '../../../../src/training/core/index.js'
import { createJobSpec, type JobSpec, type JobSpecInput, type RoundSeal, type SealedDelta, type TrainingMessage } from '../../../../src/training/protocol/index.js'
import { JobMachine, type JobAction, type JobEvent, type JobMachineSnapshot, type PenaltyReason } from '../../../../src/training/round/index.js'

export const DIM = 16
export const T0 = 1_700_000_000_000

/** A CIDv1 (raw, sha2-256) of some bytes: content addressing as Helia would do it. */
export function fakeCid (bytes: Uint8Array): string {
  return CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest())).toString()
}

/** The fake Helia: float32 vectors by CID. */
export class Store {
  readonly blocks = new Map<string, Float32Array>()
  put (v: Float32Array): string {
    const cid = fakeCid(new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)))
    this.blocks.set(cid, v)
    return cid
  }

  get (cid: string): Float32Array {
    const v = this.blocks.get(cid)
    if (v == null) throw new Error(`missing block ${cid}`)
    return v
  }
}

/** How a simulated node misbehaves. */
export interface Behaviour {
  /** Local training time in ms. */
  trainMs: number
  /** Never answers `aggregate` (a crashed or lazy aggregator). */
  silentAggregator?: boolean
  /** Seals a perturbed model. */
  wrongSeal?: boolean
  /** Announces two different deltas each round. */
  equivocate?: boolean
}

export interface NodeLog {
  accepted: Array<{ round: number, modelHash: string, modelCid: string }>
  penalties: Array<{ peerId: string, reason: PenaltyReason, round: number }>
  finished: { reason: string, round: number, modelHash: string } | null
  seals: RoundSeal[]
  trains: number[]
}

/** How a node is stopped: SIGTERM lets the current step finish; SIGKILL stops after the step's snapshot was persisted. */
export type KillKind = 'sigterm' | 'sigkill'

/** A planned kill: after the node's `afterActions`-th action (counted from when the plan is set). */
export interface KillPlan { kind: KillKind, afterActions: number, done?: JobMachineSnapshot }

export class SimNode {
  online = true
  /** Actions carried out since the kill plan was set. */
  actions = 0
  kill: KillPlan | null = null
  readonly log: NodeLog = { accepted: [], penalties: [], finished: null, seals: [], trains: [] }
  constructor (readonly id: string, readonly index: number, public machine: JobMachine, public behaviour: Behaviour) {}
}

interface Scheduled { at: number, n: number, node: SimNode, from?: SimNode, run: () => JobEvent | JobEvent[] | null }

/** The default job of the simulations: fedavg, fp32, 3 rounds, 3 of 5 needed. */
export function simJob (store: Store, over: Partial<JobSpecInput> = {}): JobSpec {
  const initial = new Float32Array(DIM).map((_, i) => Math.fround(0.1 * Math.sin(i)))
  return createJobSpec({
    creator: 'p0',
    model: { arch: 'mlp', layers: [8, 2], seed: 1, inputShape: [4] },
    dataset: 'digits',
    rounds: 3,
    minParticipants: 3,
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    aggregation: { kind: 'fedavg' },
    compression: { kind: 'fp32' },
    initialModelCid: store.put(initial),
    createdAt: T0,
    timing: { roundTimeoutMs: 30_000, deadlineK: 3, minWaitMs: 1500, capMs: 10_000, sealTimeoutMs: 3000 },
    ...over
  })
}

/** A deterministic local update of node `index` in `round`. */
function localDelta (index: number, round: number, salt = 0): Float32Array {
  return new Float32Array(DIM).map((_, i) => Math.fround(0.01 * (index + 1) * Math.cos(i + round) + 0.001 * salt))
}

export class Sim {
  readonly clock = new ManualClock(T0)
  readonly store = new Store()
  readonly nodes: SimNode[] = []
  readonly job: JobSpec
  /** Gossip delay of each message to each receiver (fixed by default; tests may jitter it). */
  latency: (from: SimNode, to: SimNode) => number = () => 20
  /**
   * Peers whose deltas nobody can fetch any more (they died before anyone fetched them): aggregating or verifying a
   * list that names one answers `delta-unavailable` for it, as the real shell does once its fetch times out.
   */
  readonly unfetchable = new Set<string>()
  private queue: Scheduled[] = []
  private n = 0
  private seq = T0

  constructor (count: number, opts: { job?: Partial<JobSpecInput>, behaviour?: (i: number) => Partial<Behaviour> } = {}) {
    this.job = simJob(this.store, opts.job)
    for (let i = 0; i < count; i++) {
      const id = `p${i}`
      this.nodes.push(new SimNode(id, i, this.machine(id), { trainMs: 1000 + 50 * i, ...opts.behaviour?.(i) }))
    }
  }

  machine (id: string, snapshot?: JobMachineSnapshot): JobMachine {
    const opts = { self: id, job: this.job }
    return snapshot == null ? new JobMachine(opts) : JobMachine.fromSnapshot(snapshot, opts)
  }

  get now (): number { return this.clock.now() }

  /** Feed one event to a node now and carry out its actions. */
  dispatch (node: SimNode, event: JobEvent): void {
    if (!node.online) return
    this.carryOut(node, node.machine.handle(event, this.now))
  }

  /**
   * Carry out a step's actions. A planned kill fires after the node's n-th action: SIGKILL drops the rest of the step
   * and the messages still in flight from the node (the runner persists the snapshot before carrying out actions, so
   * the snapshot holds what the lost actions announced); SIGTERM finishes the step (the runner drains its queue) and
   * only loses work in the background.
   */
  private carryOut (node: SimNode, actions: JobAction[]): void {
    const snapshot = node.kill != null ? node.machine.snapshot() : null
    for (const a of actions) {
      const plan = node.kill
      if (plan != null && plan.done == null && node.actions >= plan.afterActions && plan.kind === 'sigkill') {
        plan.done = snapshot as JobMachineSnapshot
        this.crash(node, true)
        return
      }
      node.actions++
      this.perform(node, a)
    }
    const plan = node.kill
    if (plan != null && plan.done == null && node.actions > plan.afterActions) {
      plan.done = node.machine.snapshot()
      this.crash(node, plan.kind === 'sigkill')
    }
  }

  joinAll (samples = 100): void {
    for (const node of this.nodes) this.dispatch(node, { kind: 'join', samples: samples + 10 * node.index })
  }

  /** Stop a node (a crash): it hears nothing and its pending work is lost. */
  crash (node: SimNode, dropInFlight = false): JobMachineSnapshot {
    node.online = false
    this.queue = this.queue.filter(s => s.node !== node && !(dropInFlight && s.from === node))
    return node.machine.snapshot()
  }

  /** Bring a node back, from a snapshot or fresh (then it joins again, as an operator's autostart would). */
  restart (node: SimNode, snapshot: JobMachineSnapshot | null, samples = 100): void {
    node.machine = this.machine(node.id, snapshot ?? undefined)
    node.online = true
    node.kill = null
    if (snapshot == null) { this.dispatch(node, { kind: 'join', samples }); return }
    // as the runner does: an adoption whose outcome a SIGKILL lost is carried out again
    for (const a of node.machine.lastOutcome()) {
      if (a.kind === 'model-accepted' && node.log.accepted.some(x => x.round === a.round)) continue
      if (a.kind === 'job-finished' && node.log.finished != null) continue
      this.perform(node, a)
    }
    this.carryOut(node, node.machine.resume(this.now))
  }

  /** Broadcast a message as `from` (bypassing its machine, e.g. a forged equivocation). */
  broadcast (from: SimNode, msg: TrainingMessage): void {
    const seq = ++this.seq
    for (const to of this.nodes) {
      if (to === from) continue
      this.schedule(to, this.latency(from, to), () => ({ kind: 'message', from: from.id, seq, msg: structuredClone(msg) }), from)
    }
  }

  /** Advance time event by event until `until` returns true or `maxMs` of simulated time passed. */
  run (until: () => boolean, maxMs = 120_000): void {
    const end = this.now + maxMs
    let stalled = 0
    while (!until()) {
      const wakes = this.nodes.filter(n => n.online).map(n => n.machine.nextWakeAt()).filter((t): t is number => t != null)
      const next = Math.min(this.queue[0]?.at ?? Infinity, ...wakes)
      if (!Number.isFinite(next) || next > end) return
      // a machine whose wake-up time stays in the past without progress would spin a real shell's timer too
      stalled = next <= this.now && (this.queue[0]?.at ?? Infinity) > this.now ? stalled + 1 : 0
      if (stalled > 100) throw new Error(`simulation stalled at ${this.now - T0} ms`)
      this.clock.set(Math.max(this.now, next))
      while (this.queue.length > 0 && this.queue[0].at <= this.now) {
        const s = this.queue.shift() as Scheduled
        const ev = s.run()
        for (const e of Array.isArray(ev) ? ev : ev == null ? [] : [ev]) this.dispatch(s.node, e)
      }
      for (const node of this.nodes) {
        const w = node.online ? node.machine.nextWakeAt() : null
        if (w != null && w <= this.now) this.dispatch(node, { kind: 'tick' })
      }
    }
  }

  /** Run until `at` (absolute), delivering everything due on the way. */
  runUntil (at: number): void {
    this.run(() => this.now >= at, at - this.now)
    if (this.now < at) this.clock.set(at)
  }

  allFinished (): boolean {
    return this.nodes.every(n => n.log.finished != null)
  }

  private schedule (node: SimNode, delay: number, run: () => JobEvent | JobEvent[] | null, from?: SimNode): void {
    const s: Scheduled = { at: this.now + delay, n: this.n++, node, from, run }
    const i = this.queue.findIndex(q => q.at > s.at)
    if (i < 0) this.queue.push(s)
    else this.queue.splice(i, 0, s)
  }

  /** Whether a seal is what an honest recomputation of its listed deltas gives. */
  honest (seal: RoundSeal): boolean {
    const next = this.compute(seal.baseModelCid, seal.deltas)
    return modelHash(next) === seal.modelHash && fakeCid(new Uint8Array(next.buffer)) === seal.aggregateCid
  }

  private compute (baseCid: string, deltas: SealedDelta[]): Float32Array {
    const spec = this.job.aggregation as AggregationSpec
    const agg = aggregate(spec, deltas.map(d => ({ id: d.cid, data: this.store.get(d.cid), weight: d.samples })))
    return applyDelta(this.store.get(baseCid), agg.result)
  }

  /** `delta-unavailable` for each listed delta whose producer is unfetchable. */
  private lost (round: number, deltas: SealedDelta[]): JobEvent[] {
    return deltas.filter(d => this.unfetchable.has(d.peerId)).map(d => ({ kind: 'delta-unavailable', round, cid: d.cid, peerId: d.peerId, reason: 'fetch timed out' }))
  }

  private perform (node: SimNode, a: JobAction): void {
    switch (a.kind) {
      case 'publish': {
        if (a.msg.type === 'seal') node.log.seals.push(a.msg)
        this.broadcast(node, a.msg)
        return
      }
      case 'train': {
        node.log.trains.push(a.round)
        this.schedule(node, node.behaviour.trainMs, () => {
          const cid = this.store.put(localDelta(node.index, a.round))
          if (node.behaviour.equivocate === true) {
            const other = this.store.put(localDelta(node.index, a.round, 1))
            this.broadcast(node, { type: 'delta', jobId: this.job.id, round: a.round, baseModelCid: a.baseModelCid, cid: other, samples: 100, bytes: DIM * 4, metrics: { loss: 0.5, accuracy: 0.5 } })
          }
          const accuracy = Math.min(1, 0.5 + 0.1 * a.round + 0.01 * node.index)
          return { kind: 'local-delta-ready', round: a.round, baseModelCid: a.baseModelCid, cid, samples: 100 + 10 * node.index, bytes: DIM * 4, metrics: { loss: 1 / (1 + a.round), accuracy } }
        })
        return
      }
      case 'aggregate': {
        if (node.behaviour.silentAggregator === true) return
        this.schedule(node, 50, () => {
          const lost = this.lost(a.round, a.deltas)
          if (lost.length > 0) return lost
          let next = this.compute(a.baseModelCid, a.deltas)
          if (node.behaviour.wrongSeal === true) next = next.map(v => v + 1)
          const aggregateCid = this.store.put(next)
          return { kind: 'aggregate-computed', round: a.round, attempt: a.attempt, aggregateCid, modelHash: modelHash(next), deltas: a.deltas.map(d => d.cid) }
        })
        return
      }
      case 'verify': {
        const s = a.seal
        this.schedule(node, 50, () => {
          const lost = this.lost(s.round, s.deltas)
          if (lost.length > 0) return [...lost, { kind: 'seal-verified', round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid, ok: false, reason: 'unavailable' }]
          const next = this.compute(s.baseModelCid, s.deltas)
          const ok = modelHash(next) === s.modelHash && this.store.put(next) === s.aggregateCid
          return { kind: 'seal-verified', round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid, ok, reason: ok ? undefined : 'mismatch' }
        })
        return
      }
      case 'model-accepted':
        node.log.accepted.push({ round: a.round, modelHash: a.modelHash, modelCid: a.modelCid })
        return
      case 'penalise':
        node.log.penalties.push({ peerId: a.peerId, reason: a.reason, round: a.round })
        return
      case 'job-finished':
        node.log.finished = { reason: a.reason, round: a.round, modelHash: a.modelHash }
    }
  }
}

/**
 * Every round has one model on every node that accepted it, every node finished on the last one, all honest. `lost`:
 * nodes gone for good (killed or left), which need not finish.
 */
export function verdict (sim: Sim, rounds: number, lost: SimNode[] = []): string | null {
  const byRound = new Map<number, string>()
  for (const n of sim.nodes) {
    for (const a of n.log.accepted) {
      if (byRound.has(a.round) && byRound.get(a.round) !== a.modelHash) return `round ${a.round}: two models accepted`
      byRound.set(a.round, a.modelHash)
    }
  }
  if (byRound.size !== rounds) return `${byRound.size} of ${rounds} rounds accepted`
  const models = new Set(byRound.values())
  if (!sim.nodes.flatMap(n => n.log.seals).filter(s => models.has(s.modelHash)).every(s => sim.honest(s))) return 'a dishonest seal was accepted'
  const last = byRound.get(rounds - 1)
  const stuck = sim.nodes.filter(n => !lost.includes(n) && n.log.finished?.modelHash !== last).map(n => `${n.id} at ${n.machine.view().round}/${n.machine.view().attempt} ${n.machine.view().phase}`)
  return stuck.length === 0 ? null : `not finished: ${stuck.join(', ')}`
}
