import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm, chmod, readFile, writeFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadOrCreateSelfKey } from '@libp2p/config'
import { LevelDatastore } from 'datastore-level'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { initDataDir, loadIdentity, sealKey, KDF_ITERATIONS } from '../../../src/node/identity.js'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meshnode-identity-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

const env = {}
const readJson = async (f: string): Promise<any> => JSON.parse(await readFile(join(dir, f), 'utf8'))

/** A data directory as versions before 0.2 wrote it: libp2p keychain in Level, PBKDF2-SHA512 at 10,000 rounds. */
async function legacyDataDir (): Promise<string> {
  const pass = randomBytes(32).toString('base64url')
  await writeFile(join(dir, 'keystore.pass'), pass + '\n', { mode: 0o600 })
  const dekSalt = randomBytes(24).toString('base64url')
  const store = new LevelDatastore(join(dir, 'keystore'))
  await store.open()
  const key = await loadOrCreateSelfKey(store, { pass, dek: { keyLength: 64, iterationCount: 10_000, hash: 'sha2-512', salt: dekSalt } })
  await store.close()
  const peerId = peerIdFromPrivateKey(key).toString()
  await writeFile(join(dir, 'identity.json'), JSON.stringify({ version: 1, peerId, passphrase: 'file', dekSalt }))
  await writeFile(join(dir, 'admin.token'), randomBytes(32).toString('base64url'), { mode: 0o600 })
  return peerId
}

describe('identity: passphrase file mode', () => {
  it('refuses keystore.pass readable by group or others, saying how to fix it', async () => {
    const { peerId } = await initDataDir(dir, { env })
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(join(dir, 'keystore.pass'), mode)
      const err = await loadIdentity(dir, env).then(() => undefined, e => e)
      expect(err?.code).toBe('ERR_PASS_MODE')
      expect(err.message).toContain(`chmod 600 ${join(dir, 'keystore.pass')}`)
    }
    await chmod(join(dir, 'keystore.pass'), 0o600)
    expect(peerIdFromPrivateKey(await loadIdentity(dir, env)).toString()).toBe(peerId)
  })
})

describe('identity: key derivation', () => {
  it('new keystores use PBKDF2-SHA256 with at least 600,000 rounds, and a wrong passphrase fails', async () => {
    await initDataDir(dir, { env })
    const ks = await readJson('keystore.json')
    expect(ks.kdf).toMatchObject({ name: 'pbkdf2-sha256' })
    expect(ks.kdf.iterations).toBeGreaterThanOrEqual(600_000)
    expect((await stat(join(dir, 'keystore.json'))).mode & 0o777).toBe(0o600)
    await writeFile(join(dir, 'keystore.pass'), 'x'.repeat(43), { mode: 0o600 })
    await expect(loadIdentity(dir, env)).rejects.toMatchObject({ code: 'ERR_KEYSTORE' })
  })

  it('migrates a legacy keychain: same peer id, rewritten with the current parameters, old store removed', async () => {
    const peerId = await legacyDataDir()
    const key = await loadIdentity(dir, env)
    expect(peerIdFromPrivateKey(key).toString()).toBe(peerId)
    expect((await readJson('keystore.json')).kdf.iterations).toBe(KDF_ITERATIONS)
    expect(await readJson('identity.json')).toEqual({ version: 2, peerId, passphrase: 'file' })
    expect(existsSync(join(dir, 'keystore'))).toBe(false)
    // and it opens again from the new keystore
    expect(peerIdFromPrivateKey(await loadIdentity(dir, env)).toString()).toBe(peerId)
  })

  it('rewrites a keystore sealed with fewer rounds, keeping the key', async () => {
    await initDataDir(dir, { env })
    const pass = (await readFile(join(dir, 'keystore.pass'), 'utf8')).trim()
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    await writeFile(join(dir, 'keystore.json'), JSON.stringify(await sealKey(key, pass, 10_000)))
    await writeFile(join(dir, 'identity.json'), JSON.stringify({ version: 2, peerId, passphrase: 'file' }))
    expect(peerIdFromPrivateKey(await loadIdentity(dir, env)).toString()).toBe(peerId)
    expect((await readJson('keystore.json')).kdf.iterations).toBe(KDF_ITERATIONS)
  })
})
