/** A hand-driven JobMachine for table tests: one node, messages crafted by the test, a settable clock. */
import { fakeCid, simJob, Store, T0 } from './sim.js'
import { JobMachine, sealMetrics, type JobAction, type JobEvent } from '../../../../src/training/round/index.js'
import { createJobSpec, type DeltaAnnounce, type JobSpec, type JobSpecInput, type RoundSeal, type SealVote, type TrainingMessage } from '../../../../src/training/protocol/index.js'
import type { SealAcceptance } from '../../../../src/consensus/core/index.js'

export const store = new Store()
export const JOB: JobSpec = simJob(store)
export const M0 = JOB.initialModelCid
export const PEERS = ['p0', 'p1', 'p2', 'p3', 'p4']
export const cid = (s: string): string => fakeCid(new TextEncoder().encode(s))
export const dcid = (peer: string, round = 0, salt = ''): string => cid(`${peer}/${round}${salt}`)
export { T0 }

/** A job like JOB with some fields replaced (and its own id). */
export function jobWith (over: Partial<JobSpecInput>): JobSpec {
  const { id: _id, ...rest } = JOB
  return createJobSpec({ ...rest, ...over })
}

export function deltaMsg (job: JobSpec, peer: string, round = 0, base = M0, over: Partial<DeltaAnnounce> = {}): DeltaAnnounce {
  return { type: 'delta', jobId: job.id, round, baseModelCid: base, cid: dcid(peer, round), samples: 100, bytes: 64, metrics: { loss: 0.5, accuracy: 0.6 }, ...over }
}

/** A seal over the given peers' default deltas, consistent with what `deltaMsg` announced. */
export function sealOf (job: JobSpec, peers: string[], over: Partial<RoundSeal> = {}): RoundSeal {
  const round = over.round ?? 0
  const ds = peers.map(p => deltaMsg(job, p, round, over.baseModelCid ?? M0))
  return {
    type: 'seal',
    jobId: job.id,
    round,
    attempt: 0,
    baseModelCid: M0,
    deltas: ds.map(d => ({ cid: d.cid, peerId: peers[ds.indexOf(d)], samples: d.samples })).sort((a, b) => (a.cid < b.cid ? -1 : 1)),
    aggregateCid: cid(`agg/${round}`),
    modelHash: 'cd'.repeat(32),
    metrics: sealMetrics(ds),
    ...over
  }
}

export function voteMsg (seal: RoundSeal, approve: boolean): SealVote {
  return { type: 'vote', jobId: seal.jobId, round: seal.round, attempt: seal.attempt, aggregateCid: seal.aggregateCid, approve }
}

export class Driver {
  readonly m: JobMachine
  now = T0
  private seq = T0

  constructor (readonly self: string, readonly job: JobSpec = JOB, acceptance?: SealAcceptance) {
    this.m = new JobMachine({ self, job, acceptance })
  }

  send (ev: JobEvent): JobAction[] {
    return this.m.handle(ev, this.now)
  }

  msg (from: string, msg: TrainingMessage, seq = ++this.seq): JobAction[] {
    return this.send({ kind: 'message', from, seq, msg })
  }

  tick (ms = 0): JobAction[] {
    this.now += ms
    return this.send({ kind: 'tick' })
  }

  /** The others join (in order), then we do if `joinSelf`. */
  setup (joinSelf = true, peers = PEERS): JobAction[] {
    const out: JobAction[] = []
    for (const p of peers) if (p !== this.self) out.push(...this.msg(p, { type: 'join', jobId: this.job.id, samples: 100 }))
    if (joinSelf) out.push(...this.send({ kind: 'join', samples: 100 }))
    return out
  }

  /** Our own training for `round` finishes with the default delta. */
  ownDelta (round = 0, base = M0): JobAction[] {
    const d = deltaMsg(this.job, this.self, round, base)
    return this.send({ kind: 'local-delta-ready', round, baseModelCid: base, cid: d.cid, samples: d.samples, bytes: d.bytes, metrics: d.metrics })
  }

  /** Deltas of `peers` (ours through local-delta-ready), each `gapMs` after the previous. */
  deltas (peers: string[], round = 0, base = M0, gapMs = 0): JobAction[] {
    const out: JobAction[] = []
    for (const p of peers) {
      this.now += gapMs
      out.push(...(p === this.self ? this.ownDelta(round, base) : this.msg(p, deltaMsg(this.job, p, round, base))))
    }
    return out
  }

  votes (seal: RoundSeal, voters: string[], approve = true): JobAction[] {
    return voters.flatMap(v => this.msg(v, voteMsg(seal, approve)))
  }
}

/** The actions of one kind. */
export function only<K extends JobAction['kind']> (actions: JobAction[], kind: K): Array<Extract<JobAction, { kind: K }>> {
  return actions.filter((a): a is Extract<JobAction, { kind: K }> => a.kind === kind)
}

/** The messages published, by type. */
export function published<T extends TrainingMessage['type']> (actions: JobAction[], type: T): Array<Extract<TrainingMessage, { type: T }>> {
  return only(actions, 'publish').map(a => a.msg).filter((m): m is Extract<TrainingMessage, { type: T }> => m.type === type)
}
