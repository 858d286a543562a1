/** Every route group the admin API serves, wired to the node's services; a new subsystem adds its group here. */
import type { Static } from '@sinclair/typebox'
import type { Registry } from 'prom-client'
import type { EventSource } from '../../common/events.js'
import type { ArtifactStore } from '../../storage/index.js'
import type { TrainingApi } from '../../training/index.js'
import type { ConsensusService } from '../../consensus/index.js'
import type { LedgerApi, MarketApi } from '../../ledger/index.js'
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
import { proposalRoutes } from './routes/proposals.js'
import { reputationRoutes } from './routes/reputation.js'
import { walletRoutes } from './routes/wallet.js'
import { ledgerRoutes } from './routes/ledger.js'
import { marketRoutes } from './routes/market.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { cachedView } from './view-cache.js'

/** How stale `/v1/node` addresses and `/v1/peers` latencies may be (peer changes invalidate at once). */
const VIEW_MAX_AGE_MS = 1000

/** What the route groups read of the node. */
export interface ApiNode {
  options: Readonly<Pick<NodeOptions, 'storage' | 'api'>>
  info: () => Static<typeof NodeInfoSchema>
  peers: () => PeerSummary[]
  hardware: HardwareService
  artifacts: ArtifactStore
  training: TrainingApi
  consensus: ConsensusService
  ledger: LedgerApi
  market: MarketApi
  metrics: { registry: Registry }
  events: EventSource<NodeEvents>
}

/** The route groups, in the order they are registered. */
export function apiPlugins (node: ApiNode): ApiPlugin[] {
  const info = cachedView(() => node.info(), node.events, VIEW_MAX_AGE_MS)
  const peers = cachedView(() => node.peers(), node.events, VIEW_MAX_AGE_MS)
  return [
    nodeRoutes({
      // uptime is computed per request: the rest of the view changes only with an event, or slowly
      info: () => {
        const v = info()
        return { ...v, uptimeSec: Math.round((Date.now() - Date.parse(v.startedAt)) / 1000) }
      },
      peers: async () => peers()
    }),
    hardwareRoutes({ hardware: node.hardware }),
    artifactRoutes({ artifacts: node.artifacts, fetchTimeoutMs: node.options.storage.fetchTimeoutMs }),
    trainingRoutes({ training: node.training }),
    proposalRoutes({ consensus: node.consensus }),
    reputationRoutes({ consensus: node.consensus }),
    walletRoutes({ ledger: node.ledger }),
    ledgerRoutes({ ledger: node.ledger }),
    marketRoutes({ market: node.market }),
    observabilityRoutes({ registry: node.metrics.registry, events: node.events, eventSchemas: nodeEvents, maxEventStreams: node.options.api.maxEventStreams }),
    // the web dashboard (`/`, `/login`, `/web/*`) and its cookie sessions, a second way in besides the token
    dashboardRoutes()
  ]
}
