import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { openStorage, type Storage } from '../../../src/storage/helia.js'
import { SharedLock } from '../../../src/storage/lock.js'
import { StorageError } from '../../../src/storage/errors.js'

async function block (n: number, fill: number): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new Uint8Array(n).fill(fill)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

let dir: string
let storage: Storage | undefined
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meshnode-bs-')) })
afterEach(async () => {
  await storage?.close()
  storage = undefined
  await rm(dir, { recursive: true, force: true })
})

describe('metered blockstore', () => {
  it('counts bytes once per block, enforces quota and block size, and frees on delete', async () => {
    storage = await openStorage({ dataDir: dir, quotaBytes: 10_000, maxBlockBytes: 4_000 })
    const bs = storage.blockstore
    const a = await block(3_000, 1)
    await Promise.all([bs.put(a.cid, a.bytes), bs.put(a.cid, a.bytes)])
    expect(bs.usedBytes).toBe(3_000)
    expect(bs.blockCount).toBe(1)
    const big = await block(4_001, 2)
    await expect(bs.put(big.cid, big.bytes)).rejects.toMatchObject({ code: 'ERR_BLOCK_TOO_LARGE' })
    const b = await block(3_500, 3)
    const c = await block(3_500, 4)
    const d = await block(3_500, 5)
    await bs.put(b.cid, b.bytes)
    await bs.put(c.cid, c.bytes)
    const err = await bs.put(d.cid, d.bytes).catch(e => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err.code).toBe('ERR_QUOTA')
    expect(await bs.has(d.cid)).toBe(false)
    expect(bs.usedBytes).toBe(10_000)
    await bs.delete(b.cid)
    expect(bs.usedBytes).toBe(6_500)
    await bs.put(d.cid, d.bytes)
    expect(bs.freeBytes).toBe(0)
  })

  it('concurrent writes cannot overshoot the quota together', async () => {
    storage = await openStorage({ dataDir: dir, quotaBytes: 10_000, maxBlockBytes: 4_000 })
    const blocks = await Promise.all([1, 2, 3, 4, 5].map(async i => await block(3_000, i)))
    const results = await Promise.allSettled(blocks.map(async b => await storage!.blockstore.put(b.cid, b.bytes)))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(3)
    expect(storage.blockstore.usedBytes).toBe(9_000)
  })

  it('keeps the count across a clean close and recounts after a crash', async () => {
    storage = await openStorage({ dataDir: dir })
    const a = await block(1234, 1)
    await storage.blockstore.put(a.cid, a.bytes)
    await storage.close()
    storage = await openStorage({ dataDir: dir })
    expect(storage.blockstore.usedBytes).toBe(1234)
    // a crash: the dirty mark written at open stays, and the count on disk is wrong
    await storage.state.sublevel('storage').put('usage', { bytes: 999_999, blocks: 7, clean: false })
    await storage.blockstore.inner.close()
    await storage.datastore.close()
    await storage.state.close()
    storage = await openStorage({ dataDir: dir })
    expect(storage.blockstore.usedBytes).toBe(1234)
    expect(storage.blockstore.blockCount).toBe(1)
  })
})

describe('shared lock', () => {
  it('lets shared holders overlap and keeps the exclusive one alone, in FIFO order', async () => {
    const lock = new SharedLock()
    const log: string[] = []
    const r1 = await lock.shared()
    const r2 = await lock.shared()
    const ex = lock.exclusive().then(rel => { log.push('x'); return rel })
    const r3 = lock.shared().then(rel => { log.push('s3'); return rel })
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(log).toEqual([])
    r1(); r2()
    const rx = await ex
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(log).toEqual(['x'])
    rx()
    ;(await r3)()
    expect(log).toEqual(['x', 's3'])
  })

  it('gives up waiting when aborted', async () => {
    const lock = new SharedLock()
    const rel = await lock.exclusive()
    const ac = new AbortController()
    const waiting = lock.shared(ac.signal)
    ac.abort(new Error('stop'))
    await expect(waiting).rejects.toThrow('stop')
    rel()
    ;(await lock.exclusive())()
  })
})
