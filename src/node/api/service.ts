/**
 * The admin API as a node service: reads the admin token, listens, and writes `<dataDir>/api.url` for the CLI once
 * it listens; on stop removes that file first (a CLI then says no daemon runs rather than failing to connect).
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../common/logger.js'
import type { Service } from '../../common/service.js'
import { FILES, readAdminToken, writeFileAtomic } from '../identity.js'
import type { ApiOptions } from './options.js'
import { compileAllSchemas, startApiServer, warmSchemas, type ApiPlugin, type ApiServer } from './server.js'

/**
 * How long after listening the route schemas start compiling in the background: past the node's own start-up work
 * (the chain stack's load, the training-speed probe) and its joining the mesh (handshakes, identify, the DHT's pings
 * and walks, consensus sync with each new peer), which come first. Ten nodes starting at once on 2 cores take 10-20 s
 * to connect in full; compiling from 3 s on cost them 2-3 s of it (mesh.test.ts). A route used before then compiles
 * its schema on its first request.
 */
const SCHEMA_WARM_DELAY_MS = 30_000

/** The admin API's options: its option section plus where the token and URL files are. */
export interface AdminApiInit extends Pick<ApiOptions, 'host' | 'port' | 'allowedHosts' | 'bodyLimitBytes'> {
  dataDir: string
  version: string
}

/** The admin API's dependencies: the route groups it serves. */
export interface AdminApiComponents {
  plugins: ApiPlugin[]
  logger: Logger
  /** Counts requests by route and status class (a prom-client Counter). */
  metrics?: { apiRequests: { labels: (labels: { route: string, status: string }) => { inc: () => void } } }
}

/** The running admin API. */
export class AdminApi implements Service {
  private server?: ApiServer
  private warming?: AbortController

  constructor (private readonly c: AdminApiComponents, private readonly init: AdminApiInit) {}

  /** The URL actually bound (`port: 0` picks a free one); empty before start. */
  get url (): string { return this.server?.url ?? '' }

  /** Compile every route schema not compiled yet (on first use, or in the background after start); returns how many. Tests: all can. */
  compileSchemas (): number { return this.server == null ? 0 : compileAllSchemas(this.server.app) }

  async start (): Promise<void> {
    if (this.server != null) return
    const { init, c } = this
    this.server = await startApiServer({
      host: init.host,
      port: init.port,
      token: await readAdminToken(init.dataDir),
      allowedHosts: init.allowedHosts,
      bodyLimitBytes: init.bodyLimitBytes,
      version: init.version,
      logger: c.logger,
      onResponse: requestCounter(c.metrics?.apiRequests)
    }, c.plugins)
    try {
      await writeFileAtomic(join(init.dataDir, FILES.apiUrl), this.server.url + '\n', 0o644)
    } catch (err) {
      // a failed start is not in the node's list of started services: close what we opened ourselves
      await this.stop()
      throw err
    }
    this.warming = new AbortController()
    warmSchemas(this.server.app, { delayMs: SCHEMA_WARM_DELAY_MS, signal: this.warming.signal })
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    this.warming?.abort()
    await rm(join(this.init.dataDir, FILES.apiUrl), { force: true })
    await server.close()
  }
}

/**
 * Count a response under its route and status class. The labelled child is looked up once per pair (routes and
 * classes are bounded), not hashed from its labels on every request.
 */
function requestCounter (counter?: NonNullable<AdminApiComponents['metrics']>['apiRequests']): ((route: string, status: number) => void) | undefined {
  if (counter == null) return undefined
  const children = new Map<string, { inc: () => void }>()
  return (route, status) => {
    const key = `${Math.floor(status / 100)}xx ${route}`
    let child = children.get(key)
    if (child == null) {
      child = counter.labels({ route, status: `${Math.floor(status / 100)}xx` })
      children.set(key, child)
    }
    child.inc()
  }
}

/** The admin API factory: `adminApi(init)(components)`. */
export function adminApi (init: AdminApiInit): (components: AdminApiComponents) => AdminApi {
  return components => new AdminApi(components, init)
}
