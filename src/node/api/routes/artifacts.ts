/**
 * `/v1/artifacts` and `/v1/storage`: add (raw streamed body), list, read (streamed, fetched from peers when needed),
 * metadata, pin, unpin, garbage collection and usage. Uploads are never buffered whole: an `application/octet-stream`
 * parser scoped to this plugin hands the raw request stream to the artifact store, so the server's JSON body limit
 * does not apply to them (the artifact store's maxArtifactBytes and quota do).
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { ApiError } from '../errors.js'
import { StorageError } from '../../../storage/errors.js'
import { ArtifactKindSchema, ArtifactMetaSchema } from '../../../protocols/validate/artifacts.js'
import type { ArtifactInfo, ArtifactStore } from '../../../storage/index.js'
import { ErrorBody, errorResponses } from '../schemas.js'

const Cid = Type.String({ minLength: 1, maxLength: 128, description: 'artifact root CID' })
const CidParams = Type.Object({ cid: Cid })

export const ArtifactView = Type.Object({
  ...ArtifactMetaSchema.properties,
  signature: Type.String({ description: 'the signed metadata record (base64 CBOR envelope, domain meshnode/artifact-announce)' }),
  local: Type.Boolean({ description: 'every block is stored and pinned on this node' })
}, { description: 'An artifact and its signed provenance' })

const AddQuery = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  kind: Type.Optional(ArtifactKindSchema),
  mediaType: Type.Optional(Type.String({ minLength: 3, maxLength: 128 })),
  job: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  round: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }))
}, { additionalProperties: false })

const ListQuery = Type.Object({
  kind: Type.Optional(ArtifactKindSchema),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  producer: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  job: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  round: Type.Optional(Type.Integer({ minimum: 0 })),
  local: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }))
}, { additionalProperties: false })

const AddResult = Type.Object({ cid: Cid, size: Type.Integer({ minimum: 0 }) })
const PinQuery = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'name for a CID nobody announced' })),
  kind: Type.Optional(ArtifactKindSchema)
}, { additionalProperties: false })
const UnpinResult = Type.Object({ cid: Cid, unpinned: Type.Literal(true) })
const GcResult = Type.Object({ freedBytes: Type.Integer({ minimum: 0 }), removedBlocks: Type.Integer({ minimum: 0 }) })
const Usage = Type.Object({
  usedBytes: Type.Integer({ minimum: 0 }),
  quotaBytes: Type.Integer({ minimum: 0 }),
  freeBytes: Type.Integer({ minimum: 0 }),
  blocks: Type.Integer({ minimum: 0 }),
  artifacts: Type.Object({ local: Type.Integer({ minimum: 0 }), remote: Type.Integer({ minimum: 0 }) })
})

/** Abort when the client goes away before the exchange is over. */
function clientGone (req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) ac.abort(new Error('client disconnected')) })
  req.raw.once('error', err => { ac.abort(err) })
  return ac.signal
}

export interface ArtifactRoutesDeps {
  artifacts: ArtifactStore
  /** Idle timeout for reads and pins that go to the network (storage.fetchTimeoutMs). */
  fetchTimeoutMs: number
}

