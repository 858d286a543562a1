/**
 * `/meshnode/bandwidth/1.0.0`: the asker sends `{ bytes }` (CBOR, length-prefixed), the server answers with that many
 * bytes and closes; the asker times the download. The size is capped on both sides, so the protocol cannot be used to
 * make a node send unbounded data.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream, byteStream } from '@libp2p/utils'
import { encode, decode } from 'cborg'
import { HardwareError } from './errors.js'

/** Largest bandwidth probe a peer will serve. */
export const MAX_BANDWIDTH_PROBE_BYTES = 64 * 1024 * 1024
const CHUNK = 64 * 1024
/** How long serving one probe may take. */
const SERVE_TIMEOUT_MS = 120_000

/** What a bandwidth probe measured. */
export interface BandwidthResult {
  peerId: string
  bytes: number
  durationMs: number
  mbps: number
}

function validSize (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_BANDWIDTH_PROBE_BYTES
}

/** Check a requested probe size before dialling anybody. */
export function checkProbeSize (bytes: number): void {
  if (!validSize(bytes)) throw new HardwareError('ERR_BANDWIDTH_SIZE', `bytes must be an integer from 1 to ${MAX_BANDWIDTH_PROBE_BYTES}`)
}

/** Ask for `bytes` on an open bandwidth stream and time their arrival. The caller closes the stream. */
export async function downloadProbe (stream: Stream, peerId: string, bytes: number, signal: AbortSignal): Promise<BandwidthResult> {
  const t0 = performance.now()
  const lp = lpStream(stream, { maxDataLength: 64 })
  await lp.write(encode({ bytes }), { signal })
  let got = 0
  const reader = byteStream(lp.unwrap(), { maxBufferSize: 4 * CHUNK })
  while (got < bytes) {
    const chunk = await reader.read({ signal })
    if (chunk == null) break
    got += chunk.byteLength
  }
  const durationMs = performance.now() - t0
  if (got !== bytes) throw new HardwareError('ERR_BANDWIDTH_SHORT', `peer sent ${got} of ${bytes} bytes`)
  return { peerId, bytes, durationMs, mbps: (bytes * 8) / (durationMs / 1000) / 1e6 }
}

/** Answer one probe: read the asked size, send that many bytes, close. A malformed request aborts the stream. */
export async function serveProbe (stream: Stream): Promise<void> {
  const signal = AbortSignal.timeout(SERVE_TIMEOUT_MS)
  try {
    const lp = lpStream(stream, { maxDataLength: 64 })
    const req: unknown = decode((await lp.read({ signal })).subarray())
    const n = req != null && typeof req === 'object' && 'bytes' in req ? req.bytes : undefined
    if (!validSize(n)) { stream.abort(new Error('bad bandwidth request')); return }
    const bs = byteStream(lp.unwrap())
    const chunk = new Uint8Array(CHUNK)
    for (let sent = 0; sent < n; sent += CHUNK) await bs.write(chunk.subarray(0, Math.min(CHUNK, n - sent)), { signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
  }
}
