import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { encode, decode } from 'cborg'
import { CID } from 'multiformats/cid'
import { Registry } from 'prom-client'
import * as raw from 'multiformats/codecs/raw'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { createHeliaLight } from 'helia'
import { withBitswap } from '@helia/bitswap'
import { LevelBlockstore } from 'blockstore-level'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { signRecord } from '../../../src/protocols/envelope.js'
import { ARTIFACT_DOMAIN, ARTIFACT_TOPIC } from '../../../src/storage/protocol/topic.js'
import { openArtifactRecord, ARTIFACT_RECORD_VERSION } from '../../../src/storage/protocol/artifact-record.js'
import { StorageError } from '../../../src/storage/errors.js'
import { startStorageNode, connectAll, countBitswapBlocks, pseudoRandom, sha256, hashStream, du, waitFor, type StorageNode } from './helpers.js'

const MiB = 1024 * 1024

describe('artifacts across three real nodes', () => {
  let root_: string
  const dirs: string[] = []
  const keys: PrivateKey[] = []
  let nodes: StorageNode[] = []
  const extra: Array<() => Promise<void>> = []
  const data = pseudoRandom(64 * MiB, 42)
  const dataSha = sha256(data)
  let cid = ''
  const registry = new Registry()

  beforeAll(async () => {
    root_ = await mkdtemp(join(tmpdir(), 'meshnode-storage-'))
    for (let i = 0; i < 3; i++) {
      dirs.push(join(root_, `n${i}`))
      keys.push(await generateKeyPair('Ed25519'))
    }
    nodes = await Promise.all(dirs.map(async (d, i) => await startStorageNode(d, { key: keys[i], metrics: i === 0 ? registry : undefined })))
    await connectAll(nodes)
  })

  afterAll(async () => {
    for (const fn of extra.reverse()) await fn().catch(() => {})
    for (const n of nodes.reverse()) await n.close().catch(() => {})
    await rm(root_, { recursive: true, force: true })
  })

  it('adds 64 MiB on A and fetches it byte-identical on B (pinned) and C (streamed)', async () => {
    const [a, b, c] = nodes
    await waitFor(() => a.libp2p.services.pubsub.getSubscribers(ARTIFACT_TOPIC).length === 2, 'B and C to subscribe on A')
    const info = await a.store.add(data, { name: 'model-r0.bin', kind: 'model', job: 'job-1', round: 0 })
    cid = info.cid
    expect(info).toMatchObject({ size: 64 * MiB, local: true, producer: a.peerId, kind: 'model', job: 'job-1', round: 0 })
    // the stored signature is a verifiable record of exactly this metadata
    const rec = await openArtifactRecord(Buffer.from(info.signature, 'base64'))
    expect(rec.signer).toBe(a.peerId)
    expect(rec.payload.cid).toBe(cid)

    // the announcement reached B: known, not local, never fetched automatically
    const known = await waitFor(async () => await b.store.meta(cid), 'the announcement on B')
    expect(known).toMatchObject({ local: false, producer: a.peerId, name: 'model-r0.bin' })
    expect(b.storage.blockstore.usedBytes).toBe(0)
    expect(b.events.some(e => e.type === 'artifact.announced' && e.data.cid === cid)).toBe(true)

    const pinned = await b.store.pin(cid)
    expect(pinned.local).toBe(true)
    const onB = await b.store.open(cid, { offline: true })
    expect(onB.size).toBe(64 * MiB)
    expect(await hashStream(onB.content)).toEqual({ sha: dataSha, bytes: 64 * MiB })

    const onC = await c.store.open(cid)
    expect(await hashStream(onC.content)).toEqual({ sha: dataSha, bytes: 64 * MiB })
    expect(a.events.map(e => e.type)).toContain('artifact.added')
    const metrics = await registry.metrics()
    expect(metrics).toMatch(/meshnode_storage_adds_total\{result="ok"\} 1/)
    expect(metrics).toMatch(new RegExp(`meshnode_storage_used_bytes ${a.storage.blockstore.usedBytes}`))
    expect(metrics).toMatch(/meshnode_storage_artifacts\{location="local"\} 1/)
    expect(b.events.map(e => e.type)).toContain('artifact.pinned')
  })

  it('is still there after closing and reopening all three (same dirs, same keys)', async () => {
    expect(cid).not.toBe('')
    for (const n of nodes) await n.close()
    const usedBefore = nodes.map(n => n.storage.blockstore.usedBytes)
    // C comes back with a quota that its cache plus another 48 MiB cannot fit
    nodes = await Promise.all(dirs.map(async (d, i) => await startStorageNode(d, { key: keys[i], storage: i === 2 ? { quotaBytes: 100 * MiB } : {} })))
    const [a, b, c] = nodes
    expect(nodes.map(n => n.storage.blockstore.usedBytes)).toEqual(usedBefore)
    expect(await a.store.list({ local: true })).toMatchObject([{ cid, size: 64 * MiB, producer: a.peerId }])
    expect(await b.store.list({ kind: 'model', producer: a.peerId })).toMatchObject([{ cid, local: true }])
    expect(await b.store.list({ kind: 'delta' })).toEqual([])
    for (const n of [a, b]) {
      const { content } = await n.store.open(cid, { offline: true })
      expect((await hashStream(content)).sha).toBe(dataSha)
    }
    await connectAll(nodes)
    const { content } = await c.store.open(cid)
    expect((await hashStream(content)).sha).toBe(dataSha)
  })

  it('unpin + gc frees the space on disk, and the quota refuses an add with ERR_QUOTA', async () => {
    const [a, b, c] = nodes
    const blocksDir = join(b.dataDir, 'blocks')
    const before = du(blocksDir)
    expect(before).toBeGreaterThan(64 * MiB)
    expect(await b.store.unpin(cid)).toBe(true)
    expect(await b.store.meta(cid)).toMatchObject({ local: false })
    expect(b.events.map(e => e.type)).toContain('artifact.removed')
    const { freedBytes } = await b.store.gc()
    expect(freedBytes).toBeGreaterThanOrEqual(64 * MiB)
    expect(b.storage.blockstore.usedBytes).toBe(0)
    const after = du(blocksDir)
    expect(before - after).toBeGreaterThan(60 * MiB)
    // A still serves it: unpinning on B touched nothing else
    expect((await a.store.gc()).freedBytes).toBe(0)

    // C: 64 MiB cached (unpinned) of a 100 MiB quota; a 48 MiB stream must fail while streaming
    expect(c.storage.blockstore.usedBytes).toBeGreaterThan(64 * MiB)
    const usedC = c.storage.blockstore.usedBytes
    const more = pseudoRandom(48 * MiB, 7)
    async function * chunks (): AsyncGenerator<Uint8Array> { for (let o = 0; o < more.length; o += MiB) yield more.subarray(o, o + MiB) }
    const err = await c.store.add(chunks(), { name: 'too-much.bin' }).catch(e => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err.code).toBe('ERR_QUOTA')
    expect(err.message).toMatch(/quota/)
    expect(c.storage.blockstore.usedBytes).toBe(usedC)
    expect(await c.store.list({ name: 'too-much.bin' })).toEqual([])
    // known size: refused before a single block is written
    await expect(c.store.add(more, { name: 'too-much.bin', expectedSize: more.length })).rejects.toMatchObject({ code: 'ERR_QUOTA' })
    // gc drops the cache, and then it fits
    expect((await c.store.gc()).freedBytes).toBeGreaterThanOrEqual(64 * MiB)
    const ok = await c.store.add(chunks(), { name: 'fits.bin', kind: 'dataset' })
    expect(ok.size).toBe(48 * MiB)
    expect(await c.store.usage()).toMatchObject({ quotaBytes: 100 * MiB, artifacts: { local: 1 } })
  })

  it('fails an unknown CID after the configured timeout, not much later', async () => {
    const [, b] = nodes
    const unknown = CID.createV1(raw.code, await sha256Hasher.digest(pseudoRandom(1024, 99))).toString()
    const t0 = Date.now()
    const err = await b.store.open(unknown, { timeoutMs: 1500 }).catch(e => e)
    const elapsed = Date.now() - t0
    expect(err).toBeInstanceOf(StorageError)
    expect(err.code).toBe('ERR_NOT_FOUND')
    expect(elapsed).toBeGreaterThanOrEqual(1400)
    expect(elapsed).toBeLessThan(2500)
    await expect(b.store.open('not-a-cid')).rejects.toMatchObject({ code: 'ERR_INVALID_CID' })
  })

  it('delivers an artifact read before its producer stored it, once stored (bitswap asks each peer only once)', async () => {
    const [a, b] = nodes
    const bytes = pseudoRandom(20_000, 77)
    const early = CID.createV1(raw.code, await sha256Hasher.digest(bytes)).toString()
    const reading = b.store.cat(early, { timeoutMs: 15_000 })
    await new Promise(resolve => setTimeout(resolve, 500)) // A has already answered "don't have"
    expect((await a.store.add(bytes, { name: 'late.bin', announce: false })).cid).toBe(early)
    const t0 = Date.now()
    expect(sha256(await reading)).toBe(sha256(bytes))
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('an add with announce: false is neither gossiped nor provided; a read naming its holder still gets it', async () => {
    const [a, b, c] = nodes
    const provided: string[] = []
    const provide = a.libp2p.contentRouting.provide.bind(a.libp2p.contentRouting)
    a.libp2p.contentRouting.provide = async (cid, options) => { provided.push(cid.toString()); await provide(cid, options) }
    // provides go through the store's batched queue (batch-provide.ts): nothing may enter it
    const queuedBefore = a.store.provideStats()
    const published: string[] = []
    const publish = a.libp2p.services.pubsub.publish.bind(a.libp2p.services.pubsub)
    a.libp2p.services.pubsub.publish = async (topic, data) => { published.push(topic); return await publish(topic, data) }
    let quiet: Awaited<ReturnType<typeof a.store.add>>
    try {
      quiet = await a.store.add(pseudoRandom(30_000, 78), { name: 'quiet.bin', announce: false })
    } finally {
      a.libp2p.contentRouting.provide = provide
      a.libp2p.services.pubsub.publish = publish
    }
    expect(provided).toEqual([]) // not provided on the DHT
    expect(a.store.provideStats()).toEqual(queuedBefore)
    expect(published).not.toContain(ARTIFACT_TOPIC) // nor announced
    const asked: string[] = []
    const find = c.libp2p.contentRouting.findProviders.bind(c.libp2p.contentRouting)
    c.libp2p.contentRouting.findProviders = (cid, options) => { asked.push(cid.toString()); return find(cid, options) }
    try {
      const got = await c.store.cat(quiet.cid, { timeoutMs: 10_000, providers: [a.peerId] })
      expect(sha256(got)).toBe(sha256(pseudoRandom(30_000, 78)))
      expect(asked).toEqual([]) // the named holder delivered: no DHT lookup
    } finally {
      c.libp2p.contentRouting.findProviders = find
    }
    expect(await b.store.meta(quiet.cid)).toBeUndefined() // no announcement reached B
  })

  it('a read naming the holder asks it alone: each reader gets the block once, not once more from every other reader', async () => {
    const [a, b, c] = nodes
    const bytes = pseudoRandom(20_000, 79)
    const held = await a.store.add(bytes, { name: 'hinted.bin', announce: false })
    const counters = [b, c].map(n => countBitswapBlocks(n, held.cid))
    try {
      // B and C read at once, as every node prefetches a delta: a want broadcast to all peers had each of them also
      // receive the block from the other (the first to get it serves the other's outstanding want)
      const got = await Promise.all([b, c].map(async n => await n.store.cat(held.cid, { timeoutMs: 10_000, providers: [a.peerId] })))
      for (const g of got) expect(sha256(g)).toBe(sha256(bytes))
      await new Promise(resolve => setTimeout(resolve, 1000)) // time for a late duplicate to arrive
      expect(counters.map(k => k.count())).toEqual([1, 1])
    } finally {
      for (const k of counters) k.stop()
    }
  })

  it('a read naming a peer that lacks the artifact still gets it from the peer that has it', async () => {
    const [a, b, c] = nodes
    const bytes = pseudoRandom(20_000, 80)
    const held = await a.store.add(bytes, { name: 'misnamed.bin', announce: false })
    const t0 = Date.now()
    // B answers "don't have": the read asks every connected peer next, at once, not after its patience for B ran out
    expect(sha256(await c.store.cat(held.cid, { timeoutMs: 15_000, providers: [b.peerId] }))).toBe(sha256(bytes))
    expect(Date.now() - t0).toBeLessThan(4_000)
  })

  it('provides roots on the mesh DHT, and looks up providers only for the root being read', async () => {
    const [a, b] = nodes
    const small = await a.store.add(pseudoRandom(4 * MiB + 1, 31), { name: 'provided.bin' })
    const root = CID.parse(small.cid)
    // A's background provide lands in the DHT: B finds A as a provider of the root
    await waitFor(async () => {
      for await (const p of b.libp2p.contentRouting.findProviders(root, { signal: AbortSignal.timeout(2000) })) {
        if (p.id.toString() === a.peerId) return true
      }
      return false
    }, 'A to be a DHT provider of the root', 20_000)
    // and B holds the record itself: A's batched ADD_PROVIDER reached B's kad server (not just A answering for itself)
    await waitFor(async () => {
      const stored: PeerId[] = await (b.libp2p.services.dht as any).providers.getProviders(root)
      return stored.map(String).includes(a.peerId)
    }, "B to store A's provider record", 20_000)
    // the next batch, within the walk TTL, reuses that batch's walk (batch-provide.ts: RegionWalks): no DHT walk,
    // and the record still lands on B
    const dht = a.libp2p.services.dht as any
    const walk = dht.getClosestPeers.bind(dht)
    let walks = 0
    dht.getClosestPeers = (key: Uint8Array, options: unknown) => { walks++; return walk(key, options) }
    try {
      const next = CID.parse((await a.store.add(pseudoRandom(10_000, 32), { name: 'provided-next.bin' })).cid)
      await waitFor(async () => {
        const stored: PeerId[] = await (b.libp2p.services.dht as any).providers.getProviders(next)
        return stored.map(String).includes(a.peerId)
      }, "B to store A's provider record of the next root", 20_000)
    } finally {
      dht.getClosestPeers = walk
    }
    expect(walks).toBe(0)
    // a fresh node reading it asks the DHT about the root only, never about each of its blocks
    const d = await startStorageNode(join(root_, 'n3'))
    extra.push(async () => { await d.close() })
    await d.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    const asked: string[] = []
    const find = d.libp2p.contentRouting.findProviders.bind(d.libp2p.contentRouting)
    d.libp2p.contentRouting.findProviders = (cid, options) => { asked.push(cid.toString()); return find(cid, options) }
    const { content } = await d.store.open(small.cid, { timeoutMs: 10_000 })
    expect((await hashStream(content)).sha).toBe(sha256(pseudoRandom(4 * MiB + 1, 31)))
    expect(new Set(asked)).toEqual(new Set([small.cid]))
  })

  describe('a rogue peer', () => {
    let rogue: { libp2p: MeshLibp2p, blockstore: LevelBlockstore }
    const rawCid = async (bytes: Uint8Array): Promise<CID> => CID.createV1(raw.code, await sha256Hasher.digest(bytes))

    beforeAll(async () => {
      // plain Helia (default bitswap limits) over a raw Level blockstore that stores whatever it is given
      const blockstore = new LevelBlockstore(join(root_, 'rogue-blocks'))
      await blockstore.open()
      const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
      const helia = createHeliaLight({ blockstore }) as any
      Object.defineProperty(helia, 'libp2p', { value: libp2p })
      withBitswap(helia)
      await helia.start()
      rogue = { libp2p, blockstore }
      extra.push(async () => { await helia.stop(); await libp2p.stop(); await blockstore.close() })
      await nodes[1].libp2p.dial(libp2p.getMultiaddrs()[0])
    })

    it('serves a valid block (control: the rogue path works)', async () => {
      const bytes = pseudoRandom(MiB, 5)
      const good = await rawCid(bytes)
      await rogue.blockstore.put(good, bytes)
      const got = await nodes[1].store.cat(good.toString(), { timeoutMs: 5000 })
      expect(sha256(got)).toBe(sha256(bytes))
    })

    it('cannot corrupt anything by serving wrong bytes for a CID', async () => {
      const b = nodes[1]
      const claimed = await rawCid(pseudoRandom(MiB, 6))
      await rogue.blockstore.put(claimed, pseudoRandom(MiB, 666))
      expect(await rogue.blockstore.has(claimed)).toBe(true)
      const used = b.storage.blockstore.usedBytes
      const err = await b.store.cat(claimed.toString(), { timeoutMs: 2000 }).catch(e => e)
      expect(err).toBeInstanceOf(StorageError)
      expect(await b.storage.blockstore.has(claimed)).toBe(false)
      expect(b.storage.blockstore.usedBytes).toBe(used)
    })

    it('cannot push a block over the size limit', async () => {
      const b = nodes[1]
      const bytes = pseudoRandom(3 * MiB, 8)
      const big = await rawCid(bytes)
      await rogue.blockstore.put(big, bytes)
      const used = b.storage.blockstore.usedBytes
      const err = await b.store.cat(big.toString(), { timeoutMs: 2000 }).catch(e => e)
      expect(err).toBeInstanceOf(StorageError)
      expect(err.code).toBe('ERR_BLOCK_TOO_LARGE')
      expect(await b.storage.blockstore.has(big)).toBe(false)
      expect(b.storage.blockstore.usedBytes).toBe(used)
    })
  })

  describe('announcements', () => {
    let mallory: MeshLibp2p
    let malloryKey: PrivateKey

    beforeAll(async () => {
      malloryKey = await generateKeyPair('Ed25519')
      mallory = await createMeshLibp2p({ privateKey: malloryKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, ipColocationThreshold: 1000 })
      extra.push(async () => { await mallory.stop() })
      await mallory.dial(nodes[1].libp2p.getMultiaddrs()[0])
      mallory.services.pubsub.subscribe(ARTIFACT_TOPIC)
      await waitFor(() => mallory.services.pubsub.getSubscribers(ARTIFACT_TOPIC).some(p => p.toString() === nodes[1].peerId), 'B to be a topic peer of mallory')
    })

    const malloryRecord = async (over: Record<string, unknown> = {}): Promise<Uint8Array> => {
      const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
      const producer = peerIdFromPrivateKey(malloryKey).toString()
      const payload = { cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', name: 'evil.bin', kind: 'model', mediaType: 'application/octet-stream', size: 10, producer, createdAt: Date.now(), ...over }
      return await signRecord(malloryKey, ARTIFACT_DOMAIN, ARTIFACT_RECORD_VERSION, Date.now(), payload)
    }

    it('rejects a bad signature and oversized metadata; a valid one from A shows up on B', async () => {
      const [a, b] = nodes
      const tampered = decode(await malloryRecord())
      tampered.g[5] ^= 0x01
      await mallory.services.pubsub.publish(ARTIFACT_TOPIC, encode(tampered))
      await waitFor(() => b.validations.includes('reject:ERR_RECORD_SIGNATURE'), 'B to reject the bad signature')
      await mallory.services.pubsub.publish(ARTIFACT_TOPIC, await malloryRecord({ name: 'n'.repeat(5000) }))
      await waitFor(() => b.validations.includes('reject:ERR_TOO_LARGE'), 'B to reject the oversized record')
      expect(await b.store.list({ name: 'evil.bin' })).toEqual([])

      const small = await a.store.add(pseudoRandom(100_000, 3), { name: 'delta-r1.bin', kind: 'delta', job: 'job-1', round: 1 })
      const seen = await waitFor(async () => await b.store.meta(small.cid), 'the valid announcement on B')
      expect(seen).toMatchObject({ local: false, producer: a.peerId, kind: 'delta', round: 1 })
      expect(await b.store.list({ job: 'job-1', round: 1 })).toMatchObject([{ cid: small.cid, local: false }])
      expect(b.validations).toContain('accept:OK')
      // remembered, never fetched
      expect(await b.storage.blockstore.has(CID.parse(small.cid))).toBe(false)
    })
  })
})
