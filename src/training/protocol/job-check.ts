/**
 * The job contract's cross-field rules, the ones a schema cannot state: Multi-Krum's participant floor, krum's `m`
 * against the participants, the deadline window, parameters given for a kind that does not take them, and a share
 * index within its partition. Pure: each rule returns an `Issue` (or nothing), and each caller words it its own way
 * (the gossip validator, the service, the admin API and the CLI all run these same rules).
 */
import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { krumMinUpdates } from '../core/krum.js'
import { modelRuleIssue } from '../model/spec.js'
import { AggregationSpecSchema, CompressionSpecSchema, JOB_DEFAULTS, JobSpecSchema, paramsOf, type JobSpec } from './job-schema.js'
import type { CreateJobRequest, JoinJobRequest } from './requests.js'
import { hyperparamBoundsIssue } from './hyperparams.js'

/** One broken rule: the field it is about (a dotted path in the job spec's terms) and what is wrong. */
export interface Issue { path: string, message: string }

/** How a caller names a field in messages: the API says `body/minParticipants`, the CLI `--min-participants`. */
export type FieldNamer = (path: string) => string

/** Fields as the job spec names them (`aggregation.f`, `timing.capMs`). */
export const specNames: FieldNamer = p => p

/**
 * Fields as a create or join request names them: the spec's `aggregation.f` is the request's `aggregationParams.f`,
 * its `compression.fraction` the request's `compressionParams.fraction`.
 */
export function requestPath (path: string): string {
  return path.replace(/^(aggregation|compression)\./, '$1Params.')
}

/** The fields the cross-field rules read: a spec, or a request with its defaults filled in. */
export type JobParts = Pick<JobSpec, 'minParticipants' | 'aggregation' | 'compression' | 'timing'>

/** The rules between a job's fields. */
export function jobRuleIssue (job: JobParts, name: FieldNamer = specNames): Issue | undefined {
  const a = job.aggregation
  if (a.kind === 'krum') {
    const min = krumMinUpdates(a.f)
    // every seal lists >= minParticipants deltas, and krum must be able to run on that many
    if (job.minParticipants < min) {
      return { path: 'aggregation.f', message: `${name('aggregation')} krum with ${name('aggregation.f')} ${a.f} needs ${name('minParticipants')} >= ${min}` }
    }
    if (a.m !== undefined && a.m > job.minParticipants) return { path: 'aggregation.m', message: `${name('aggregation.m')} must be <= ${name('minParticipants')}` }
  }
  const t = job.timing
  if (t.capMs < t.minWaitMs) return { path: 'timing.capMs', message: `${name('timing.capMs')} must be >= ${name('timing.minWaitMs')}` }
  return undefined
}

/** Every rule of an announced job beyond its schema: the model's (output classes, input size, parameter cap) and the job's. */
export function jobSpecIssue (job: JobSpec): Issue | undefined {
  const model = modelRuleIssue(job.model)
  if (model !== undefined) return { path: 'model', message: `model: ${model}` }
  return hyperparamBoundsIssue(job.hyperparamBounds) ?? jobRuleIssue(job)
}

const checkJobSpec = TypeCompiler.Compile(JobSpecSchema)

/** A spec as every peer will check it before taking it: its schema with every bound, then its rules. */
export function announcedJobIssue (job: JobSpec): Issue | undefined {
  if (!checkJobSpec.Check(job)) {
    const e = checkJobSpec.Errors(job).First()
    const path = (e?.path ?? '/').slice(1).replaceAll('/', '.')
    return { path, message: `${path} is out of bounds: ${e?.message ?? 'schema mismatch'}` }
  }
  return jobSpecIssue(job)
}

type ParamUnion = Parameters<typeof paramsOf>[0] & TSchema

/** A parameter given for a kind that does not take it: `--f and --m apply to --aggregation krum only`. */
function strayParam (union: ParamUnion, field: 'aggregation' | 'compression', kind: string, given: Record<string, unknown> | undefined, name: FieldNamer): Issue | undefined {
  const params = paramsOf(union)
  for (const [p, v] of Object.entries(given ?? {})) {
    if (v === undefined || params[kind]?.includes(p) === true) continue
    const owner = Object.keys(params).find(k => params[k].includes(p)) ?? ''
    const names = params[owner].map(q => name(`${field}.${q}`))
    return { path: `${field}.${p}`, message: `${names.join(' and ')} ${names.length > 1 ? 'apply' : 'applies'} to ${name(field)} ${owner} only` }
  }
  return undefined
}

const checkAggregation = TypeCompiler.Compile(AggregationSpecSchema)
const checkCompression = TypeCompiler.Compile(CompressionSpecSchema)

/** `{ kind, ...the kind's parameters }`, each from the request or else its default. */
function withParams<S extends ParamUnion> (union: S, check: { Check: (v: unknown) => v is Static<S> }, kind: string, given: Record<string, number | undefined> = {}, defaults: Record<string, number>): Static<S> | undefined {
  const out: Record<string, unknown> = { kind }
  for (const p of paramsOf(union)[kind] ?? []) {
    const v = given[p] ?? defaults[p]
    if (v !== undefined) out[p] = v
  }
  return check.Check(out) ? out : undefined
}

/**
 * The spec parts a request asks for, its defaults filled in: what the service announces. Undefined when the request
 * does not fit its schema (callers validate it first).
 */
export function jobPartsOf (req: CreateJobRequest): JobParts | undefined {
  const aggregation = withParams(AggregationSpecSchema, checkAggregation, req.aggregation, req.aggregationParams, JOB_DEFAULTS.aggregation)
  const compression = withParams(CompressionSpecSchema, checkCompression, req.compression, req.compressionParams, JOB_DEFAULTS.compression)
  if (aggregation === undefined || compression === undefined) return undefined
  return { minParticipants: req.minParticipants, aggregation, compression, timing: { ...JOB_DEFAULTS.timing, ...req.timing } }
}

/** The rules of a schema-valid create request, defaults filled in as the service will; `name` words the fields. */
export function createRequestIssue (req: CreateJobRequest, name: FieldNamer = p => requestPath(p)): Issue | undefined {
  const stray = strayParam(AggregationSpecSchema, 'aggregation', req.aggregation, req.aggregationParams, name) ??
    strayParam(CompressionSpecSchema, 'compression', req.compression, req.compressionParams, name)
  if (stray !== undefined) return stray
  const parts = jobPartsOf(req)
  if (parts === undefined) return { path: 'aggregation', message: `${name('aggregation')} or ${name('compression')} does not fit its parameters` }
  return hyperparamBoundsIssue(req.hyperparamBounds) ?? jobRuleIssue(parts, name)
}

/** The rules of a schema-valid join request. */
export function joinRequestIssue (req: JoinJobRequest, name: FieldNamer = specNames): Issue | undefined {
  const p = req.partition
  if (p === undefined) return undefined
  if (p.index >= p.of) return { path: 'partition.index', message: `${name('partition.index')} must be < ${name('partition.of')} (${p.of}), got ${p.index}` }
  if (p.alpha !== undefined && p.scheme !== 'dirichlet') return { path: 'partition.alpha', message: `${name('partition.alpha')} applies to ${name('partition.scheme')} dirichlet only` }
  return undefined
}
