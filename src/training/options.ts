/** The training subsystem's options: schema and defaults. `src/node/options.ts` composes them under `training`. */
import { Type, type Static } from '@sinclair/typebox'
import { ADVERSARY_KINDS } from './service/adversary.js'
import { SealVotingSchema } from './protocol/job-schema.js'

export const TrainingOptionsSchema = Type.Object({
  /** How often a job's creator re-announces it while it runs (peers that joined the mesh later learn it). */
  announceIntervalMs: Type.Integer({ minimum: 1000 }),
  /**
   * Robustness-test knob, never for real nodes: makes this node publish a Byzantine delta (see
   * src/training/service/adversary.ts), e.g. 'sign-flip' = -adversaryScale x its honest delta.
   */
  adversary: Type.Union([Type.Literal('none'), ...ADVERSARY_KINDS.map(k => Type.Literal(k))]),
  adversaryScale: Type.Number({ minimum: 0 }),
  /**
   * A job's creator proposes to roll back an accepted hyperparameter change when the first round trained with it
   * lost more than this much accuracy (absolute, 0..1) against the round before.
   */
  hyperparamsRollbackMargin: Type.Number({ minimum: 0, maximum: 1 }),
  /**
   * Who accepts a round's seal in the jobs this node creates (written into the job spec, so every node of a job
   * agrees), and in jobs whose spec names none: `consensus` (the default), a QC of a `model-update` proposal under the
   * epoch's weights restricted to the round's electorate (service/seal-voting.ts), so accepted work enters the epoch
   * chain and earns reputation; `majority`, a strict majority of the round's electorate approving it on the training
   * topic (no QC, so the work earns nothing).
   */
  sealVoting: SealVotingSchema
}, { additionalProperties: false })

export type TrainingOptions = Static<typeof TrainingOptionsSchema>

export const defaultTrainingOptions: TrainingOptions = {
  announceIntervalMs: 10_000,
  adversary: 'none',
  adversaryScale: 10,
  hyperparamsRollbackMargin: 0.05,
  sealVoting: 'consensus'
}
