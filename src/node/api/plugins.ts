/** Every route group the admin API serves, wired to the node's services; a new subsystem adds its group here. */
import type { Static } from '@sinclair/typebox'
import type { Registry } from 'prom-client'
import type { EventSource } from '../../common/events.js'
import type { ArtifactStore } from '../../storage/index.js'
import type { TrainingApi } from '../../training/index.js'
import { nodeEvents, type NodeEvents } from '../events.js'
import type { HardwareService } from '../hardware/index.js'
import type { NodeOptions } from '../options.js'
import type { PeerSummary } from '../peers.js'
import type { ApiPlugin } from './server.js'
import type { NodeInfo as NodeInfoSchema } from './schemas.js'
import { nodeRoutes } from './routes/node.js'
import { hardwareRoutes } from './routes/hardware.js'
import { artifactRoutes } from './routes/artifacts.js'
import { trainingRoutes } from './routes/training.js'
import { observabilityRoutes } from './routes/observability.js'

/** What the route groups read of the node. */
export interface ApiNode {
  options: Readonly<Pick<NodeOptions, 'storage'>>
  info: () => Static<typeof NodeInfoSchema>
  peers: () => PeerSummary[]
  hardware: HardwareService
  artifacts: ArtifactStore
  training: TrainingApi
  metrics: { registry: Registry }
  events: EventSource<NodeEvents>
}

/** The route groups, in the order they are registered. */
export function apiPlugins (node: ApiNode): ApiPlugin[] {
  return [
    nodeRoutes({ info: () => node.info(), peers: async () => node.peers() }),
    hardwareRoutes({ hardware: node.hardware }),
    artifactRoutes({ artifacts: node.artifacts, fetchTimeoutMs: node.options.storage.fetchTimeoutMs }),
    trainingRoutes({ training: node.training }),
    observabilityRoutes({ registry: node.metrics.registry, events: node.events, eventSchemas: nodeEvents })
  ]
}
