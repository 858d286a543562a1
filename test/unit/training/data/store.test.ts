import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Dataset } from '../../../../src/training/data/dataset.js'
import { DatasetStore, decodeDataset, encodeDataset, validateDatasetName } from '../../../../src/training/data/store.js'

const sample = (): Dataset => ({
  name: 'whatever',
  x: Float32Array.from([0.1, -2.5, 3e-8, 1e30, 0, -0]),
  y: Int32Array.from([2, 0, 1]),
  features: 2,
  classes: 3,
  shape: [2, 1, 1]
})

let dir: string
let store: DatasetStore
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'meshnode-ds-'))
  store = new DatasetStore(dir)
})
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

describe('DatasetStore', () => {
  it('saves and loads a dataset bit for bit under <dataDir>/datasets/<name>.mnds', async () => {
    const info = await store.save('my-set_1.v2', sample())
    expect(info).toMatchObject({ name: 'my-set_1.v2', rows: 3, features: 2, classes: 3, shape: [2, 1, 1] })
    expect(await readdir(path.join(dir, 'datasets'))).toEqual(['my-set_1.v2.mnds'])
    const back = await store.load('my-set_1.v2')
    expect(back.name).toBe('my-set_1.v2')
    expect(Buffer.from(back.x.buffer).equals(Buffer.from(sample().x.buffer))).toBe(true)
    expect(Array.from(back.y)).toEqual([2, 0, 1])
    expect(back).toMatchObject({ features: 2, classes: 3, shape: [2, 1, 1] })
    expect(info.bytes).toBe((await readFile(store.pathOf('my-set_1.v2'))).length)
  })

  it('lists, checks, replaces and deletes datasets, leaving no temp files', async () => {
    expect(await store.list()).toEqual([])
    await store.save('b', sample())
    await store.save('a', { ...sample(), shape: undefined, x: new Float32Array(4), y: Int32Array.from([0, 1]), features: 2 })
    await store.save('b', { ...sample(), classes: 5 })
    const list = await store.list()
    expect(list.map(d => [d.name, d.rows, d.classes])).toEqual([['a', 2, 3], ['b', 3, 5]])
    expect(await store.has('a')).toBe(true)
    expect(await store.delete('a')).toBe(true)
    expect(await store.delete('a')).toBe(false)
    expect(await store.has('a')).toBe(false)
    expect(await readdir(store.dir)).toEqual(['b.mnds'])
  })

  it.each([
    '', 'Upper', '-lead', '.hidden', 'a/b', '../x', 'a b', 'x'.repeat(65), 'digits', 'mnist'
  ])('rejects the name %j', async name => {
    expect(() => validateDatasetName(name)).toThrow(expect.objectContaining({ code: 'ERR_DATASET_NAME' }))
    await expect(store.save(name, sample())).rejects.toMatchObject({ code: 'ERR_DATASET_NAME' })
    await expect(store.load(name)).rejects.toMatchObject({ code: 'ERR_DATASET_NAME' })
  })

  it.each(['a', '0', 'a.b-c_d', 'x'.repeat(64)])('accepts the name %j', name => {
    expect(validateDatasetName(name)).toBe(name)
  })

  it('reports a missing dataset and detects a damaged file', async () => {
    await expect(store.load('nope')).rejects.toMatchObject({ code: 'ERR_DATASET_NOT_FOUND' })
    await store.save('c', sample())
    const file = store.pathOf('c')
    const bytes = await readFile(file)
    bytes[bytes.length - 5] ^= 0xff
    await writeFile(file, bytes)
    await expect(store.load('c')).rejects.toMatchObject({ code: 'ERR_DATASET_CORRUPT', message: /checksum/ })
    await writeFile(file, bytes.subarray(0, bytes.length - 4))
    await expect(store.load('c')).rejects.toMatchObject({ code: 'ERR_DATASET_CORRUPT', message: /expected \d+ bytes/ })
    await writeFile(file, Buffer.from('not a dataset'))
    await expect(store.load('c')).rejects.toMatchObject({ code: 'ERR_DATASET_CORRUPT' })
    expect(await store.list()).toEqual([])
  })

  it('refuses to save an inconsistent dataset, and honours an aborted signal', async () => {
    await expect(store.save('bad', { ...sample(), y: Int32Array.from([0, 1, 7]) })).rejects.toThrow(/label 7/)
    await expect(store.save('short', { ...sample(), x: new Float32Array(5) })).rejects.toThrow(/expected 3 rows/)
    await expect(store.save('aborted', sample(), { signal: AbortSignal.abort() })).rejects.toThrow()
    expect(await store.has('aborted')).toBe(false)
  })

  it('encodes to a compact layout: header, float32 features, int32 labels', () => {
    const bytes = encodeDataset(sample())
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('MNDS')
    const dv = new DataView(bytes.buffer, bytes.byteOffset)
    expect(dv.getUint32(4, true)).toBe(1)
    const meta = dv.getUint32(8, true)
    const dataStart = Math.ceil((12 + meta) / 4) * 4
    expect(bytes.length).toBe(dataStart + 6 * 4 + 3 * 4)
    expect(dv.getFloat32(dataStart + 4, true)).toBe(-2.5)
    expect(dv.getInt32(dataStart + 24, true)).toBe(2)
    expect(Array.from(decodeDataset(bytes, 'x').y)).toEqual([2, 0, 1])
  })
})
