/**
 * Corked sockets (src/node/tcp-cork.ts) between two real nodes: what one tick sends on a connection reaches the
 * socket as one write, and each tick's writes still leave in that tick.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'
import { waitFor } from '../../harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { corkSocket } from '../../../src/node/tcp-cork.js'

const PROTOCOL = '/meshnode-test/cork/1.0.0'
const CHUNK = 200

describe('one socket write per connection per tick (tcp-cork.ts)', () => {
  let a: MeshLibp2p
  let b: MeshLibp2p
  let read = 0
  let writes = 0

  beforeAll(async () => {
    [a, b] = await Promise.all([0, 1].map(async () => await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
    await b.handle(PROTOCOL, (stream: Stream) => {
      stream.addEventListener('message', evt => { read += evt.data.byteLength })
    })
    const conn = await a.dial(b.getMultiaddrs()[0])
    // the node corked it when it opened (its TCP connection's sendData is wrapped on the instance); again is a no-op
    const maConn = Reflect.get(conn, 'maConn') as object
    expect(Object.hasOwn(maConn, 'sendData')).toBe(true)
    expect(corkSocket(conn)).toBe(true)
    // count the writes that reach A's socket (its writable side's _write / _writev, one each per syscall)
    const socket = Reflect.get(maConn, 'socket') as Socket & { _write: (...args: unknown[]) => void, _writev: (...args: unknown[]) => void }
    const [write, writev] = [socket._write, socket._writev]
    socket._write = function (...args) { writes++; write.apply(this, args) }
    socket._writev = function (...args) { writes++; writev.apply(this, args) }
  })
  afterAll(async () => { await Promise.all([a, b].map(async p => { await p?.stop() })) })

  async function send (chunks: number, perTick: number): Promise<number> {
    const stream = await a.dialProtocol(b.peerId, PROTOCOL)
    await new Promise(resolve => setImmediate(resolve))
    const [readBefore, writesBefore] = [read, writes]
    for (let i = 0; i < chunks; i += perTick) {
      for (let j = 0; j < perTick; j++) stream.send(new Uint8Array(CHUNK))
      await new Promise(resolve => setImmediate(resolve))
    }
    await waitFor(() => read - readBefore === chunks * CHUNK, { what: `B to read ${chunks} chunks` })
    const used = writes - writesBefore
    stream.abort(new Error('done'))
    return used
  }

  it('sends 100 frames written in one tick in one socket write, and frames of 100 ticks in 100', async () => {
    expect(await send(100, 100)).toBeLessThanOrEqual(2)
    // without the cork each frame was two writes (noise's length prefix, then the ciphertext)
    const apart = await send(100, 1)
    expect(apart).toBeGreaterThanOrEqual(100)
    expect(apart).toBeLessThanOrEqual(110)
  })
})
