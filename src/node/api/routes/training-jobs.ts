/**
 * `/v1/training/jobs*`: create, join, leave and inspect federated training jobs, and plot their progress. Bodies are
 * checked with the training protocol's request schemas and rules, so a bad request is a 400 naming the field, not a
 * job the mesh would refuse.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import {
  CreateJobRequestSchema, JobIdSchema, JoinJobRequestSchema, TrainingError, createRequestIssue, joinRequestIssue, requestPath,
  type CreateJobRequest, type Issue, type JobView, type JoinJobRequest, type TrainingApi
} from '../../../training/index.js'
import { renderSvgChart } from '../../plot.js'
import { ApiError } from '../errors.js'
import { errorResponses } from '../schemas.js'
import { JobParams, JobViewSchema, viewOf } from './training-view.js'

const PlotQuery = Type.Object({
  format: Type.Optional(Type.Literal('svg', { description: 'only SVG is rendered' })),
  width: Type.Optional(Type.Integer({ minimum: 200, maximum: 4000 })),
  height: Type.Optional(Type.Integer({ minimum: 150, maximum: 3000 }))
}, { additionalProperties: false })

/** Fields named as fastify names them in its own validation errors (`body/aggregationParams/f`). */
const bodyField = (path: string): string => `body/${requestPath(path).replaceAll('.', '/')}`

/** A request that breaks a rule its schema cannot state is refused like one its schema refuses. */
function refuse (issue: Issue | undefined): void {
  if (issue !== undefined) throw new ApiError('ERR_VALIDATION', issue.message)
}

/** The job routes on `app`. */
export function trainingJobRoutes (app: FastifyInstance, training: TrainingApi): void {
  const jobOr404 = (id: string): JobView => {
    const job = training.getJob(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no training job ${id} is known here`)
    return job
  }

  app.post('/v1/training/jobs', {
    schema: {
      tags: ['training'],
      summary: 'Create and announce a training job',
      body: CreateJobRequestSchema,
      response: { 201: Type.Object({ id: JobIdSchema }), ...errorResponses }
    }
  }, async (req, reply) => {
    const body = req.body as CreateJobRequest
    refuse(createRequestIssue(body, bodyField))
    const { id } = await training.createJob(body)
    return await reply.status(201).send({ id })
  })

  app.get('/v1/training/jobs', {
    schema: { tags: ['training'], summary: 'Training jobs known to this node', response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema) }), ...errorResponses } }
  }, async () => ({ jobs: training.listJobs().map(viewOf) }))

  app.get('/v1/training/jobs/:id', {
    schema: { tags: ['training'], summary: 'One job: status, phase, participants and per-round metrics', params: JobParams, response: { 200: JobViewSchema, ...errorResponses } }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    return viewOf(jobOr404(id))
  })

  app.post('/v1/training/jobs/:id/join', {
    schema: { tags: ['training'], summary: 'Take part in a job with a local dataset (or one share of it)', params: JobParams, body: JoinJobRequestSchema, response: { 200: JobViewSchema, ...errorResponses } }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    const body = req.body as JoinJobRequest
    refuse(joinRequestIssue(body, bodyField))
    return viewOf(await training.joinJob(id, body))
  })

  app.post('/v1/training/jobs/:id/leave', {
    schema: { tags: ['training'], summary: 'Stop taking part in a job', params: JobParams, response: { 200: JobViewSchema, ...errorResponses } }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    return viewOf(await training.leaveJob(id))
  })

  app.post('/v1/training/jobs/:id/stop', {
    schema: {
      tags: ['training'],
      summary: 'Stop a job for the whole mesh (its creator only: 403 otherwise); every node shows it stopped',
      params: JobParams,
      response: { 200: JobViewSchema, ...errorResponses }
    }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    return viewOf(await training.stopJob(id))
  })

  app.delete('/v1/training/jobs/:id', {
    schema: {
      tags: ['training'],
      summary: 'Forget a finished or stopped job on this node (409 while it runs)',
      params: JobParams,
      response: { 200: Type.Object({ forgotten: JobIdSchema }), ...errorResponses }
    }
  }, async (req) => {
    const { id } = req.params as Static<typeof JobParams>
    await training.forgetJob(id)
    return { forgotten: id }
  })

  app.get('/v1/training/jobs/:id/plot', {
    schema: {
      tags: ['training'],
      summary: 'Accuracy (left axis) and loss (right axis) per accepted round, as an SVG chart',
      params: JobParams,
      querystring: PlotQuery,
      response: { 200: { description: 'an SVG document', content: { 'image/svg+xml': { schema: { type: 'string' } } } }, ...errorResponses } as any
    }
  }, async (req, reply) => {
    const { id } = req.params as Static<typeof JobParams>
    const q = req.query as Static<typeof PlotQuery>
    const job = jobOr404(id)
    // the job's figure (pooled over the contributors' held-out splits) where it is known, else this node's own
    const svg = renderSvgChart(job.rounds.map(r => ({ ...r, accuracy: r.pooled?.accuracy ?? r.accuracy })), {
      title: `job ${id.slice(0, 12)} · ${job.spec.dataset} · ${job.spec.aggregation.kind}`,
      width: q.width,
      height: q.height,
      target: job.spec.target?.value
    })
    return await reply.type('image/svg+xml; charset=utf-8').send(svg)
  })
}
