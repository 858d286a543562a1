/**
 * Pruning the state store: once per new epoch head, the pure rule (core/prune.ts) picks what to forget from the
 * proposals held here, the entries drop it in memory, and one batch deletes it from Level. What the epoch chain and
 * catch-up need (epoch proposals and their QCs, listed proposals with their QCs and listed yes votes, evidence) stays.
 */
import { planPrune, type PrunePlan, type PruneProposal } from '../core/prune.js'
import { EPOCH_KIND } from './epochs.js'
import type { Entry } from './entry.js'
import type { ConsensusComponents, ConsensusInit, ConsensusService } from './service.js'
import { dels, type ConsensusOp } from './store.js'

/** Epochs of settled records kept when `consensus.retainEpochs` is absent. */
export const DEFAULT_RETAIN_EPOCHS = 64

/** The rule's view of an entry. */
export function pruneView (e: Entry): PruneProposal {
  return {
    id: e.id,
    chainKind: e.proposal.kind === EPOCH_KIND,
    status: e.status,
    executed: e.executed,
    epoch: e.epoch,
    snapshot: e.proposal.snapshot,
    expiresAt: e.proposal.expiresAt,
    hasQc: e.qc != null,
    listedVoters: e.epoch != null ? e.qcVoters : undefined,
    votes: [...e.votes.values()].flat().map(v => ({ voter: v.voter, seq: v.seq, choice: v.choice })),
    vetoes: [...e.vetoes.keys()]
  }
}

/** What the pruner uses of the service. */
export interface PruneHost extends Pick<ConsensusService, 'chain' | 'write'> {
  init: Pick<ConsensusInit, 'retainEpochs' | 'recordMaxAgeMs' | 'recordMaxSkewMs'>
  c: Pick<ConsensusComponents, 'clock' | 'logger' | 'metrics'>
}

/** Prunes one service's records (see the module comment). */
export class Pruner {
  private lastHead = -1

  constructor (private readonly s: PruneHost, private readonly entries: Map<string, Entry>) {}

  /** Prune when the chain's head moved since the last run (the service's beat calls it). */
  async maybePrune (): Promise<PrunePlan | undefined> {
    if (this.s.chain.epoch === this.lastHead) return undefined
    this.lastHead = this.s.chain.epoch
    return await this.prune()
  }

  /** Forget what the rule picks now: in memory first (synchronously), then one atomic delete batch. */
  async prune (): Promise<PrunePlan> {
    const { init } = this.s
    const plan = planPrune({
      head: this.s.chain.epoch,
      retainEpochs: init.retainEpochs ?? DEFAULT_RETAIN_EPOCHS,
      now: this.s.c.clock.now(),
      closedForMs: init.recordMaxAgeMs + init.recordMaxSkewMs,
      proposals: [...this.entries.values()].map(pruneView)
    })
    const batch: ConsensusOp[] = []
    let votes = 0
    for (const id of plan.proposals) {
      const e = this.entries.get(id)
      if (e == null) continue
      this.entries.delete(id)
      batch.push(...dels.proposal(id))
      for (const v of [...[...e.votes.values()].flat(), ...e.prevotes.values()]) { batch.push(dels.vote(id, v.voter, v.seq)); votes++ }
      for (const g of e.vetoes.keys()) batch.push(dels.veto(id, g))
    }
    for (const v of plan.votes) {
      const e = this.entries.get(v.id)
      const list = e?.votes.get(v.voter)
      if (e == null || list == null) continue
      const rest = list.filter(x => x.seq !== v.seq)
      if (rest.length === 0) e.votes.delete(v.voter)
      else e.votes.set(v.voter, rest)
      batch.push(dels.vote(v.id, v.voter, v.seq))
      votes++
    }
    for (const x of plan.vetoes) {
      if (this.entries.get(x.id)?.vetoes.delete(x.guardian) === true) batch.push(dels.veto(x.id, x.guardian))
    }
    if (batch.length === 0) return plan
    await this.s.write(batch)
    const m = this.s.c.metrics?.pruned
    m?.inc({ record: 'proposal' }, plan.proposals.length)
    m?.inc({ record: 'vote' }, votes)
    m?.inc({ record: 'veto' }, plan.vetoes.length)
    this.s.c.logger.debug({ head: this.s.chain.epoch, proposals: plan.proposals.length, votes, vetoes: plan.vetoes.length }, 'consensus records pruned')
    return plan
  }
}
