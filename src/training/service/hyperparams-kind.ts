/**
 * The `hyperparams` proposal kind, which training registers with consensus (consensus imports nothing of training):
 * an accepted proposal changes a job's learning rate, local epochs or batch size within the job's bounds from a
 * round on, identically on every node; the job's creator raises a rollback proposal when the first round trained with
 * the new values lost more accuracy than the configured margin.
 *
 * The seam with the round machine is a per-job table of executed changes (persisted in the state store, keyed by job,
 * so a change executed before the job's announcement arrived still holds): local training reads
 * `effectiveHyperparams(spec, changes, round)` for each round it trains (RoundWork's `hyperparams` hook). Only local
 * training reads these values, never aggregation or verification, so a round's seal is checked as before.
 */
import type { ProposalKind } from '../../consensus/index.js'
import type { Logger } from '../../common/logger.js'
import {
  HyperparamsPayloadSchema, effectiveHyperparams, hyperparamBoundsOf, hyperparamsIssue, rollbackChanges, rollbackFromRound,
  rollbackStep, rollbackVerdict, roundAhead, sortChanges, type HyperparamChange, type Hyperparams, type Range
} from '../protocol/hyperparams.js'
import type { JobSpec } from '../protocol/job-schema.js'
import type { RoundReport } from './api-types.js'
import type { TrainingState } from './components.js'

/** The proposal kind's name. */
export const HYPERPARAMS_KIND = 'hyperparams'
const SUB = 'training-hyperparams'

/** What consensus offers training: kind registration and proposing (the node passes its consensus service). */
export interface TrainingProposals {
  registerKind: (kind: ProposalKind) => () => void
  create: (req: { kind: string, payload: unknown, ttlSeconds?: number }) => Promise<{ id: string }>
  /** Proposals known here (seal voting reads back its `model-update` proposals at start). */
  list: (q: { kind?: string }) => ReadonlyArray<{ id: string, payload: unknown, status: string }>
  /** Vote as this node (seal voting casts the round machine's verdicts). */
  vote: (id: string, choice: 'yes' | 'no') => Promise<unknown>
  /** Sync from peers now (seal voting, when it sees this node is behind on certificates). */
  catchUp?: () => Promise<void>
}

/** A job's hyperparameters as its view shows them. */
export interface HyperparamsView {
  /** What the round in progress trains with. */
  current: Hyperparams
  /** What holds once every executed change has taken effect. */
  latest: Hyperparams
  bounds: Record<keyof Hyperparams, Range>
  /** The executed changes, in the order they apply. */
  changes: Array<Omit<HyperparamChange, 'judged' | 'rollback'>>
}

/** The executed changes of every job, persisted. */
export class HyperparamTable {
  private readonly byJob = new Map<string, HyperparamChange[]>()

  constructor (private readonly state: TrainingState) {}

  private get store (): ReturnType<typeof this.state.sublevel<HyperparamChange[]>> { return this.state.sublevel<HyperparamChange[]>(SUB) }

  async load (): Promise<void> {
    for await (const [jobId, changes] of this.store.iterator()) this.byJob.set(jobId, changes)
  }

  changes (jobId: string): HyperparamChange[] { return this.byJob.get(jobId) ?? [] }

  /** Record an executed change (idempotent by proposal id); false when it was already there. */
  async apply (jobId: string, change: HyperparamChange): Promise<boolean> {
    const list = this.changes(jobId)
    if (list.some(c => c.proposalId === change.proposalId)) return false
    const next = sortChanges([...list, change])
    this.byJob.set(jobId, next)
    await this.store.put(jobId, next)
    return true
  }

  /** Note the rollback watch's bookkeeping on a change (`judged`, the rollback raised last). */
  async mark (jobId: string, proposalId: string, patch: Pick<HyperparamChange, 'judged' | 'rollback'>): Promise<void> {
    const next = this.changes(jobId).map(c => c.proposalId === proposalId ? { ...c, ...patch } : c)
    this.byJob.set(jobId, next)
    await this.store.put(jobId, next)
  }

  effective (spec: JobSpec, round: number): Hyperparams { return effectiveHyperparams(spec, this.changes(spec.id), round) }

  view (spec: JobSpec, round: number): HyperparamsView {
    const changes = this.changes(spec.id)
    return {
      current: this.effective(spec, round),
      latest: effectiveHyperparams(spec, changes, Number.MAX_SAFE_INTEGER),
      bounds: hyperparamBoundsOf(spec),
      changes: changes.map(({ judged: _judged, rollback: _rollback, ...c }) => c)
    }
  }
}

/** What the kind reads of the node's jobs. */
export interface HyperparamsHost {
  table: HyperparamTable
  /** The job's spec, the round it is in here, and whether it still trains (undefined when unknown here). */
  job: (id: string) => { spec: JobSpec, round: number, active: boolean } | undefined
  logger: Logger
}

