import { describe, it, expect, vi } from 'vitest'
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

  it('in batch mode waits batchDelayMs after the first root (or until maxBatch wait), runs one batch at a time, and never provides a cancelled root', async () => {
    vi.useFakeTimers()
    try {
      const batches: string[][] = []
      const pending: Array<() => void> = []
      const batch = async (roots: CID[]): Promise<void> => { batches.push(roots.map(String)); await new Promise<void>(resolve => pending.push(resolve)) }
      const r = router()
      const q = new ProvideQueue(r.net, new AbortController().signal, silentLogger, { batch, batchDelayMs: 1000, batchJitter: 0, maxBatch: 3 })
      const roots = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(cid))
      q.add(roots[6]); q.cancel(roots[6]); q.add(roots[0]); q.add(roots[1]); q.add(roots[1])
      await vi.advanceTimersByTimeAsync(999)
      expect(batches).toEqual([])
      await vi.advanceTimersByTimeAsync(1)
      expect(batches).toEqual([roots.slice(0, 2).map(String)])
      // while a batch runs, a full batch's worth waits for it
      for (const root of roots.slice(2, 6)) q.add(root)
      expect(q.stats()).toMatchObject({ queued: 4, inFlight: 2 })
      pending.shift()?.(); await vi.advanceTimersByTimeAsync(0)
      expect(batches[1]).toEqual(roots.slice(2, 5).map(String)) // maxBatch reached: no delay
      pending.shift()?.(); await vi.advanceTimersByTimeAsync(0)
      expect(batches).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(1000)
      expect(batches[2]).toEqual([roots[5].toString()])
      pending.shift()?.(); await vi.advanceTimersByTimeAsync(0)
      expect(q.stats()).toEqual({ queued: 0, inFlight: 0, provided: 6, failed: 0, dropped: 0 })
      expect(r.started).toEqual([]) // nothing went through contentRouting.provide one by one
    } finally {
      vi.useRealTimers()
    }
  })

  it.each([
    { random: 0, delay: 750 },
    { random: 0.5, delay: 1000 },
    { random: 0.998, delay: 1249 }
  ])('in batch mode spreads the delay by the jitter (random $random: $delay ms)', async ({ random, delay }) => {
    vi.useFakeTimers()
    try {
      const batches: number[] = []
      const q = new ProvideQueue(router().net, new AbortController().signal, silentLogger, { batch: async roots => { batches.push(roots.length) }, batchDelayMs: 1000, batchJitter: 0.25, random: () => random })
      q.add(await cid(1))
      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(batches).toEqual([])
      await vi.advanceTimersByTimeAsync(1)
      expect(batches).toEqual([1])
    } finally {
      vi.useRealTimers()
    }
  })

  it('in batch mode counts a failed batch as failed roots', async () => {
    const q = new ProvideQueue(router().net, new AbortController().signal, silentLogger, { batch: async () => { throw new Error('no peers') }, batchDelayMs: 0 })
    q.add(await cid(1)); q.add(await cid(2))
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(q.stats()).toEqual({ queued: 0, inFlight: 0, provided: 0, failed: 2, dropped: 0 })
  })
})
