/**
 * The market's durable state beside its indexer's keys (the node's `market` sublevel): one record per compute job
 * (`compute-job/<lockId>`, as buyer or provider) and the fill history (`fill/<seq>`). Every transition is one atomic
 * batch, and a fill that starts jobs is written in the same batch as their first records, so a crash never leaves a
 * fill without its jobs or a job without its fill. Records are checked against their schema when read back; one that
 * fails is skipped (logged by the caller), never trusted.
 */
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { ChainKv, KvOp } from '../../chain/index.js'
import { ComputeJobView, FillView } from './views.js'

const JOB = 'compute-job/'
const FILL = 'fill/'
/** The history keeps this many fills; older ones are deleted in the batch that adds a new one. */
export const MAX_FILLS_KEPT = 1000

/** A compute job as persisted: its view plus what the node needs to resume it (amounts as decimal strings). */
export const ComputeJobRecord = Type.Composite([ComputeJobView, Type.Object({
  /** The lock's salt and amount, and its expiry (chain seconds). */
  salt: Type.String({ pattern: '^[0-9]+$' }),
  amount: Type.String({ pattern: '^[0-9]+$' }),
  expiry: Type.Integer({ minimum: 0 }),
  /** The other side's peer id (`peer` in the view). */
  peerId: Type.String(),
  /** Provider: metered run time at the last transition (a restart resumes from it: downtime is not billed). */
  runMs: Type.Integer({ minimum: 0 }),
  /** Provider: the end the meter decided while it redeemed (a restart finishes it). */
  ending: Type.Union([Type.Literal('done'), Type.Literal('stopped'), Type.Null()]),
  /** Buyer: the job request while the start is not confirmed (a restart asks again). */
  job: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])
})])
export type ComputeJobRecord = Static<typeof ComputeJobRecord>

/** A fill as persisted: its view and its place in the history. */
export const FillRecord = Type.Object({ seq: Type.Integer({ minimum: 0 }), fill: FillView })
export type FillRecord = Static<typeof FillRecord>

const fillKey = (seq: number): string => `${FILL}${String(seq).padStart(12, '0')}`

/** The market's job and fill records over its store. */
export class MarketStore {
  private seq = 0
  private readonly seqOf = new Map<string, number>()
  private oldest = 0

  constructor (private readonly kv: ChainKv) {}

  /** Every job record that passes its schema; `bad` counts the others. */
  async jobs (): Promise<{ jobs: ComputeJobRecord[], bad: number }> {
    const out: ComputeJobRecord[] = []
    let bad = 0
    for (const [, v] of await this.kv.range(JOB, `${JOB}\uffff`)) {
      if (Value.Check(ComputeJobRecord, v)) out.push(v)
      else bad++
    }
    return { jobs: out, bad }
  }

  /** The fill history, oldest first (and the sequence set up for new fills). */
  async fills (): Promise<FillView[]> {
    const out: FillView[] = []
    for (const [, v] of await this.kv.range(FILL, `${FILL}\uffff`)) {
      if (!Value.Check(FillRecord, v)) continue
      out.push(v.fill)
      this.seqOf.set(v.fill.id, v.seq)
      this.seq = Math.max(this.seq, v.seq + 1)
    }
    this.oldest = out.length > 0 ? (this.seqOf.get(out[0].id) ?? 0) : this.seq
    return out
  }

  /** The write of a job record (for a batch). */
  jobOp (j: ComputeJobRecord): KvOp {
    return { type: 'put', key: `${JOB}${j.lockId}`, value: j }
  }

  /** The writes of a fill (new, or a new state of one already kept), with the deletes that cap the history. */
  fillOps (f: FillView): KvOp[] {
    let seq = this.seqOf.get(f.id)
    const ops: KvOp[] = []
    if (seq === undefined) {
      seq = this.seq++
      this.seqOf.set(f.id, seq)
      while (seq - this.oldest >= MAX_FILLS_KEPT) ops.push({ type: 'del', key: fillKey(this.oldest++) })
    }
    ops.push({ type: 'put', key: fillKey(seq), value: { seq, fill: f } satisfies FillRecord })
    return ops
  }

  /** Applies `ops` in one atomic batch. */
  async write (ops: KvOp[]): Promise<void> {
    await this.kv.batch(ops)
  }
}
