/** `/v1/hardware`, `/v1/hardware/peers`, `/v1/hardware/bandwidth`: this node's and its peers' hardware. */
import { Type, type Static } from '@sinclair/typebox'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ApiPlugin } from '../server.js'
import { HardwareRecordView, PeerHardwareView, errorResponses } from '../schemas.js'
import { ApiError } from '../errors.js'
import { MAX_BANDWIDTH_PROBE_BYTES, type HardwareService } from '../../hardware/index.js'

const BandwidthRequest = Type.Object({
  peerId: Type.String({ minLength: 1, maxLength: 128 }),
  bytes: Type.Integer({ minimum: 1, maximum: MAX_BANDWIDTH_PROBE_BYTES, default: 8 * 1024 * 1024 })
}, { additionalProperties: false })

const BandwidthResult = Type.Object({ peerId: Type.String(), bytes: Type.Integer(), durationMs: Type.Number(), mbps: Type.Number() })

/** What the hardware routes use of the hardware service. */
export type HardwareRouteDeps = { hardware: Pick<HardwareService, 'local' | 'peers' | 'measureBandwidth'> }

/** The hardware route group. */
export function hardwareRoutes (deps: HardwareRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/hardware', {
      schema: { tags: ['hardware'], summary: 'This node\'s hardware record (probe + measured training speed)', response: { 200: HardwareRecordView, ...errorResponses } }
    }, async () => {
      const rec = deps.hardware.local()
      if (rec == null) throw new ApiError('ERR_NOT_READY', 'hardware probe has not finished yet')
      return rec
    })

    app.get('/v1/hardware/peers', {
      schema: { tags: ['hardware'], summary: 'Verified hardware records of other peers', response: { 200: Type.Object({ peers: Type.Array(PeerHardwareView) }), ...errorResponses } }
    }, async () => ({
      peers: deps.hardware.peers().map(p => ({ ...p, receivedAt: new Date(p.receivedAt).toISOString() }))
    }))

    app.post<{ Body: Static<typeof BandwidthRequest> }>('/v1/hardware/bandwidth', {
      schema: { tags: ['hardware'], summary: 'Measure download bandwidth from a connected peer', body: BandwidthRequest, response: { 200: BandwidthResult, ...errorResponses } }
    }, async (req) => {
      const { peerId, bytes } = req.body
      try { peerIdFromString(peerId) } catch { throw new ApiError('ERR_PEER_ID', 'peerId is not a valid peer id') }
      return await deps.hardware.measureBandwidth(peerId, bytes)
    })
  }
}