/** The fastify plugin for artifact and storage routes. */
export function artifactRoutes (deps: ArtifactRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const { artifacts, fetchTimeoutMs } = deps
  const view = (a: ArtifactInfo): Static<typeof ArtifactView> => a

  return async (app) => {
    // scoped to this plugin: the raw request stream IS the body (no buffering, no body limit)
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => { done(null, payload) })

    app.post('/v1/artifacts', {
      schema: {
        tags: ['artifacts'],
        summary: 'Add an artifact: the raw request body is streamed into UnixFS, pinned, signed and announced',
        querystring: AddQuery,
        body: { content: { 'application/octet-stream': { schema: { description: 'the artifact bytes' } } } } as any,
        response: { 200: AddResult, 413: ErrorBody, 415: ErrorBody, 507: ErrorBody, ...errorResponses }
      }
    }, async (req, reply) => {
      const q = req.query as Static<typeof AddQuery>
      const body = req.body as Readable | undefined
      if (body == null || typeof (body as Readable).pipe !== 'function') {
        throw new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the artifact bytes as the raw body with Content-Type: application/octet-stream')
      }
      const length = Number(req.headers['content-length'])
      const signal = clientGone(req, reply)
      try {
        const info = await artifacts.add(body, {
          name: q.name, kind: q.kind, mediaType: q.mediaType, job: q.job, round: q.round,
          expectedSize: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
          signal
        })
        return { cid: info.cid, size: info.size }
      } catch (err) {
        // the client may still be sending: do not keep reading a body we refused
        if (!req.raw.complete) void reply.header('connection', 'close')
        throw err
      }
    })

    app.get('/v1/artifacts', {
      schema: {
        tags: ['artifacts'],
        summary: 'List artifacts (local and known from announcements), newest first',
        querystring: ListQuery,
        response: { 200: Type.Object({ artifacts: Type.Array(ArtifactView) }), ...errorResponses }
      }
    }, async (req) => {
      const q = req.query as Static<typeof ListQuery>
      return { artifacts: (await artifacts.list(q)).map(view) }
    })

    app.get('/v1/artifacts/:cid', {
      schema: {
        tags: ['artifacts'],
        summary: 'Read an artifact\'s bytes (streamed; fetched block by block from peers when not stored here)',
        params: CidParams,
        response: {
          200: { description: 'the artifact bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } as any,
          413: ErrorBody,
          504: ErrorBody,
          ...errorResponses
        }
      }
    }, async (req, reply) => {
      const { cid } = req.params as Static<typeof CidParams>
      const signal = clientGone(req, reply)
      try {
        const { size, content } = await artifacts.open(cid, { signal, timeoutMs: fetchTimeoutMs })
        const meta = await artifacts.meta(cid).catch(() => undefined)
        void reply
          .header('content-type', meta?.mediaType ?? 'application/octet-stream')
          .header('content-length', size)
          .header('x-artifact-cid', cid)
        return await reply.send(Readable.from(content, { objectMode: false }))
      } catch (err) {
        throw err
      }
    })

    app.get('/v1/artifacts/:cid/meta', {
      schema: {
        tags: ['artifacts'],
        summary: 'An artifact\'s signed metadata',
        params: CidParams,
        response: { 200: ArtifactView, ...errorResponses }
      }
    }, async (req) => {
      const { cid } = req.params as Static<typeof CidParams>
      try {
        const info = await artifacts.meta(cid)
        if (info == null) throw new ApiError('ERR_NOT_FOUND', `no artifact ${cid} is known here`)
        return view(info)
      } catch (err) {
        throw err
      }
    })

    app.post('/v1/artifacts/:cid/pin', {
      schema: {
        tags: ['artifacts'],
        summary: 'Pin an artifact, fetching missing blocks from peers',
        params: CidParams,
        querystring: PinQuery,
        response: { 200: ArtifactView, 413: ErrorBody, 504: ErrorBody, 507: ErrorBody, ...errorResponses }
      }
    }, async (req, reply) => {
      const { cid } = req.params as Static<typeof CidParams>
      const q = req.query as Static<typeof PinQuery>
      try {
        return view(await artifacts.pin(cid, { signal: clientGone(req, reply), timeoutMs: fetchTimeoutMs, name: q.name, kind: q.kind }))
      } catch (err) {
        throw err
      }
    })

    app.delete('/v1/artifacts/:cid', {
      schema: {
        tags: ['artifacts'],
        summary: 'Unpin an artifact (its blocks are freed by the next gc; the entry stays, marked not local)',
        params: CidParams,
        response: { 200: UnpinResult, ...errorResponses }
      }
    }, async (req) => {
      const { cid } = req.params as Static<typeof CidParams>
      try {
        if (!await artifacts.unpin(cid)) throw new ApiError('ERR_NOT_FOUND', `artifact ${cid} is not pinned here`)
        return { cid, unpinned: true as const }
      } catch (err) {
        throw err
      }
    })

    app.post('/v1/storage/gc', {
      schema: {
        tags: ['artifacts'],
        summary: 'Delete every unpinned block and return the space to the file system',
        response: { 200: GcResult, ...errorResponses }
      }
    }, async () => await artifacts.gc())

    app.get('/v1/storage', {
      schema: {
        tags: ['artifacts'],
        summary: 'Blockstore usage against the quota',
        response: { 200: Usage, ...errorResponses }
      }
    }, async () => await artifacts.usage())
  }
}
