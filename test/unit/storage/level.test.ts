import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { openState, type StateStore } from '../../../src/storage/level.js'
import { StorageError } from '../../../src/storage/errors.js'

let dir: string
const open: StateStore[] = []
async function openDb (opts: Parameters<typeof openState>[1] = {}): Promise<StateStore> {
  const s = await openState(join(dir, 'state'), opts)
  open.push(s)
  return s
}

/** The killed writer's LevelDB lock goes away with the process; retry briefly. */
async function openWhenUnlocked (): Promise<StateStore> {
  for (let i = 0; ; i++) {
    try { return await openDb() } catch (err) { if (i > 50) throw err }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meshnode-level-')) })
afterEach(async () => {
  for (const s of open.splice(0)) await s.close()
  await rm(dir, { recursive: true, force: true })
})

describe('state store schema version', () => {
  it('stamps a fresh database with the code version and reopens it', async () => {
    const s = await openDb({ version: 3 })
    expect(s.schemaVersion).toBe(3)
    await s.sublevel('hardware').put('k', { a: 1 })
    await s.close()
    const again = await openDb({ version: 3 })
    expect(again.schemaVersion).toBe(3)
    expect(await again.sublevel('hardware').get('k')).toEqual({ a: 1 })
  })

  it('runs each missing migration in order, once', async () => {
    const s = await openDb({ version: 1 })
    await s.sublevel('hardware').put('cpu', 'old')
    await s.close()
    const ran: number[] = []
    const migrations = {
      2: async (db: StateStore) => { ran.push(2); await db.sublevel('hardware').put('cpu', { model: await db.sublevel('hardware').get('cpu') }) },
      3: async (db: StateStore) => { ran.push(3); await db.atomic([{ type: 'put', sublevel: 'node', key: 'migrated', value: true }]) }
    }
    const m = await openDb({ version: 3, migrations })
    expect(ran).toEqual([2, 3])
    expect(m.schemaVersion).toBe(3)
    expect(await m.sublevel('hardware').get('cpu')).toEqual({ model: 'old' })
    expect(await m.sublevel('node').get('migrated')).toBe(true)
    await m.close()
    await openDb({ version: 3, migrations })
    expect(ran).toEqual([2, 3])
  })

  it('keeps the last completed step when a migration fails, and resumes from there', async () => {
    await (await openDb({ version: 1 })).close()
    const ran: number[] = []
    const failing = { 2: async () => { ran.push(2) }, 3: async () => { throw new Error('boom') } }
    const err = await openDb({ version: 3, migrations: failing }).catch(e => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err.code).toBe('ERR_SCHEMA_MIGRATION')
    const fixed = { 2: async () => { ran.push(2) }, 3: async () => { ran.push(3) } }
    const s = await openDb({ version: 3, migrations: fixed })
    expect(ran).toEqual([2, 3])
    expect(s.schemaVersion).toBe(3)
  })

  it('refuses a database newer than the code', async () => {
    await (await openDb({ version: 5 })).close()
    const err = await openDb({ version: 4 }).catch(e => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err.code).toBe('ERR_SCHEMA_NEWER')
    expect(err.message).toMatch(/version 5.*\(4\)/)
  })

  it('refuses to skip a missing migration', async () => {
    await (await openDb({ version: 1 })).close()
    await expect(openDb({ version: 2 })).rejects.toMatchObject({ code: 'ERR_SCHEMA_MIGRATION' })
  })

  it('refuses invalid sublevel names', async () => {
    const s = await openDb()
    expect(() => s.sublevel('Bad!Name')).toThrow(StorageError)
  })
})

describe('atomic batches', () => {
  it('writes across sublevels in one batch, puts and deletes', async () => {
    const s = await openDb()
    await s.sublevel('artifacts').put('gone', 1)
    await s.atomic([
      { type: 'put', sublevel: 'hardware', key: 'a', value: { n: 1 } },
      { type: 'put', sublevel: 'artifacts', key: 'b', value: [1, 'two'] },
      { type: 'del', sublevel: 'artifacts', key: 'gone' }
    ])
    expect(await s.sublevel('hardware').get('a')).toEqual({ n: 1 })
    expect(await s.sublevel('artifacts').get('b')).toEqual([1, 'two'])
    expect(await s.sublevel('artifacts').get('gone')).toBeUndefined()
    // sublevels are isolated key spaces
    expect(await s.sublevel('hardware').get('b')).toBeUndefined()
  })

  it('writes nothing when one op of the batch cannot be encoded', async () => {
    const s = await openDb()
    const bad = { big: 1n } as unknown as null
    await expect(s.atomic([
      { type: 'put', sublevel: 'hardware', key: 'first', value: 1 },
      { type: 'put', sublevel: 'artifacts', key: 'second', value: bad }
    ])).rejects.toThrow()
    expect(await s.sublevel('hardware').get('first')).toBeUndefined()
    expect(await s.sublevel('artifacts').get('second')).toBeUndefined()
  })

  it('is all-or-nothing when the writer is killed with SIGKILL mid-stream', async () => {
    const location = join(dir, 'state')
    // its own process group, so SIGKILL reaches the node process under npx, not just npx
    const child = spawn('npx', ['tsx', join(import.meta.dirname, 'fixtures/batch-writer.ts'), location], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    const exited = new Promise(resolve => child.once('exit', resolve))
    let committed = -1
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject)
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        const lines = d.trim().split('\n')
        committed = Math.max(committed, Number(lines[lines.length - 1]))
        if (committed >= 150) { process.kill(-(child.pid as number), 'SIGKILL'); resolve() }
      })
      void exited.then(() => { resolve() })
    })
    await exited
    expect(committed).toBeGreaterThanOrEqual(150)
    const s = await openWhenUnlocked()
    const counts = new Map<number, number>()
    for (const name of ['hardware', 'artifacts']) {
      for await (const key of s.sublevel(name).keys()) {
        const m = /^b(\d+)\//.exec(key)
        if (m != null) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1)
      }
    }
    // every batch the child saw committed is complete, and any batch present at all is complete
    for (let n = 0; n <= committed; n++) expect(counts.get(n)).toBe(64)
    for (const [n, c] of counts) {
      expect(c, `batch ${n}`).toBe(64)
      expect(await s.sublevel('hardware').get(`done/${n}`)).toBe(64)
    }
  }, 30_000)
})
