/**
 * Operator policy: how this node votes on a proposal of a kind, from its own verification of it. Per kind:
 *
 * - `manual`: the node waits for the operator's vote (a proposal nobody approves expires rather than passes); it still
 *   votes no on its own on a proposal that fails verification, which no operator could rightly approve;
 * - `auto`: yes when the proposal verifies, no otherwise;
 * - `auto-threshold`: yes when it verifies and the measured improvement (kind-defined: accuracy gain, loss drop) is at
 *   least `threshold`; no when it verifies but falls short; wait for the operator when nothing was measured.
 *
 * The improvement is a local measurement that only steers this node's own vote; it is never hashed or tallied.
 */

/** A kind's operator policy. */
export type OperatorPolicy =
  | { mode: 'manual' }
  | { mode: 'auto' }
  | { mode: 'auto-threshold', threshold: number }

/** What the kind's validator found about a proposal on this node. */
export interface Assessment {
  /** The payload verified (schema, the kind's rules, a recomputation where the kind has one). */
  valid: boolean
  /** A measured improvement, when the kind measures one. */
  improvement?: number
  /**
   * This node cannot judge yet: it lacks what the proposal refers to (a job whose announcement has not arrived). It
   * waits rather than votes no, and judges again at the next beat.
   */
  pending?: boolean
}

/** The node's automatic verdict, or `wait` for the operator. */
export type PolicyVerdict = 'yes' | 'no' | 'wait'

/** Decide this node's vote on a proposal under `policy`. */
export function policyVerdict (policy: OperatorPolicy, assessment: Assessment): PolicyVerdict {
  if (assessment.pending === true) return 'wait'
  if (!assessment.valid) return 'no'
  switch (policy.mode) {
    case 'manual': return 'wait'
    case 'auto': return 'yes'
    case 'auto-threshold': {
      const m = assessment.improvement
      if (m === undefined || !Number.isFinite(m)) return 'wait'
      return m >= policy.threshold ? 'yes' : 'no'
    }
  }
}
