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
    const k = new Key('/dht/record/x')
    await store.put(k, bytes('v1'))
    expect(text(await level.get(k))).toBe('v1')
    await level.put(k, bytes('v2'))
    expect(text(await store.get(k))).toBe('v2')
  })

  it('writes DHT provider records behind, with the peer records in one batch, and never caches them for reads', async () => {
    // one ADD_PROVIDER per announced artifact used to be one Level write each (beside the registry's)
    let writes = 0
    const counted = new Proxy(level, {
      get (target, prop, receiver) {
        if (prop === 'put') return async (...args: Parameters<LevelDatastore['put']>) => { writes++; return await target.put(...args) }
        if (prop === 'batch') return () => { writes++; return target.batch() }
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      }
    })
    const behind = new PeerCacheDatastore(counted, 3)
    const providers = ['a', 'b', 'c', 'd', 'e'].map(c => new Key(`/dht/provider/${c}/peer1`))
    for (const k of providers) await behind.put(k, bytes('t'))
    await behind.put(new Key('/peers/p1'), bytes('P'))
    expect(writes).toBe(0)
    expect(text(await behind.get(providers[0]))).toBe('t') // readable before it reaches Level
    expect(await behind.has(providers[4])).toBe(true)
    // kad reads providers by query: it sees every record, written first in one batch
    const found: string[] = []
    for await (const { key } of behind.query({ prefix: '/dht/provider' })) found.push(key.toString())
    expect(found.sort()).toEqual(providers.map(String).sort())
    expect(writes).toBe(1)
    expect(await level.has(new Key('/peers/p1'))).toBe(true)
    // a deleted provider record is gone from memory and Level
    await behind.put(providers[1], bytes('u'))
    await behind.delete(providers[1])
    await behind.flush()
    expect(await level.has(providers[1])).toBe(false)
    await expect(behind.get(providers[1])).rejects.toThrow()
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
