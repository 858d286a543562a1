/**
 * The job's one accuracy figure (issue 11, defects 2 and 3): the accepted global model's accuracy, evaluated by every
 * contributor on its held-out split and pooled as the mean weighted by each split's rows, with the per-node figures
 * beside it. A node's tiny split gives a noisy figure; the pooled one is what `status`, `watch` and `plot` show.
 * Pure.
 */

/** One node's evaluation of an accepted model. */
export interface NodeEvaluation { peerId: string, accuracy: number, loss: number, samples: number }

/** The pooled figure over the nodes that reported. */
export interface PooledEvaluation { accuracy: number, loss: number, samples: number, nodes: number, of: number }

/**
 * Pool the evaluations of the seal's contributors (others are left out: a node that trained nothing in the round
 * does not vouch for it); null until one has reported. `of` is the number of contributors.
 */
export function poolEvaluations (evals: NodeEvaluation[], contributors: string[]): PooledEvaluation | null {
  const mine = new Set(contributors)
  const counted = evals.filter(e => mine.has(e.peerId) && e.samples > 0 && Number.isFinite(e.accuracy))
  if (counted.length === 0) return null
  let n = 0; let acc = 0; let loss = 0
  for (const e of counted) { n += e.samples; acc += e.accuracy * e.samples; loss += e.loss * e.samples }
  return { accuracy: acc / n, loss: loss / n, samples: n, nodes: counted.length, of: mine.size }
}

/** Add or replace one peer's evaluation (one per peer and round), kept sorted by peer id. */
export function withEvaluation (evals: NodeEvaluation[] | undefined, e: NodeEvaluation): NodeEvaluation[] {
  return [...(evals ?? []).filter(x => x.peerId !== e.peerId), e].sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
}

/** What the target rule reads of a round's report. */
export interface PooledRound { round: number, pooled?: PooledEvaluation | null }

/**
 * The job's target rule, the only one (issue 11, defect 2): the first round whose pooled accuracy reaches `target`,
 * once every contributor reported its evaluation, or a strict majority did and two later rounds were accepted since
 * (a contributor that died never reports: its absence must not keep a job from ever reaching its target). The job's
 * creator stops the job for the whole mesh (reason `target`) when this returns a round.
 */
export function targetRound<R extends PooledRound> (reports: readonly R[], target: number): R | undefined {
  const last = reports.reduce((m, r) => Math.max(m, r.round), -1)
  return reports.find(r => r.pooled != null && r.pooled.accuracy >= target &&
    (r.pooled.nodes === r.pooled.of || (2 * r.pooled.nodes > r.pooled.of && last >= r.round + 2)))
}
