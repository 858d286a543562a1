/**
 * `/v1/storage`: blockstore usage against the quota, and garbage collection. Thin: the artifact store does the work;
 * its errors pass through to the server's one error renderer.
 */
import type { FastifyInstance } from 'fastify'
import { GcResultSchema, StorageUsageSchema, type ArtifactStore } from '../../../storage/index.js'
import { errorResponses } from '../schemas.js'

/** What the storage routes use. */
export interface StorageRoutesDeps {
  artifacts: Pick<ArtifactStore, 'gc' | 'usage'>
}

/** The fastify plugin for `/v1/storage` (documented under the artifacts tag, beside the artifacts they hold). */
export function storageRoutes (deps: StorageRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const { artifacts } = deps
  return async (app) => {
    app.post('/v1/storage/gc', {
      schema: {
        tags: ['artifacts'],
        summary: 'Delete every unpinned block and return the space to the file system',
        response: { 200: GcResultSchema, ...errorResponses }
      }
    }, async () => await artifacts.gc())

    app.get('/v1/storage', {
      schema: {
        tags: ['artifacts'],
        summary: 'Blockstore usage against the quota',
        response: { 200: StorageUsageSchema, ...errorResponses }
      }
    }, async () => await artifacts.usage())
  }
}
