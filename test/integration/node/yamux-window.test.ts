import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { waitFor } from '../../harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'

const PROTOCOL = '/meshnode-test/sink/1.0.0'

// Window updates a stream received, counted on the real class (src/node/yamux-window.ts changes when they are sent)
const updates = new WeakMap<object, number>()
type Frame = Parameters<YamuxStream['handleWindowUpdate']>[0]
const proto: { handleWindowUpdate: (this: object, frame: Frame) => void } = YamuxStream.prototype
const handle = proto.handleWindowUpdate
proto.handleWindowUpdate = function (frame) { updates.set(this, (updates.get(this) ?? 0) + 1); handle.call(this, frame) }

describe('yamux window updates between two nodes (yamux-window.ts)', () => {
  let a: MeshLibp2p
  let b: MeshLibp2p
  const totals: number[] = []

  beforeAll(async () => {
    [a, b] = await Promise.all([0, 1].map(async () => await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })))
    await b.handle(PROTOCOL, (stream: Stream) => {
      void (async () => {
        let n = 0
        for await (const chunk of stream) n += chunk.byteLength
        totals.push(n)
        await stream.close()
      })()
    })
    await a.dial(b.getMultiaddrs()[0])
  })
  afterAll(async () => {
    proto.handleWindowUpdate = handle
    await Promise.all([a, b].map(async p => { await p?.stop() }))
  })

  /** Send `chunks` on a new stream, each in its own frame; resolves once B read it all, with the bytes B read and the window updates the stream received. */
  async function send (chunks: Uint8Array[]): Promise<{ read: number, updates: number }> {
    const done = totals.length + 1
    const stream = await a.dialProtocol(b.peerId, PROTOCOL)
    const bytes = byteStream(stream)
    for (const c of chunks) {
      await bytes.write(c)
      await new Promise(resolve => setImmediate(resolve))
    }
    await stream.close()
    await waitFor(() => totals.length === done, { what: 'B to read the whole stream' })
    return { read: totals[done - 1], updates: updates.get(stream) ?? 0 }
  }

  it('400 small messages (less than half a window) draw no window update beyond the stream\'s opening and closing', async () => {
    const got = await send(Array.from({ length: 400 }, () => new Uint8Array(200)))
    expect(got.read).toBe(80_000)
    // the ACK of the opening and the FIN of B's close travel as window-update frames; stock @chainsafe/libp2p-yamux
    // also answered every data frame with one (402 here)
    expect(got.updates).toBeLessThanOrEqual(2)
  })

  it('a transfer of 16 windows still flows: credit comes back at each half window', async () => {
    const got = await send(Array.from({ length: 64 }, () => new Uint8Array(64 * 1024)))
    expect(got.read).toBe(4 * 1024 * 1024)
    expect(got.updates).toBeGreaterThan(0)
    expect(got.updates).toBeLessThanOrEqual(32)
  })
})
