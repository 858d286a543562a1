/** `/v1/health`, `/v1/node`, `/v1/peers`: who this node is and who it is connected to. */
import { Type, type Static } from '@sinclair/typebox'
import type { ApiPlugin } from '../server.js'
import { NodeInfo, PeerView, errorResponses } from '../schemas.js'

/** What the node routes read. */
export interface NodeRouteDeps {
  info: () => Static<typeof NodeInfo>
  peers: () => Promise<Array<Static<typeof PeerView>>>
}

/** The node route group. */
export function nodeRoutes (deps: NodeRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/health', {
      schema: { tags: ['node'], summary: 'Liveness (no auth)', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
    }, async () => ({ status: 'ok' as const }))

    app.get('/v1/node', {
      schema: { tags: ['node'], summary: 'This node: peer id, addresses, version, profile, network, uptime', response: { 200: NodeInfo, ...errorResponses } }
    }, async () => deps.info())

    app.get('/v1/peers', {
      schema: {
        tags: ['node'],
        summary: 'Connected peers with latency, last seen and a hardware summary',
        response: { 200: Type.Object({ peers: Type.Array(PeerView) }), ...errorResponses }
      }
    }, async () => ({ peers: await deps.peers() }))
  }
}
