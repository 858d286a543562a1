/**
 * One gossipsub frame per peer per turn of the event loop. @libp2p/gossipsub (17.1) hands each RPC to its peer's
 * outbound stream as it makes it (every forwarded or published message, every IHAVE, GRAFT, PRUNE): each is its own
 * yamux frame, so its own noise encryption and MAC, stream bookkeeping and events at the sender, and the same again
 * at the receiver. Under load a node forwards several messages to the same mesh peer within one turn (one socket read
 * carries several), and per-frame work grew with the load it was meant to carry. Here an outbound gossip stream
 * gathers what one turn pushes and sends it once, from `setImmediate`, as one write of the same length-prefixed RPCs:
 * the receiver decodes them one by one as before, and the wire protocol is unchanged. No RPC waits past the turn it
 * was made in (go-libp2p queues each peer's RPCs for a writer goroutine in the same spirit).
 *
 * gossipsub's OutboundStream is not exported: the patch goes on its prototype, reached through the first stream a
 * node opens (`streamsOutbound`, a private map read with `Reflect`, as tcp-cork.ts reads the socket); process-wide and
 * idempotent, like yamux-window.ts. `coalesceGossipRpcs` answers false when a release moves what it patches, and its
 * test fails.
 */
import { Uint8ArrayList } from 'uint8arraylist'

const INSTALLED = Symbol.for('meshnode.gossipsub.coalesce')
const PENDING = Symbol('meshnode.gossipsub.pending')

/** The members of gossipsub's OutboundStream this uses. */
interface OutboundStream {
  rawStream: { send: (data: Uint8Array | Uint8ArrayList) => boolean, writeStatus: string }
  pushPrefixed: (data: Uint8Array | Uint8ArrayList) => void
  close: (options?: unknown) => Promise<void>
  [PENDING]?: Uint8ArrayList
}
interface OutboundPrototype extends OutboundStream { [INSTALLED]?: boolean }

/** Streams holding RPCs of this turn, sent by one `setImmediate`. */
const waiting = new Set<OutboundStream>()

function send (stream: OutboundStream): void {
  const pending = stream[PENDING]
  stream[PENDING] = undefined
  // closed meanwhile: dropped, as a closing stream drops its write buffer
  if (pending == null || stream.rawStream.writeStatus !== 'writable') return
  try {
    stream.rawStream.send(pending)
  } catch {
    // the stream aborted itself on a failed write; gossipsub hears of it through the stream's close event
  }
}

function sendWaiting (): void {
  const streams = [...waiting]
  waiting.clear()
  for (const stream of streams) send(stream)
}

function patch (proto: OutboundPrototype): void {
  if (proto[INSTALLED] === true) return
  const { pushPrefixed, close } = proto
  proto.pushPrefixed = function (this: OutboundStream, data) {
    // a stream that cannot write throws now, as before, so gossipsub keeps the control it piggybacked for later
    if (this.rawStream.writeStatus !== 'writable') { pushPrefixed.call(this, data); return }
    let pending = this[PENDING]
    if (pending == null) {
      pending = this[PENDING] = new Uint8ArrayList()
      if (waiting.size === 0) setImmediate(sendWaiting)
      waiting.add(this)
    }
    pending.append(data)
  }
  proto.close = async function (this: OutboundStream, options) {
    waiting.delete(this)
    send(this)
    await close.call(this, options)
  }
  proto[INSTALLED] = true
}

/**
 * Coalesce the outbound RPCs of `pubsub` (a @libp2p/gossipsub instance) per peer per turn, from its next outbound
 * stream on (the patch is process-wide). False when the instance has no `streamsOutbound` map to watch.
 */
export function coalesceGossipRpcs (pubsub: object): boolean {
  const streams: unknown = Reflect.get(pubsub, 'streamsOutbound')
  if (!(streams instanceof Map)) return false
  if (Reflect.get(streams, INSTALLED) === true) return true
  Reflect.set(streams, INSTALLED, true)
  const set = streams.set
  const patchOf = (stream: unknown): void => {
    const proto: unknown = typeof stream === 'object' && stream != null ? Object.getPrototypeOf(stream) : undefined
    if (typeof proto === 'object' && proto != null && typeof Reflect.get(proto, 'pushPrefixed') === 'function') patch(proto as OutboundPrototype)
  }
  streams.set = function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
    patchOf(value)
    return set.call(this, key, value)
  }
  for (const stream of streams.values()) patchOf(stream)
  return true
}

/** Whether the patch is on the prototype of `stream` (one of gossipsub's outbound streams): for tests. */
export function isCoalescing (stream: object): boolean {
  return (Object.getPrototypeOf(stream) as OutboundPrototype)[INSTALLED] === true
}
