/** The training subsystem's entries of the node's event map (`/v1/events`). */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../common/events.js'

const JobId = Type.String({ description: 'job id' })
const Num = (description: string): ReturnType<typeof Type.Number> => Type.Number({ description })
const Metric = Type.Union([Type.Number(), Type.Null()])

export const trainingEvents = defineEvents({
  /** A job was created here or announced by a peer. */
  'training.job': Type.Object({ jobId: JobId, dataset: Type.String(), rounds: Type.Integer(), creator: Type.Optional(Type.String()) }),
  /** A dataset was imported. */
  'training.dataset': Type.Object({ name: Type.String(), rows: Type.Integer() }),
  /** A peer was penalised by the round protocol. */
  'training.penalty': Type.Object({ jobId: JobId, peerId: Type.String(), reason: Type.String(), round: Type.Integer() }),
  /** A job finished (its rounds ran out or it reached its target). */
  'training.finished': Type.Object({ jobId: JobId, reason: Type.String(), round: Type.Integer(), modelCid: Type.String() }),
  /** A job was stopped for the whole mesh by its creator (here, or by its signed stop record). */
  'training.stopped': Type.Object({ jobId: JobId, round: Type.Integer(), by: Type.String({ description: 'the creator' }), reason: Type.Optional(Type.String({ description: '`target`: the pooled accuracy reached the job\'s target' })) }),
  /**
   * The job's figure for a round changed: the accepted model's accuracy pooled over the contributors' held-out splits
   * (each contributor's evaluation arrives after the seal, so this follows `training.round` by up to a round).
   * `here`: this node's own evaluation of that model (null if it has none).
   */
  'training.pooled': Type.Object({
    jobId: JobId,
    round: Type.Integer(),
    accuracy: Num('pooled accuracy'),
    loss: Num('pooled loss'),
    samples: Type.Integer({ description: 'held-out rows pooled' }),
    nodes: Type.Integer({ description: 'contributors that reported' }),
    of: Type.Integer({ description: 'contributors of the round' }),
    here: Metric
  }),
  /**
   * A rewarded job's voucher: `sent` by the creator's node to contributor `peerId`, or `received` by the contributor's
   * node (checked: signed by the job's payer). `amount` is FTNS (decimal string) for `round`.
   */
  'training.reward': Type.Object({
    jobId: JobId,
    round: Type.Integer(),
    peerId: Type.String(),
    amount: Type.String({ description: 'FTNS, decimal' }),
    direction: Type.Union([Type.Literal('sent'), Type.Literal('received')])
  }),
  /** A round was sealed and accepted; the report as this node measured it. */
  'training.round': Type.Object({
    jobId: JobId,
    round: Type.Integer(),
    accuracy: Metric,
    loss: Metric,
    f1: Metric,
    precision: Metric,
    recall: Metric,
    participants: Type.Integer(),
    bytesSent: Num('bytes stored for peers'),
    bytesReceived: Num('bytes fetched'),
    durationMs: Num('round duration'),
    modelCid: Type.String(),
    modelHash: Type.String()
  })
})

export type TrainingEvents = EventsOf<typeof trainingEvents>
