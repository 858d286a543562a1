/**
 * `/v1/training/jobs/{id}/model|evaluate|predict`: a job's trained model for use outside the mesh. `model` exports it
 * (`format=tfjs`: a JSON bundle of `model.json`, the base64 `weights.bin` and `meshnode.json`; `format=mnd1`: the raw
 * MND1 tensor file), `evaluate` scores it on labelled data, `predict` classifies raw rows.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { DatasetNameSchema, type TrainingApi } from '../../../training/index.js'
import { errorResponses } from '../schemas.js'
import { JobParams } from './training-view.js'

const ModelQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('tfjs'), Type.Literal('mnd1')], { description: 'tfjs (default): model.json, weights and meshnode.json as JSON; mnd1: the raw tensor file' }))
}, { additionalProperties: false })

const Nullable = <T extends ReturnType<typeof Type.Array> | ReturnType<typeof Type.Object>>(t: T): ReturnType<typeof Type.Union> => Type.Union([t, Type.Null()])

/** `meshnode.json`. */
export const ExportMetaView = Type.Object({
  format: Type.Literal('meshnode-model'),
  version: Type.Literal(1),
  job: Type.String(),
  round: Type.Integer({ minimum: 0, description: 'accepted rounds the model results from' }),
  modelCid: Type.String(),
  modelHash: Type.String({ description: 'sha256 of the float32 little-endian weights' }),
  model: Type.Unknown({ description: 'the job\'s model spec' }),
  features: Type.Integer(),
  inputShape: Type.Array(Type.Integer()),
  classes: Type.Integer(),
  classLabels: Nullable(Type.Array(Type.String())),
  standardization: Nullable(Type.Object({ mean: Type.Array(Type.Number()), scale: Type.Array(Type.Number()) })),
  dataset: Type.String(),
  outputs: Type.Literal('probabilities')
}, { description: 'What an exported model is and how to feed it' })

const ExportView = Type.Object({
  'model.json': Type.Unknown({ description: 'the tfjs layers model (tf.loadLayersModel reads it with weights.bin beside it)' }),
  'weights.bin': Type.String({ description: 'base64 of the weights file' }),
  'meshnode.json': ExportMetaView
})

const Metric = Type.Union([Type.Number(), Type.Null()])
const finite = (v: number): number | null => Number.isFinite(v) ? v : null

const EvaluateBody = Type.Object({ dataset: Type.Optional(DatasetNameSchema) }, { additionalProperties: false })
const EvaluationView = Type.Object({
  job: Type.String(),
  round: Type.Integer(),
  modelCid: Type.String(),
  dataset: Type.String(),
  rows: Type.Integer(),
  accuracy: Metric,
  loss: Metric,
  precision: Metric,
  recall: Metric,
  f1: Metric,
  confusion: Type.Array(Type.Array(Type.Integer()), { description: 'confusion[true][predicted]' }),
  classLabels: Nullable(Type.Array(Type.String()))
})

const MAX_PREDICT_ROWS = 100_000
const PredictBody = Type.Object({
  rows: Type.Array(Type.Array(Type.Number(), { minItems: 1, maxItems: 1 << 20 }), { minItems: 1, maxItems: MAX_PREDICT_ROWS, description: 'raw feature rows (standardised here when the data was)' })
}, { additionalProperties: false })
const PredictView = Type.Object({
  round: Type.Integer(),
  modelCid: Type.String(),
  predictions: Type.Array(Type.Object({ class: Type.Integer(), label: Type.String(), probabilities: Type.Array(Type.Number()) }))
})

/** The model routes on `app`. */
export function trainingModelRoutes (app: FastifyInstance, training: TrainingApi): void {
  app.get('/v1/training/jobs/:id/model', {
    schema: {
      tags: ['training'],
      summary: 'Export the job\'s current model: tfjs layers files and meshnode.json, or the raw MND1 tensor file',
      params: JobParams,
      querystring: ModelQuery,
      response: {
        200: {
          description: 'tfjs layers files (JSON), or with format=mnd1 the raw MND1 tensor file',
          content: {
            'application/json': { schema: ExportView },
            'application/vnd.meshnode.weights': { schema: { type: 'string', format: 'binary' } }
          }
        },
        ...errorResponses
      }
    }
  }, async (req, reply) => {
    const { id } = req.params as Static<typeof JobParams>
    const q = req.query as Static<typeof ModelQuery>
    const exp = await training.exportModel(id)
    if (q.format === 'mnd1') {
      return await reply.type('application/vnd.meshnode.weights').header('content-disposition', 'attachment; filename="model.mnd1"').send(Buffer.from(exp.raw))
    }
    return { 'model.json': exp.layers.modelJson, 'weights.bin': Buffer.from(exp.layers.weights).toString('base64'), 'meshnode.json': exp.meta }
  })

  app.post('/v1/training/jobs/:id/evaluate', {
    schema: {
      tags: ['training'],
      summary: 'Evaluate the current model: accuracy, loss, macro P/R/F1 and the confusion matrix',
      params: JobParams,
      body: EvaluateBody,
      response: { 200: EvaluationView, ...errorResponses }
    }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    const e = await training.evaluateJob(id, (req.body ?? {}) as Static<typeof EvaluateBody>)
    return { ...e, accuracy: finite(e.accuracy), loss: finite(e.loss), precision: finite(e.precision), recall: finite(e.recall), f1: finite(e.f1) }
  })

  app.post('/v1/training/jobs/:id/predict', {
    bodyLimit: 64 * 1024 * 1024,
    schema: {
      tags: ['training'],
      summary: 'Predict a class (with probabilities) for each raw feature row',
      params: JobParams,
      body: PredictBody,
      response: { 200: PredictView, ...errorResponses }
    }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    return await training.predict(id, (req.body as Static<typeof PredictBody>).rows)
  })
}
