/**
 * `/v1/artifacts`: add (raw streamed body), list, read (streamed, fetched from peers when needed), metadata, pin and
 * unpin; it also mounts `/v1/storage` (storage.ts). Uploads are never buffered whole: an `application/octet-stream`
 * parser scoped to this plugin hands the raw request stream to the artifact store, so the server's JSON body limit
 * does not apply to them (the artifact store's maxArtifactBytes and quota do).
 *
 * Thin by design: the schemas are the storage subsystem's (one per record), and errors are never mapped here: a
 * StorageError reaches the server's one error renderer, which derives the status from its kind and code.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import {
  ArtifactAddQuerySchema, ArtifactAddResultSchema, ArtifactCidParamsSchema, ArtifactInfoSchema, ArtifactListQuerySchema,
  ArtifactPinQuerySchema, ArtifactUnpinResultSchema, StorageError,
  type ArtifactAddQuery, type ArtifactCidParams, type ArtifactFilter, type ArtifactPinQuery, type ArtifactStore
} from '../../../storage/index.js'
import { ApiError } from '../errors.js'
import { ErrorBody, errorResponses } from '../schemas.js'
import { storageRoutes } from './storage.js'

/** Abort when the client goes away before the exchange is over. */
function clientGone (req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) ac.abort(new Error('client disconnected')) })
  req.raw.once('error', err => { ac.abort(err) })
  return ac.signal
}

/** What the artifact routes use. */
export interface ArtifactRoutesDeps {
  artifacts: Pick<ArtifactStore, 'add' | 'list' | 'open' | 'meta' | 'pin' | 'unpin' | 'gc' | 'usage'>
  /** Idle timeout for reads and pins that go to the network (storage.fetchTimeoutMs). */
  fetchTimeoutMs: number
}

/** The fastify plugin for the artifact routes and the storage routes. */
export function artifactRoutes (deps: ArtifactRoutesDeps): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    // scoped to this plugin: the raw request stream IS the body (no buffering, no body limit)
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => { done(null, payload) })
    addRoute(app, deps)
    readRoutes(app, deps)
    pinRoutes(app, deps)
    await storageRoutes(deps)(app)
  }
}

function addRoute (app: FastifyInstance, { artifacts }: ArtifactRoutesDeps): void {
  app.post('/v1/artifacts', {
    schema: {
      tags: ['artifacts'],
      summary: 'Add an artifact: the raw request body is streamed into UnixFS, pinned, signed and announced',
      querystring: ArtifactAddQuerySchema,
      body: { content: { 'application/octet-stream': { schema: { description: 'the artifact bytes' } } } } as any,
      response: { 200: ArtifactAddResultSchema, 413: { ...ErrorBody, description: 'over storage.maxArtifactBytes (ERR_TOO_LARGE) or the free storage quota (ERR_QUOTA)' }, 415: ErrorBody, ...errorResponses }
    }
  }, async (req, reply) => {
    const q = req.query as ArtifactAddQuery
    const body = req.body as Readable | undefined
    if (body == null || typeof body.pipe !== 'function') {
      throw new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the artifact bytes as the raw body with Content-Type: application/octet-stream')
    }
    const length = Number(req.headers['content-length'])
    const signal = clientGone(req, reply)
    try {
      const info = await artifacts.add(body, {
        ...q,
        expectedSize: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
        signal
      })
      return { cid: info.cid, size: info.size }
    } catch (err) {
      // not a mapping: the client may still be sending, and we do not keep reading a body we refused
      if (!req.raw.complete) void reply.header('connection', 'close')
      throw err
    }
  })
}

function readRoutes (app: FastifyInstance, { artifacts, fetchTimeoutMs }: ArtifactRoutesDeps): void {
  app.get('/v1/artifacts', {
    schema: {
      tags: ['artifacts'],
      summary: 'List artifacts (local and known from announcements), newest first',
      querystring: ArtifactListQuerySchema,
      response: { 200: Type.Object({ artifacts: Type.Array(ArtifactInfoSchema) }), ...errorResponses }
    }
  }, async (req) => ({ artifacts: await artifacts.list(req.query as ArtifactFilter) }))

  app.get('/v1/artifacts/:cid', {
    schema: {
      tags: ['artifacts'],
      summary: 'Read an artifact\'s bytes (streamed; fetched block by block from peers when not stored here)',
      description: 'When the artifact is not stored here it is fetched from peers: if no peer provides its root or its first block ' +
        'within `storage.fetchTimeoutMs`, the answer is 404 `ERR_NOT_FOUND`, as for an unknown CID. A transfer that stalls later ' +
        'ends the stream early (the status was already sent).',
      params: ArtifactCidParamsSchema,
      response: {
        ...errorResponses,
        200: { description: 'the artifact bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } as any,
        404: { ...ErrorBody, description: 'unknown CID, or no peer provided it within storage.fetchTimeoutMs (ERR_NOT_FOUND)' },
        413: ErrorBody
      }
    }
  }, async (req, reply) => {
    const { cid } = req.params as ArtifactCidParams
    const { size, content } = await artifacts.open(cid, { signal: clientGone(req, reply), timeoutMs: fetchTimeoutMs })
    // the media type is a nicety: bytes we can read are served even when no registry entry names them
    const meta = await artifacts.meta(cid).catch(() => undefined)
    void reply
      .header('content-type', meta?.mediaType ?? 'application/octet-stream')
      .header('content-length', size)
      .header('x-artifact-cid', cid)
    return await reply.send(Readable.from(content, { objectMode: false }))
  })

  app.get('/v1/artifacts/:cid/meta', {
    schema: {
      tags: ['artifacts'],
      summary: 'An artifact\'s signed metadata',
      params: ArtifactCidParamsSchema,
      response: { 200: ArtifactInfoSchema, ...errorResponses }
    }
  }, async (req) => {
    const { cid } = req.params as ArtifactCidParams
    const info = await artifacts.meta(cid)
    if (info == null) throw new StorageError('ERR_NOT_FOUND', `no artifact ${cid} is known here`)
    return info
  })
}

function pinRoutes (app: FastifyInstance, { artifacts, fetchTimeoutMs }: ArtifactRoutesDeps): void {
  app.post('/v1/artifacts/:cid/pin', {
    schema: {
      tags: ['artifacts'],
      summary: 'Pin an artifact, fetching missing blocks from peers',
      params: ArtifactCidParamsSchema,
      querystring: ArtifactPinQuerySchema,
      response: { 200: ArtifactInfoSchema, 413: { ...ErrorBody, description: 'over storage.maxArtifactBytes (ERR_TOO_LARGE) or the storage quota (ERR_QUOTA)' }, ...errorResponses }
    }
  }, async (req, reply) => {
    const { cid } = req.params as ArtifactCidParams
    const q = req.query as ArtifactPinQuery
    return await artifacts.pin(cid, { signal: clientGone(req, reply), timeoutMs: fetchTimeoutMs, name: q.name, kind: q.kind })
  })

  app.delete('/v1/artifacts/:cid', {
    schema: {
      tags: ['artifacts'],
      summary: 'Unpin an artifact (its blocks are freed by the next gc; the entry stays, marked not local)',
      params: ArtifactCidParamsSchema,
      response: { 200: ArtifactUnpinResultSchema, ...errorResponses }
    }
  }, async (req) => {
    const { cid } = req.params as ArtifactCidParams
    if (!await artifacts.unpin(cid)) throw new StorageError('ERR_NOT_FOUND', `artifact ${cid} is not pinned here`)
    return { cid, unpinned: true as const }
  })
}