/** The `hyperparams` kind (default policy `manual`: an operator approves each change, or configures `auto`). */
export function hyperparamsKind (host: HyperparamsHost): ProposalKind<typeof HyperparamsPayloadSchema> {
  return {
    kind: HYPERPARAMS_KIND,
    schema: HyperparamsPayloadSchema,
    // every node votes by what it verifies: the job is known and still trains, the values within its bounds, and the
    // first round not already under way; a job not announced here yet is judged again at the next beat
    assess (p) {
      const job = host.job(p.jobId)
      if (job == null) return { valid: false, pending: true }
      if (!job.active) return { valid: false }
      if (hyperparamsIssue(job.spec, p.changes) !== undefined) return { valid: false }
      if (p.fromRound != null && p.fromRound <= job.round) return { valid: false }
      return { valid: true }
    },
    // the proposer pins the first round, the round after the one in progress here, into the signed payload: every node
    // then records the same round, whatever round each is in when it executes the proposal
    prepare (p) {
      const job = p.fromRound == null ? host.job(p.jobId) : undefined
      return job == null ? p : { ...p, fromRound: roundAhead(job.round) }
    },
    async execute (p, ctx) {
      // without `fromRound` (proposed by a node that did not know the job) the change holds from the round after the
      // one in progress here
      const fromRound = p.fromRound ?? roundAhead(host.job(p.jobId)?.round ?? 0)
      const applied = await host.table.apply(p.jobId, { proposalId: ctx.id, fromRound, changes: p.changes, ...(p.rollbackOf != null ? { rollbackOf: p.rollbackOf } : {}) })
      if (applied) host.logger.info({ job: p.jobId, proposal: ctx.id, fromRound, changes: p.changes }, 'hyperparameters changed by consensus')
    },
    defaultPolicy: { mode: 'manual' }
  }
}

/**
 * The job creator's rollback watch: for each of its jobs' executed changes not yet judged, once the change's first
 * round and the round before it are reported, raise a rollback proposal when accuracy dropped by more than `margin`,
 * from a round pinned ahead of the one in progress; raise it again (up to ROLLBACK_TRIES in all) when one is rejected
 * or expires while the job still trains (`rollbackStep`). Only the creator raises them, so the mesh sees one open
 * rollback proposal per change at a time. Returns how many it raised.
 */
export async function raiseRollbacks (o: {
  table: HyperparamTable
  /** The node's jobs, with the round each is in here and whether it still trains. */
  jobs: Array<{ spec: JobSpec, reports: readonly RoundReport[], round: number, active: boolean }>
  self: string
  margin: number
  proposals: Pick<TrainingProposals, 'create' | 'list'>
  logger: Logger
}): Promise<number> {
  let raised = 0
  let statuses: Map<string, string> | undefined
  const statusOf = (id: string): string | undefined => {
    statuses ??= new Map(o.proposals.list({ kind: HYPERPARAMS_KIND }).map(p => [p.id, p.status]))
    return statuses.get(id)
  }
  for (const job of o.jobs) {
    if (job.spec.creator !== o.self) continue
    const all = o.table.changes(job.spec.id)
    for (const change of all) {
      if (change.judged === true) continue
      const verdict = change.rollbackOf == null ? rollbackVerdict(change, job.reports, o.margin) : undefined
      const status = change.rollback != null ? statusOf(change.rollback.id) : undefined
      const step = rollbackStep({ change, due: verdict?.due, status, active: job.active })
      if (step === 'wait') continue
      if (step === 'done') { await o.table.mark(job.spec.id, change.proposalId, { judged: true }); continue }
      // the first round pinned in the payload: every node records the same one (see rollbackFromRound)
      const payload = { jobId: job.spec.id, changes: rollbackChanges(job.spec, all, change), fromRound: rollbackFromRound(job.round), rollbackOf: change.proposalId }
      const tries = (change.rollback?.tries ?? 0) + 1
      try {
        const { id } = await o.proposals.create({ kind: HYPERPARAMS_KIND, payload })
        o.logger.info({ job: job.spec.id, change: change.proposalId, rollback: id, tries, before: verdict?.before, after: verdict?.after }, 'accuracy dropped after a hyperparameter change: rollback proposed')
        await o.table.mark(job.spec.id, change.proposalId, { rollback: { id, tries } })
        raised++
      } catch (err) {
        // judged all the same: an operator can still propose the rollback by hand
        o.logger.warn({ job: job.spec.id, change: change.proposalId, err: (err as Error).message }, 'proposing a hyperparameter rollback failed')
        await o.table.mark(job.spec.id, change.proposalId, { judged: true })
      }
    }
  }
  return raised
}
