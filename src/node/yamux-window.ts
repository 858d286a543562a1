/**
 * Yamux window updates once half the receive window is used, as go-yamux and rust-yamux send them.
 * @chainsafe/libp2p-yamux (8.0.1, the newest) sends a window update after every data frame it receives: every gossip
 * message a node gets costs a second frame back (one more noise encryption, socket write and decryption at each end).
 * In a loaded 20-node mesh those updates were about half of every node's frames. Flow control is unchanged: the
 * sender may still fill the whole window; it gets credit again once half of it is used (at once when nothing is left).
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** The members of a yamux stream this reads (the receive window's are private in its types). */
interface WindowState { state: StreamState, recvWindow: number, recvWindowCapacity: number }

const INSTALLED = Symbol.for('meshnode.yamux.halfWindowUpdates')

/**
 * Make every yamux stream of this process send window updates at half the window (idempotent; process-wide, as the
 * class is shared). Updates that carry a flag (SYN, ACK) and updates of a paused stream go through as before.
 */
export function halfWindowUpdates (): void {
  const proto: { sendWindowUpdate: (this: WindowState) => void, [INSTALLED]?: boolean } = YamuxStream.prototype
  if (proto[INSTALLED] === true) return
  const send = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowState): void {
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 >= this.recvWindow) return
    send.call(this)
  }
  proto[INSTALLED] = true
}
