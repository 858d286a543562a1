/**
 * `/meshnode/market-sync/1.0.0`: a newcomer's book snapshot. The asker sends one CBOR request `{ markets }`
 * (length-prefixed); the server answers with one frame per live order (the order message's own CBOR bytes, exactly
 * what gossip carries) and an empty end frame, then closes. Nothing a server sends is trusted: every order goes
 * through the same validation as a gossiped one.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decode, encode } from 'cborg'
import { MAX_ORDER_MESSAGE_BYTES } from '../protocol/schemas.js'

/** The most orders one snapshot carries. */
export const MAX_SNAPSHOT_ORDERS = 20_000

/** Serves one snapshot request: `orders(markets)` yields the encoded live orders of those markets. */
export async function serveSnapshot (stream: Stream, orders: (markets: string[]) => Iterable<Uint8Array>, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const lp = lpStream(stream, { maxDataLength: 4096 })
    const req: unknown = decode((await lp.read({ signal })).subarray())
    const markets = typeof req === 'object' && req !== null && Array.isArray(Reflect.get(req, 'markets'))
      ? (Reflect.get(req, 'markets') as unknown[]).filter((m): m is string => typeof m === 'string').slice(0, 32)
      : undefined
    if (markets === undefined) { stream.abort(new Error('bad market sync request')); return }
    let n = 0
    for (const bytes of orders(markets)) {
      if (++n > MAX_SNAPSHOT_ORDERS) break
      await lp.write(bytes, { signal })
    }
    await lp.write(new Uint8Array(0), { signal })
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** The slice of libp2p a snapshot request uses. */
export interface SnapshotDialer {
  dialProtocol: (peer: PeerId, protocol: string, opts: { signal: AbortSignal }) => Promise<Stream>
}

/** Asks `peer` for its books of `markets`; returns the order frames (unchecked). */
export async function requestSnapshot (dialer: SnapshotDialer, peer: PeerId, protocol: string, markets: string[], timeoutMs: number): Promise<Uint8Array[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await dialer.dialProtocol(peer, protocol, { signal })
  const frames: Uint8Array[] = []
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_ORDER_MESSAGE_BYTES })
    await lp.write(encode({ markets }), { signal })
    while (frames.length < MAX_SNAPSHOT_ORDERS) {
      const f = (await lp.read({ signal })).subarray()
      if (f.byteLength === 0) break
      frames.push(f)
    }
  } finally {
    await stream.close().catch(() => { stream.abort(new Error('close failed')) })
  }
  return frames
}
