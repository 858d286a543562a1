import { describe, it, expect } from 'vitest'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as raw from 'multiformats/codecs/raw'
import { peerIdFromString } from '@libp2p/peer-id'
import { silentLogger } from '../../../src/common/logger.js'
import { ProvideQueue } from '../../../src/storage/providers.js'
import type { ArtifactNetwork } from '../../../src/storage/types.js'

const cid = async (i: number): Promise<CID> => CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`root ${i}`)))

/** A content router whose provides finish when the test says so, recording what ran and how many at once. */
function router (): { net: ArtifactNetwork, started: string[], peak: () => number, finish: (n?: number) => void } {
  const started: string[] = []
  const pending: Array<() => void> = []
  let running = 0
  let peak = 0
  const net = {
    peerId: peerIdFromString('12D3KooWQjZBe3AejsnrfVfxmDdu4hv8bptRBBBPqTauo4BkQrzN'),
    contentRouting: {
      provide: async (root: CID) => {
        started.push(root.toString())
        running++
        peak = Math.max(peak, running)
        await new Promise<void>(resolve => pending.push(resolve))
        running--
      }
    }
  } as unknown as ArtifactNetwork
  return { net, started, peak: () => peak, finish: (n = pending.length) => { for (const r of pending.splice(0, n)) r() } }
}
const tick = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve)) }

describe('ProvideQueue', () => {
  it('runs at most `concurrency` provides at once, in order, and provides a root queued twice once', async () => {
    const r = router()
    const q = new ProvideQueue(r.net, new AbortController().signal, silentLogger, { concurrency: 2 })
    const roots = await Promise.all([0, 1, 2, 3, 4].map(cid))
    for (const root of [...roots, roots[4]]) q.add(root)
    await tick()
    expect(r.started).toEqual(roots.slice(0, 2).map(String))
    expect(q.stats()).toMatchObject({ queued: 3, inFlight: 2 })
    for (let i = 0; i < 3; i++) { r.finish(); await tick() }
    expect(r.started).toEqual(roots.map(String))
    expect(r.peak()).toBe(2)
    expect(q.stats()).toEqual({ queued: 0, inFlight: 0, provided: 5, failed: 0, dropped: 0 })
  })

  it('drops the oldest waiting root when the line overflows, and stops when its signal aborts', async () => {
    const r = router()
    const ac = new AbortController()
    const q = new ProvideQueue(r.net, ac.signal, silentLogger, { concurrency: 1, maxQueued: 2 })
    const roots = await Promise.all([0, 1, 2, 3].map(cid))
    for (const root of roots) q.add(root)
    // root 0 runs; 1 was dropped when 3 arrived (2 and 3 wait)
    expect(q.stats()).toMatchObject({ queued: 2, inFlight: 1, dropped: 1 })
    r.finish(); await tick()
    expect(r.started).toEqual([roots[0], roots[2]].map(String))
    ac.abort()
    r.finish(); await tick()
    q.add(await cid(9))
    expect(r.started).toHaveLength(2)
  })
})
