/**
 * The training routes' response views: a job as this node sees it (its announced spec in the job contract's own
 * schema, its status and per-round reports) and a dataset. Metrics that were not finite (a diverged round) render
 * as null: JSON has no NaN.
 */
import { Type, type Static, type TNull, type TNumber, type TUnion } from '@sinclair/typebox'
import { JobIdSchema, JobSpecSchema, DatasetNameSchema, type DatasetInfo, type JobView, type RoundReport } from '../../../training/index.js'

/** A metric that is null when it was not finite. */
const Metric = (description: string): TUnion<[TNumber, TNull]> => Type.Union([Type.Number(), Type.Null()], { description })

/** One sealed and accepted round as this node measured it. */
export const RoundReportView = Type.Object({
  round: Type.Integer({ minimum: 0 }),
  accuracy: Metric('on this node\'s held-out split, 0..1'),
  loss: Metric('mean cross-entropy on the held-out split'),
  f1: Metric('macro F1'),
  precision: Metric('macro precision'),
  recall: Metric('macro recall'),
  participants: Type.Integer({ minimum: 0, description: 'deltas in the seal' }),
  bytesSent: Type.Number({ minimum: 0 }),
  bytesReceived: Type.Number({ minimum: 0 }),
  durationMs: Type.Number({ minimum: 0 }),
  modelCid: Type.String({ description: 'the accepted aggregate' }),
  modelHash: Type.String(),
  attempt: Type.Optional(Type.Integer({ minimum: 0, description: 'the sealing attempt whose seal was accepted' })),
  aggregator: Type.Optional(Type.String({ description: 'who published the accepted seal (empty when a restart lost it)' })),
  contributors: Type.Optional(Type.Array(Type.String(), { description: 'the peers whose deltas the seal aggregated' })),
  pooled: Type.Optional(Type.Union([Type.Object({
    accuracy: Type.Number(),
    loss: Type.Number(),
    samples: Type.Integer({ description: 'held-out rows pooled' }),
    nodes: Type.Integer({ description: 'contributors whose evaluation arrived' }),
    of: Type.Integer({ description: 'contributors of the seal' })
  }), Type.Null()], { description: 'the job\'s accuracy figure: the accepted model on the contributors\' held-out splits, weighted by rows' })),
  evaluations: Type.Optional(Type.Array(Type.Object({ peerId: Type.String(), accuracy: Type.Number(), loss: Type.Number(), samples: Type.Integer() }), { description: 'each contributor\'s evaluation of the accepted model' })),
  payouts: Type.Optional(Type.Array(Type.Object({ peerId: Type.String(), wei: Type.String(), amount: Type.String({ description: 'FTNS' }) }), { description: 'a rewarded job: what each contributor earned in this round (pro rata to its samples in the seal)' }))
}, { description: 'One sealed and accepted round as this node measured it' })

/** A rewarded job's reward as this node sees it. */
export const RewardView = Type.Object({
  total: Type.String({ description: 'FTNS locked by the creator for the whole job' }),
  payer: Type.String({ description: 'the creator\'s chain wallet' }),
  vouchers: Type.Array(Type.Object({
    round: Type.Integer({ minimum: 0 }),
    peerId: Type.String(),
    amount: Type.String({ description: 'FTNS' }),
    wei: Type.String(),
    direction: Type.Union([Type.Literal('sent'), Type.Literal('received')])
  }), { description: 'vouchers this node sent (creator) or received (contributor)' })
}, { description: 'the job pays its contributors in FTNS' })

const HyperparamsSchema = Type.Object({ learningRate: Type.Number(), localEpochs: Type.Integer(), batchSize: Type.Integer() })
const RangeSchema = Type.Object({ min: Type.Number(), max: Type.Number() })
/** A job's hyperparameters: in force now, after every accepted change, their bounds, and the accepted changes. */
const HyperparamsViewSchema = Type.Object({
  current: HyperparamsSchema,
  latest: HyperparamsSchema,
  bounds: Type.Object({ learningRate: RangeSchema, localEpochs: RangeSchema, batchSize: RangeSchema }),
  changes: Type.Array(Type.Object({
    proposalId: Type.String(),
    fromRound: Type.Integer({ minimum: 0 }),
    changes: Type.Object({ learningRate: Type.Optional(Type.Number()), localEpochs: Type.Optional(Type.Integer()), batchSize: Type.Optional(Type.Integer()) }),
    rollbackOf: Type.Optional(Type.String())
  }), { description: 'accepted hyperparams proposals, in the order they apply' })
}, { description: 'hyperparameters, changed by accepted `hyperparams` proposals from a round on' })

/** `GET /v1/training/jobs/{id}`. */
export const JobViewSchema = Type.Object({
  id: JobIdSchema,
  status: Type.Union([Type.Literal('announced'), Type.Literal('joined'), Type.Literal('running'), Type.Literal('finished'), Type.Literal('left'), Type.Literal('stopped')]),
  round: Type.Integer({ minimum: 0, description: 'the round being trained now (= accepted rounds)' }),
  modelCid: Type.String({ description: 'the current global model' }),
  modelHash: Type.Union([Type.String(), Type.Null()]),
  phase: Type.Union([Type.Literal('waiting'), Type.Literal('collecting'), Type.Literal('sealing'), Type.Literal('finished')]),
  participants: Type.Array(Type.String(), { description: 'peer ids taking part' }),
  attempt: Type.Integer({ minimum: 0, description: 'the sealing attempt of the current round (0 unless an aggregator failed)' }),
  aggregator: Type.Union([Type.String(), Type.Null()], { description: 'who seals the current attempt in this node\'s view' }),
  joined: Type.Boolean({ description: 'this node takes part' }),
  finishedReason: Type.Union([Type.Literal('rounds'), Type.Literal('target'), Type.Null()]),
  spec: JobSpecSchema,
  rounds: Type.Array(RoundReportView),
  hyperparams: Type.Optional(HyperparamsViewSchema),
  reward: Type.Optional(RewardView)
}, { description: 'A training job as this node sees it' })

/** A dataset this node can train on. */
export const DatasetInfoView = Type.Object({
  name: Type.String(),
  rows: Type.Integer({ minimum: 0 }),
  features: Type.Integer({ minimum: 0 }),
  classes: Type.Integer({ minimum: 0 }),
  builtin: Type.Boolean(),
  labels: Type.Optional(Type.Array(Type.String(), { description: 'class names by class index, when the file named its classes' })),
  standardized: Type.Optional(Type.Boolean({ description: 'features were standardised at import (mean and scale stored)' })),
  warnings: Type.Optional(Type.Array(Type.String(), { description: 'import: what may keep the dataset from training well' }))
}, { description: 'A dataset this node can train on' })

/** Path parameters of the job routes. */
export const JobParams = Type.Object({ id: JobIdSchema })
/** Path parameters of a dataset route. */
export const DatasetParams = Type.Object({ name: DatasetNameSchema })

// compile-time: the views can render everything the service returns
const _viewFits = (v: JobView): Static<typeof JobViewSchema> => v
const _datasetFits = (d: DatasetInfo): Static<typeof DatasetInfoView> => d
void [_viewFits, _datasetFits]

const finite = (v: number | null): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null

/** The response body of a job: non-finite metrics become null (the serializer would refuse NaN). */
export function viewOf (job: JobView): Static<typeof JobViewSchema> {
  return {
    ...job,
    rounds: job.rounds.map((r: RoundReport) => ({ ...r, accuracy: finite(r.accuracy), loss: finite(r.loss), f1: finite(r.f1), precision: finite(r.precision), recall: finite(r.recall) }))
  }
}
