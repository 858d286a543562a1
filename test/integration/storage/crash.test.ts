import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { startStorageNode, hashStream, pseudoRandom, sha256, type StorageNode } from './helpers.js'

const MiB = 1024 * 1024
const FIXTURE = join(import.meta.dirname, 'fixtures/crash-add.ts')

/** Run the fixture via `npx tsx` in its own process group; SIGKILL the group once `killWhen` matches its output. */
async function runChild (dataDir: string, mode: string, killWhen?: (out: string) => boolean): Promise<{ out: string, signal: NodeJS.Signals | null }> {
  const child = spawn('npx', ['tsx', FIXTURE, dataDir, mode], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  let out = ''
  let killed = false
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
    if (!killed && killWhen?.(out) === true) {
      killed = true
      process.kill(-(child.pid as number), 'SIGKILL')
    }
  })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('exit', (c, s) => { resolve([c, s]) }))
  if (!killed && signal == null && code !== 0 && !out.includes('dying')) throw new Error(`fixture exited with ${code}: ${out}`)
  return { out, signal }
}

/** Reopen the killed node's data dir (retrying while the dead process' LevelDB locks clear). */
async function reopen (dataDir: string, gcOnRecovery: boolean): Promise<StorageNode> {
  for (let i = 0; ; i++) {
    try {
      return await startStorageNode(dataDir, { artifacts: { gcOnRecovery, provide: false } })
    } catch (err) {
      if (i > 50) throw err
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

/** The invariant: every local entry's blocks are all here (read offline, hash and size match), every block left is pinned. */
async function expectConsistent (node: StorageNode): Promise<void> {
  for (const a of await node.store.list({ local: true })) {
    const { content } = await node.store.open(a.cid, { offline: true })
    expect((await hashStream(content)).bytes).toBe(a.size)
  }
  for await (const { cid } of node.storage.blockstore.entries()) {
    expect(await node.helia.pins.isPinned(cid), `block ${cid.toString()} is unpinned after gc`).toBe(true)
  }
}

async function unpinnedBytes (node: StorageNode): Promise<number> {
  let n = 0
  for await (const { cid, size } of node.storage.blockstore.entries()) if (!await node.helia.pins.isPinned(cid)) n += size
  return n
}

describe('crash safety (SIGKILL)', () => {
  let dir: string
  let node: StorageNode | undefined
  afterEach(async () => {
    await node?.close()
    node = undefined
    await rm(dir, { recursive: true, force: true })
  })

  it('killed mid-add: no entry for the partial add, the keeper intact, gc reclaims the orphans', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshnode-crash-'))
    const { out, signal } = await runChild(dir, 'import', o => /progress (\d+)\n/.test(o) && Number([...o.matchAll(/progress (\d+)/g)].pop()?.[1]) >= 96 * MiB)
    expect(signal).toBe('SIGKILL')
    expect(out).not.toContain('finished')
    const keeper = /keeper (\S+)/.exec(out)?.[1] as string

    node = await reopen(dir, false)
    expect((await node.store.list()).map(a => a.cid)).toEqual([keeper])
    const orphans = await unpinnedBytes(node)
    expect(orphans).toBeGreaterThan(32 * MiB)
    const { content } = await node.store.open(keeper, { offline: true })
    expect((await hashStream(content)).sha).toBe(sha256(pseudoRandom(3 * MiB, 1)))
    const used = node.storage.blockstore.usedBytes
    const { freedBytes } = await node.store.gc()
    expect(freedBytes).toBe(orphans)
    expect(node.storage.blockstore.usedBytes).toBe(used - orphans)
    await expectConsistent(node)
  }, 60_000)

  it('killed between the pin and the registry write: the pin is undone at open and the blocks collected', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshnode-crash-'))
    const { out } = await runChild(dir, 'before-commit')
    expect(out).toContain('dying before the registry commit')
    expect(out).not.toContain('not killed')
    const keeper = /keeper (\S+)/.exec(out)?.[1] as string
    // default start: recovery releases the orphaned pin and collects at once
    node = await reopen(dir, true)
    expect((await node.store.list()).map(a => a.cid)).toEqual([keeper])
    expect(await unpinnedBytes(node)).toBe(0)
    expect(node.storage.blockstore.usedBytes).toBeLessThan(4 * MiB)
    await expectConsistent(node)
  }, 60_000)

  it('killed half-way through an unpin: the entry is not local, the unpin finishes at open', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshnode-crash-'))
    const { out } = await runChild(dir, 'unpin')
    expect(out).toContain('dying mid-unpin')
    const victim = /victim (\S+)/.exec(out)?.[1] as string
    node = await reopen(dir, false)
    expect(await node.store.meta(victim)).toMatchObject({ local: false })
    expect(await node.store.list({ local: true })).toHaveLength(1)
    // no pin reference to the victim survives: all 16 MiB of it is collectable
    expect(await unpinnedBytes(node)).toBeGreaterThanOrEqual(16 * MiB)
    expect((await node.store.gc()).freedBytes).toBeGreaterThanOrEqual(16 * MiB)
    await expectConsistent(node)
  }, 60_000)
})
