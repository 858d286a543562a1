/**
 * One socket write per connection per tick. @libp2p/tcp (11.0) hands each noise frame to the socket as its own
 * writes (the length prefix, then the ciphertext), and every `socket.write` on an idle socket is a syscall: in a
 * 20-node mesh under gossip load the kernel's TCP send path was 4% of all CPU, and the receive path it runs on
 * loopback (in the sender's syscall) 3% more (perf). Here a connection's socket is corked at its first write of a
 * tick and uncorked on the next tick, so what one tick writes leaves in one `writev`. No write waits longer than the
 * code that is running now.
 *
 * The TCP connection is a private field of libp2p's Connection class (`maConn`, with its `socket`): read with
 * `Reflect`, as liveness.ts reads the muxer; `corkSocket` answers false when a release moves them, and its test fails.
 */
import { Socket } from 'node:net'
import type { Connection } from '@libp2p/interface'

const CORKED = Symbol('meshnode.tcp.corked')

/** Cork `conn`'s socket for the rest of each tick it writes in; false when `conn` is not a TCP connection we can reach. */
export function corkSocket (conn: Connection): boolean {
  const maConn: unknown = Reflect.get(conn, 'maConn')
  if (maConn == null || typeof maConn !== 'object') return false
  const socket: unknown = Reflect.get(maConn, 'socket')
  const sendData: unknown = Reflect.get(maConn, 'sendData')
  if (!(socket instanceof Socket) || typeof sendData !== 'function') return false
  if (Reflect.get(maConn, CORKED) === true) return true
  Reflect.set(maConn, CORKED, true)
  let corked = false
  const uncork = (): void => { corked = false; socket.uncork() }
  Reflect.set(maConn, 'sendData', function (this: unknown, ...args: unknown[]): unknown {
    if (!corked && !socket.destroyed) { corked = true; socket.cork(); process.nextTick(uncork) }
    return Reflect.apply(sendData, this, args)
  })
  return true
}

/** Cork every connection of `libp2p`: those open now (a started node may have dialled already) and later ones. */
export function corkConnections (libp2p: { getConnections: () => Connection[], addEventListener: (type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void) => void }): void {
  libp2p.addEventListener('connection:open', evt => { corkSocket(evt.detail) })
  for (const conn of libp2p.getConnections()) corkSocket(conn)
}
