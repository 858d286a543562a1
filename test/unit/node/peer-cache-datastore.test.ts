import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { PeerCacheDatastore } from '../../../src/node/peer-cache-datastore.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('PeerCacheDatastore (over a real LevelDB)', () => {
  let dir: string
  let level: LevelDatastore
  let store: PeerCacheDatastore

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshnode-peercache-'))
    level = new LevelDatastore(join(dir, 'ds'))
    await level.open()
    store = new PeerCacheDatastore(level, 3)
  })
  afterEach(async () => {
    await level.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('writes peer records behind: to memory at once, to Level in one batch at flush', async () => {
    const k = new Key('/peers/a')
    await store.put(k, bytes('v0'))
    await store.put(k, bytes('v1'))
    expect(await level.has(k)).toBe(false)
    expect(text(await store.get(k))).toBe('v1')
    await store.flush()
    expect(text(await level.get(k))).toBe('v1')
    // a change behind the cache's back is not seen for peer keys: reads come from memory
    await level.put(k, bytes('changed'))
    expect(text(await store.get(k))).toBe('v1')
    expect(await store.has(k)).toBe(true)
  })

  it('passes every other key straight through', async () => {
    const k = new Key('/dht/provider/x')
    await store.put(k, bytes('v1'))
    await level.put(k, bytes('v2'))
    expect(text(await store.get(k))).toBe('v2')
  })

  it('caches what it read from Level, and forgets deleted keys', async () => {
    const k = new Key('/peers/b')
    await level.put(k, bytes('persisted'))
    expect(text(await store.get(k))).toBe('persisted')
    await store.delete(k)
    await expect(store.get(k)).rejects.toThrow()
    expect(await store.has(k)).toBe(false)
  })

  it('applies a batch atomically in Level and then to the cache', async () => {
    const a = new Key('/peers/a')
    const b = new Key('/peers/b')
    await store.put(b, bytes('old'))
    const batch = store.batch()
    batch.put(a, bytes('A'))
    batch.delete(b)
    await batch.commit()
    expect(text(await store.get(a))).toBe('A')
    expect(text(await level.get(a))).toBe('A')
    await expect(store.get(b)).rejects.toThrow()
  })

  it('reaches Level by itself within the flush interval', async () => {
    const quick = new PeerCacheDatastore(level, 3, 50)
    const k = new Key('/peers/q')
    await quick.put(k, bytes('Q'))
    const deadline = Date.now() + 2000
    while (!await level.has(k) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    expect(text(await level.get(k))).toBe('Q')
  })

  it('keeps at most maxEntries records in memory, dropping the oldest once Level has them', async () => {
    for (const id of ['1', '2', '3', '4']) await store.put(new Key(`/peers/${id}`), bytes(id))
    // not yet written: none may be dropped
    expect(text(await store.get(new Key('/peers/1')))).toBe('1')
    await store.flush()
    await level.put(new Key('/peers/1'), bytes('from-level'))
    await level.put(new Key('/peers/4'), bytes('from-level'))
    expect(text(await store.get(new Key('/peers/1')))).toBe('from-level') // evicted: read again from Level
    expect(text(await store.get(new Key('/peers/4')))).toBe('4') // still cached
  })

  it('queries Level, after writing what only memory held', async () => {
    await store.put(new Key('/peers/a'), bytes('A'))
    await store.put(new Key('/other/b'), bytes('B'))
    const keys: string[] = []
    for await (const { key } of store.query({ prefix: '/peers' })) keys.push(key.toString())
    expect(keys).toEqual(['/peers/a'])
  })
})
