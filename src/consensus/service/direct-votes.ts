/**
 * `/meshnode/consensus-vote/1.0.0`: a yes vote goes to its proposal's proposer, not to the mesh, and the proposer
 * gossips the QC. A proposal then costs every node two gossip messages (the proposal, the QC) instead of one per
 * voter; on a 20-node mesh each gossip message reaches a node about ten times over, and the votes were most of the work.
 * What a node sends where, and when a held vote is gossiped after all, is vote-routing.ts; this is the wire.
 *
 * The voter sends its signed vote envelope (one length-prefixed frame); the proposer answers one byte, ACK when it
 * took the vote in, and closes. Anything else (a refusal, a timeout, no connection, a peer that does not speak the
 * protocol) and the voter gossips the vote at once.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { raceSignal } from 'race-signal'

/** Largest vote envelope accepted (a signed vote is a few hundred bytes). */
export const MAX_DIRECT_VOTE_BYTES = 16 * 1024
/** One direct send (dial included) may take this long before the vote is gossiped instead. */
export const DIRECT_VOTE_TIMEOUT_MS = 2_000
const ACK = 1
const REFUSED = 0

/** What the proposer's side does with a vote: true when taken in. */
export type DirectVoteSink = (bytes: Uint8Array, from: PeerId) => Promise<boolean>

/** Serve one inbound vote stream. */
export async function serveDirectVote (stream: Stream, from: PeerId, sink: DirectVoteSink, timeoutMs = DIRECT_VOTE_TIMEOUT_MS): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECT_VOTE_BYTES })
    const bytes = (await lp.read({ signal })).subarray()
    const taken = await sink(bytes, from).catch(() => false)
    await lp.write(Uint8Array.of(taken ? ACK : REFUSED), { signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** The slice of libp2p the sender uses. */
export interface DirectVoteDialer {
  dialProtocol: (peer: PeerId, protocol: string, opts: { signal: AbortSignal }) => Promise<Stream>
}

/** Send a vote to `peer`; true when it answered ACK. Never throws. */
export async function sendDirectVote (dialer: DirectVoteDialer, peer: PeerId, protocol: string, bytes: Uint8Array, timeoutMs = DIRECT_VOTE_TIMEOUT_MS): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs)
  const dialing = dialer.dialProtocol(peer, protocol, { signal })
  const stream = await raceSignal(dialing, signal).catch((err: Error) => {
    void dialing.then(s => { s.abort(err) }, () => {})
    return undefined
  })
  if (stream == null) return false
  try {
    const lp = lpStream(stream, { maxDataLength: 1 })
    await lp.write(bytes, { signal })
    const answer = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    return answer.length === 1 && answer[0] === ACK
  } catch (err) {
    stream.abort(err as Error)
    return false
  }
}
