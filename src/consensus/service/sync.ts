/**
 * `/meshnode/consensus-sync/1.0.0`: how a node that was away catches up. The asker sends one CBOR request
 * (length-prefixed); the server answers with frames and an end frame, then closes.
 *
 *   { op: 'epochs', from }  -> one `epoch` frame per finalized epoch from `from` on (at most MAX_EPOCHS_PER_REQUEST):
 *                              the epoch proposal's envelope and QC, every proposal it lists with its QC, its evidence
 *   { op: 'open' }          -> one `open` frame per proposal not yet listed in an epoch, with its votes and vetoes
 *
 * Nothing a server sends is trusted: the asker checks every signature and every QC itself (see service.ts).
 */
import type { Connection, Stream, PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { encode, decode } from 'cborg'
import { raceSignal } from 'race-signal'
import type { Evidence, Qc } from '../protocol/schemas.js'

/** Epochs per request; the asker asks again from where the answer stopped. */
export const MAX_EPOCHS_PER_REQUEST = 64
/** Largest frame: an epoch listing many QC'd proposals. */
export const MAX_SYNC_FRAME_BYTES = 32 * 1024 * 1024

/** A request. */
export type SyncRequest = { op: 'epochs', from: number } | { op: 'open' }

/**
 * A finalized epoch with everything needed to check and apply it. A QC of more voters than the BLS threshold comes as
 * its aggregate where the server holds one, with `bindings`: a signed yes vote of each of its voters carrying the
 * voter's BLS key (the asker verifies those of voters whose key it does not know yet, once).
 */
export interface EpochBundle {
  t: 'epoch'
  proposal: Uint8Array
  qc: Qc
  items: Array<{ proposal: Uint8Array, qc: Qc }>
  evidence: Evidence[]
  bindings?: Uint8Array[]
}

/** An open proposal with the records seen on it. */
export interface OpenBundle {
  t: 'open'
  proposal: Uint8Array
  votes: Uint8Array[]
  vetoes: Uint8Array[]
}

/** What a server answers from. */
export interface SyncSource {
  epochBundle: (epoch: number) => Promise<EpochBundle | undefined>
  openBundles: () => OpenBundle[]
}

function parseRequest (v: unknown): SyncRequest | undefined {
  if (v == null || typeof v !== 'object') return undefined
  const r = v as { op?: unknown, from?: unknown }
  if (r.op === 'open') return { op: 'open' }
  if (r.op === 'epochs' && typeof r.from === 'number' && Number.isSafeInteger(r.from) && r.from >= 0) return { op: 'epochs', from: r.from }
  return undefined
}

/** Answer one request on an inbound stream. A malformed request aborts the stream. */
export async function serveSync (stream: Stream, source: SyncSource, timeoutMs: number, onError?: (err: Error) => void): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES })
    const req = parseRequest(decode((await lp.read({ signal })).subarray()))
    if (req == null) { stream.abort(new Error('bad consensus sync request')); return }
    if (req.op === 'epochs') {
      for (let e = req.from; e < req.from + MAX_EPOCHS_PER_REQUEST; e++) {
        const b = await source.epochBundle(e)
        if (b == null) break
        await lp.write(encode(b), { signal })
      }
    } else {
      for (const b of source.openBundles()) await lp.write(encode(b), { signal })
    }
    await lp.write(encode({ t: 'end' }), { signal })
    // bounded too: a close waits for the answer to drain, which an asker that stopped reading never does
    await stream.close({ signal })
  } catch (err) {
    onError?.(err as Error)
    stream.abort(err as Error)
  }
}

/** The slice of libp2p the client uses. */
export interface SyncDialer {
  dialProtocol: (peer: PeerId, protocol: string, opts: { signal: AbortSignal }) => Promise<Stream>
}

/** Send one request to a peer and collect its frames (unchecked: the caller verifies everything). */
export async function requestSync (dialer: SyncDialer, peer: PeerId, protocol: string, req: SyncRequest, timeoutMs: number): Promise<Array<EpochBundle | OpenBundle>> {
  const signal = AbortSignal.timeout(timeoutMs)
  // every step is bounded by the one timeout, the dial and the close included: a sync that never returned held every
  // later one (CatchUp.syncAll joins the one in flight), and the node stopped catching up for good
  const dialing = dialer.dialProtocol(peer, protocol, { signal })
  const stream = await raceSignal(dialing, signal).catch((err: Error) => {
    void dialing.then(s => { s.abort(err) }, () => {})
    throw err
  })
  const frames: Array<EpochBundle | OpenBundle> = []
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES })
    await lp.write(encode(req), { signal })
    for (;;) {
      const f: unknown = decode((await lp.read({ signal })).subarray())
      if (f == null || typeof f !== 'object') break
      const t = (f as { t?: unknown }).t
      if (t === 'end') break
      if (t === 'epoch' || t === 'open') frames.push(f as EpochBundle | OpenBundle)
      else break
    }
  } finally {
    await stream.close({ signal }).catch(() => { stream.abort(new Error('consensus sync stream not closed in time')) })
  }
  return frames
}

/** A connection's remote peer (for the connect listener). */
export type RemoteOf = Pick<Connection, 'remotePeer'>
