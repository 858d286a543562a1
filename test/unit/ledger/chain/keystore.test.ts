import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { scrypt, toUtf8Bytes } from 'ethers'
import {
  createChainWallet, DEFAULT_SCRYPT_N, levelKv, loadOrCreateChainWallet, openChainWallet, readWalletAddress, NonceStore
} from '../../../../src/ledger/chain/index.js'

const PASS = 'correct horse battery staple 42'
let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'chain-keystore-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('chain wallet keystore', () => {
  it('creates an encrypted keystore at 0600 that opens with the passphrase only', async () => {
    const path = join(dir, 'wallet.json')
    const w = await createChainWallet(path, PASS, { scryptN: 1024 })
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const json = await readFile(path, 'utf8')
    expect(json).not.toContain(w.privateKey.slice(2))
    expect(JSON.parse(json).Crypto.kdf).toBe('scrypt')
    expect((await openChainWallet(path, PASS)).address).toBe(w.address)
    expect(await readWalletAddress(path)).toBe(w.address)
    const wrong = await openChainWallet(path, 'not the passphrase at all').catch((e: unknown) => e)
    expect(wrong).toMatchObject({ code: 'ERR_WALLET_KEYSTORE', kind: 'forbidden' })
    expect(String((wrong as Error).message)).not.toContain(w.privateKey.slice(2))
    await expect(createChainWallet(path, PASS, { scryptN: 1024 })).rejects.toMatchObject({ code: 'ERR_WALLET_EXISTS' })
    expect((await loadOrCreateChainWallet(path, PASS)).address).toBe(w.address)
  })

  it('refuses a missing or damaged keystore with its own codes', async () => {
    await expect(openChainWallet(join(dir, 'none.json'), PASS)).rejects.toMatchObject({ code: 'ERR_WALLET_MISSING' })
    const bad = join(dir, 'bad.json')
    await writeFile(bad, '{"address":"x","Crypto":{}}')
    await expect(openChainWallet(bad, PASS)).rejects.toMatchObject({ code: 'ERR_WALLET_KEYSTORE' })
  })

  it('imports an operator key, and uses scrypt N=2^17 by default', async () => {
    const key = '0x' + '11'.repeat(32)
    const path = join(dir, 'op.json')
    const w = await createChainWallet(path, PASS, { privateKey: key })
    expect(w.privateKey).toBe(key)
    expect(JSON.parse(await readFile(path, 'utf8')).Crypto.kdfparams.n).toBe(DEFAULT_SCRYPT_N)
    // 128 MiB of scrypt state at that cost: over Node's default memory cap, which the registered derivation raises
    expect((await openChainWallet(path, PASS)).privateKey).toBe(key)
  })

  it("derives keys with Node's scrypt through ethers' hook: RFC 7914's test vector", async () => {
    const key = await scrypt(toUtf8Bytes('password'), toUtf8Bytes('NaCl'), 1024, 8, 16, 64)
    expect(key).toBe('0xfdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640')
  })
})

describe('nonce store on Level', () => {
  it('persists the next nonce per account, atomically with other writes, across reopen', async () => {
    const location = join(dir, 'level')
    let db = new Level<string, unknown>(location, { valueEncoding: 'json' })
    let kv = levelKv(db.sublevel<string, unknown>('chain', { valueEncoding: 'json' }))
    const a = new NonceStore(kv, '0xAbC0000000000000000000000000000000000001')
    expect(await a.load()).toBeUndefined()
    await kv.batch([a.op(7), { type: 'put', key: 'intent/x', value: { id: 'x' } }])
    await db.close()
    db = new Level<string, unknown>(location, { valueEncoding: 'json' })
    kv = levelKv(db.sublevel<string, unknown>('chain', { valueEncoding: 'json' }))
    expect(await new NonceStore(kv, '0xabc0000000000000000000000000000000000001').load()).toBe(7)
    expect(await new NonceStore(kv, '0xabc0000000000000000000000000000000000002').load()).toBeUndefined()
    expect(await kv.range('intent/', 'intent/\uffff')).toEqual([['intent/x', { id: 'x' }]])
    await db.close()
  })
})
