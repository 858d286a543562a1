/**
 * `/v1/training/datasets*`: import a dataset (CSV or JSON lines sent as a text body, up to 64 MiB) and list the
 * datasets this node can train on.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { MAX_DATASET_UPLOAD_BYTES, type TrainingApi } from '../../../training/index.js'
import { ApiError } from '../errors.js'
import { ErrorBody, errorResponses } from '../schemas.js'
import { DatasetInfoView, DatasetParams } from './training-view.js'

const ImportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { description: 'default: from the content type (application/x-ndjson: jsonl, else csv)' })),
  labelColumn: Type.Optional(Type.String({ pattern: '^(first|last|[0-9]{1,5})$', description: 'csv: first, last (default) or a 0-based column index' })),
  header: Type.Optional(Type.Boolean({ description: 'csv: the first line names the columns (default: detected)' })),
  labels: Type.Optional(Type.String({ minLength: 1, maxLength: 600_000, description: 'class names in class-index order, comma-separated (default: indices, or names sorted)' })),
  standardize: Type.Optional(Type.Boolean({ description: 'standardise each feature to mean 0, scale 1; the statistics are stored and applied at predict time' }))
}, { additionalProperties: false })

function parseLabelColumn (v: string | undefined): 'first' | 'last' | number | undefined {
  if (v === undefined || v === 'first' || v === 'last') return v
  return Number(v)
}

/**
 * The dataset routes on `app`, with the text body parsers they need. Registered in the training plugin's scope: the
 * job routes share it, so a text body sent to them is a validation error (400), not an unknown media type.
 */
export function trainingDatasetRoutes (app: FastifyInstance, training: TrainingApi): void {
  app.addContentTypeParser(['text/csv', 'application/x-ndjson', 'text/plain'], { parseAs: 'string', bodyLimit: MAX_DATASET_UPLOAD_BYTES }, (_req, body, done) => { done(null, body) })

  app.post('/v1/training/datasets/:name', {
    bodyLimit: MAX_DATASET_UPLOAD_BYTES,
    schema: {
      tags: ['training'],
      summary: 'Import a dataset from CSV or JSON lines sent as the text body (at most 64 MiB)',
      params: DatasetParams,
      querystring: ImportQuery,
      body: {
        content: {
          'text/csv': { schema: { type: 'string', description: 'one row per line: features and an integer class label' } },
          'application/x-ndjson': { schema: { type: 'string', description: 'one JSON object per line: `{ "x": number[], "y": integer }`' } },
          'text/plain': { schema: { type: 'string' } }
        }
      },
      response: { 200: DatasetInfoView, 413: ErrorBody, 415: ErrorBody, ...errorResponses }
    } as any
  }, async (req) => {
    const { name } = req.params as Static<typeof DatasetParams>
    const q = req.query as Static<typeof ImportQuery>
    if (typeof req.body !== 'string') {
      throw new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the dataset as the text body with Content-Type text/csv or application/x-ndjson')
    }
    if (req.body.trim() === '') throw new ApiError('ERR_DATASET_EMPTY', 'the dataset body is empty')
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    const format = q.format ?? (contentType === 'application/x-ndjson' ? 'jsonl' : 'csv')
    return await training.importDataset(name, req.body, format, {
      labelColumn: parseLabelColumn(q.labelColumn),
      header: q.header,
      labels: q.labels?.split(',').map(l => l.trim()),
      standardize: q.standardize
    })
  })

  app.get('/v1/training/datasets', {
    schema: { tags: ['training'], summary: 'Datasets this node can train on (built-in and imported)', response: { 200: Type.Object({ datasets: Type.Array(DatasetInfoView) }), ...errorResponses } }
  }, async () => ({ datasets: await training.listDatasets() }))
}
