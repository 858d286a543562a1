/**
 * The CLI's client for the local daemon: finds it through `<dataDir>/api.url` and `<dataDir>/admin.token`.
 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { MeshError } from '../../common/errors.js'
// data-dir.js, not identity.js: a client command must not load libp2p's key handling or the option schema
import { FILES, readAdminToken } from '../data-dir.js'

/** The daemon is not running, not reachable, or answered with an error. */
export class ClientError extends MeshError {
  constructor (code: string, message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** One request to the daemon: query, body and abort signal. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  /** JSON body. */
  json?: unknown
  /** Raw body (a file stream, bytes); sent as application/octet-stream unless `contentType` says otherwise. */
  body?: Uint8Array | string | NodeJS.ReadableStream | ReadableStream<Uint8Array>
  contentType?: string
  signal?: AbortSignal
}

/** A client of the local daemon's admin API (bearer token, JSON errors as ClientError). */
export class ApiClient {
  constructor (readonly baseUrl: string, private readonly token: string) {}

  /** Connect to the daemon serving this data directory; a clear error when none runs. */
  static async fromDataDir (dataDir: string): Promise<ApiClient> {
    const urlFile = join(dataDir, FILES.apiUrl)
    if (!existsSync(urlFile)) {
      throw new ClientError('ERR_NO_DAEMON', `no meshnode daemon is running for ${dataDir} (no ${FILES.apiUrl}); start one with \`meshnode start --data-dir ${dataDir}\``)
    }
    const url = (await readFile(urlFile, 'utf8')).trim()
    return new ApiClient(url, await readAdminToken(dataDir))
  }

  /** Send a request and return the raw response; errors (network or 4xx/5xx) become ClientError. */
  async fetch (method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(path, this.baseUrl)
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    let body: any
    if (opts.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(opts.json) } else if (opts.body != null) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream'
      body = opts.body
    }
    let res: Response
    try {
      res = await fetch(url, { method, headers, body, signal: opts.signal, ...(body != null && typeof body.pipe === 'function' ? { duplex: 'half' } : {}) } as RequestInit)
    } catch (err) {
      throw new ClientError('ERR_NO_DAEMON', `cannot reach the meshnode daemon at ${this.baseUrl} (is it running?)`, undefined, { cause: err })
    }
    if (!res.ok) {
      let code = 'ERR_HTTP'
      let message = `${res.status} ${res.statusText}`
      try {
        const j = await res.json() as { error?: { code?: string, message?: string } }
        if (j.error?.code != null) code = j.error.code
        if (j.error?.message != null) message = j.error.message
      } catch { /* not JSON */ }
      throw new ClientError(code, message, res.status)
    }
    return res
  }

  /** JSON request/response. */
  async request<T = unknown> (method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.fetch(method, path, opts)
    return await res.json() as T
  }
}
