/** The wire of `/meshnode/market-compute/1.0.0`: one length-prefixed CBOR request and one reply per stream. */
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { decode, encode } from 'cborg'

/** The protocol between a buyer's node and a provider's node. */
export const MARKET_COMPUTE_PROTOCOL = '/meshnode/market-compute/1.0.0'
const MAX_MESSAGE = 64 * 1024

/** What a request needs of libp2p. */
export interface Dialer { dialProtocol: (peer: PeerId, p: string, o: { signal: AbortSignal }) => Promise<Stream> }

const asRecord = (r: unknown): Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r) ? r as Record<string, unknown> : {}

/** Sends `msg` to `peer` and returns its reply (throws when the peer cannot be reached in `timeoutMs`). */
export async function askPeer (libp2p: Dialer, peer: string, msg: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await libp2p.dialProtocol(peerIdFromString(peer), MARKET_COMPUTE_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
    await lp.write(encode(msg), { signal })
    return asRecord(decode((await lp.read({ signal })).subarray()))
  } finally {
    await stream.close().catch(() => { stream.abort(new Error('close failed')) })
  }
}

/** Answers one request on an inbound stream with `handle`'s reply. */
export async function serveOne (stream: Stream, timeoutMs: number, handle: (m: Record<string, unknown>) => Promise<Record<string, unknown>>): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
    const m = asRecord(decode((await lp.read({ signal })).subarray()))
    await lp.write(encode(await handle(m)), { signal })
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}
