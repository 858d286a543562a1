/**
 * The data directory and the node's persistent identity (layout: see data-dir.ts).
 *
 * The key is kept in `keystore.json`: AES-256-GCM under a key derived from the passphrase with PBKDF2-SHA256 at
 * `KDF_ITERATIONS` (OWASP's 2023 figure; 0.29 s here, paid once per start). A keystore written with weaker parameters
 * (including the libp2p keychain of versions before 0.2, PBKDF2 at 10,000 rounds) still opens, and is rewritten with
 * the current parameters on that start, atomically, keeping the same key and so the same peer id.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes, pbkdf2, createCipheriv, createDecipheriv } from 'node:crypto'
import { promisify } from 'node:util'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { stringify as toYaml } from 'yaml'
import { FILES, IdentityError, readSecretFile, writeFileAtomic, readAdminToken } from './data-dir.js'

/** The process environment (not options.js's: that module loads every subsystem's options; `start` derives the key while they load). */
const processEnv = (): NodeJS.ProcessEnv => process.env

export { FILES, IdentityError, writeFileAtomic, readAdminToken }

/** PBKDF2-SHA256 rounds for new and migrated keystores (OWASP 2023: >= 600,000). */
export const KDF_ITERATIONS = 600_000

const pbkdf2Async = promisify(pbkdf2)

interface IdentityFile {
  version: 1 | 2
  peerId: string
  passphrase: 'env' | 'file'
  /** Version 1 only: the salt of the libp2p keychain's key derivation. */
  dekSalt?: string
}

/** `keystore.json`: the encrypted key and how to derive the key that opens it. */
interface KeystoreFile {
  version: 2
  kdf: { name: 'pbkdf2-sha256', iterations: number, salt: string }
  cipher: { name: 'aes-256-gcm', iv: string, tag: string }
  /** The libp2p protobuf of the private key, encrypted (base64). */
  ciphertext: string
}

async function readIdentityFile (dataDir: string): Promise<IdentityFile | undefined> {
  const p = join(dataDir, FILES.identity)
  if (!existsSync(p)) return undefined
  return JSON.parse(await readFile(p, 'utf8')) as IdentityFile
}

async function passphrase (dataDir: string, source: 'env' | 'file', env: NodeJS.ProcessEnv): Promise<string> {
  if (source === 'env') {
    const p = env.MESHNODE_PASSPHRASE
    if (p == null || p === '') throw new IdentityError('ERR_PASSPHRASE_MISSING', 'this node\'s key is encrypted with MESHNODE_PASSPHRASE: set it in the environment')
    if (p.length < 20) throw new IdentityError('ERR_PASSPHRASE_SHORT', 'MESHNODE_PASSPHRASE must be at least 20 characters')
    return p
  }
  const file = join(dataDir, FILES.pass)
  return await readSecretFile(file, 'the keystore passphrase', { mode: 'ERR_PASS_MODE', missing: 'ERR_PASSPHRASE_MISSING', missingMessage: `passphrase file ${file} is missing` })
}

async function deriveKey (pass: string, kdf: KeystoreFile['kdf']): Promise<Buffer> {
  return await pbkdf2Async(pass, Buffer.from(kdf.salt, 'base64'), kdf.iterations, 32, 'sha256')
}

/** Encrypt a private key into a keystore record with the current parameters. */
export async function sealKey (key: PrivateKey, pass: string, iterations = KDF_ITERATIONS): Promise<KeystoreFile> {
  const kdf = { name: 'pbkdf2-sha256' as const, iterations, salt: randomBytes(16).toString('base64') }
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(pass, kdf), iv)
  const ciphertext = Buffer.concat([cipher.update(privateKeyToProtobuf(key)), cipher.final()])
  return { version: 2, kdf, cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') }, ciphertext: ciphertext.toString('base64') }
}

/** Decrypt a keystore record; a wrong passphrase or a damaged file is ERR_KEYSTORE. */
export async function openKeystore (ks: KeystoreFile, pass: string): Promise<PrivateKey> {
  try {
    if (ks.version !== 2 || ks.kdf.name !== 'pbkdf2-sha256' || ks.cipher.name !== 'aes-256-gcm') throw new Error('unknown keystore format')
    const decipher = createDecipheriv('aes-256-gcm', await deriveKey(pass, ks.kdf), Buffer.from(ks.cipher.iv, 'base64'))
    decipher.setAuthTag(Buffer.from(ks.cipher.tag, 'base64'))
    return privateKeyFromProtobuf(Buffer.concat([decipher.update(Buffer.from(ks.ciphertext, 'base64')), decipher.final()]))
  } catch (err) {
    throw new IdentityError('ERR_KEYSTORE', 'cannot decrypt the node key: wrong passphrase or damaged keystore', { cause: err })
  }
}

/** Open the libp2p keychain of versions before 0.2 (PBKDF2-SHA512 at 10,000 rounds in a Level store). */
async function openLegacyKeychain (dataDir: string, pass: string, dekSalt: string): Promise<PrivateKey> {
  const [{ loadOrCreateSelfKey }, { LevelDatastore }, { Key }] = await Promise.all([
    import('@libp2p/config'), import('datastore-level'), import('interface-datastore')
  ])
  const store = new LevelDatastore(join(dataDir, FILES.keystore))
  await store.open()
  try {
    // never create a key here: a missing legacy key is a damaged data directory, not a new identity
    if (!await store.has(new Key('/pkcs8/self'))) throw new Error('no key in the legacy keystore')
    return await loadOrCreateSelfKey(store, { pass, dek: { keyLength: 64, iterationCount: 10_000, hash: 'sha2-512', salt: dekSalt } })
  } catch (err) {
    throw new IdentityError('ERR_KEYSTORE', 'cannot decrypt the node key: wrong passphrase or damaged keystore', { cause: err })
  } finally {
    await store.close()
  }
}

async function writeKeystore (dataDir: string, ks: KeystoreFile): Promise<void> {
  await writeFileAtomic(join(dataDir, FILES.keystoreFile), JSON.stringify(ks, null, 2) + '\n', 0o600)
}

async function writeIdentity (dataDir: string, id: IdentityFile): Promise<void> {
  await writeFileAtomic(join(dataDir, FILES.identity), JSON.stringify(id, null, 2) + '\n', 0o644)
}

/** What `init` did: whether it created the identity, and the peer id. */
export interface InitResult {
  created: boolean
  peerId: string
  dataDir: string
}

/**
 * Create the data directory, identity, admin token and config. Idempotent: existing keys, token and config are
 * kept, so running it twice never changes the peer id.
 */
export async function initDataDir (dataDir: string, opts: { profile?: string, network?: string, env?: NodeJS.ProcessEnv, kdfIterations?: number } = {}): Promise<InitResult> {
  const env = opts.env ?? processEnv()
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  let id = await readIdentityFile(dataDir)
  const created = id == null
  if (id == null) {
    const fromEnv = env.MESHNODE_PASSPHRASE != null && env.MESHNODE_PASSPHRASE !== ''
    if (!fromEnv) await writeFileAtomic(join(dataDir, FILES.pass), randomBytes(32).toString('base64url') + '\n')
    const source = fromEnv ? 'env' as const : 'file' as const
    const key = await generateKeyPair('Ed25519')
    await writeKeystore(dataDir, await sealKey(key, await passphrase(dataDir, source, env), opts.kdfIterations))
    id = { version: 2, peerId: peerIdFromPrivateKey(key).toString(), passphrase: source }
    await writeIdentity(dataDir, id)
  }
  const tokenFile = join(dataDir, FILES.token)
  if (!existsSync(tokenFile)) await writeFileAtomic(tokenFile, randomBytes(32).toString('base64url') + '\n')
  const configFile = join(dataDir, FILES.config)
  if (!existsSync(configFile)) {
    const cfg = { profile: opts.profile ?? 'default', network: opts.network ?? 'local' }
    await writeFileAtomic(configFile, '# meshnode config: see configs/ for presets and README.md for every key\n' + toYaml(cfg), 0o644)
  }
  return { created, peerId: id.peerId, dataDir }
}

/**
 * The passphrase this data directory's keys are encrypted with (MESHNODE_PASSPHRASE or the 0600 pass file, as
 * recorded at init): the wallet keystore uses the same one as the identity.
 */
export async function readPassphrase (dataDir: string, env: NodeJS.ProcessEnv = processEnv()): Promise<string> {
  const id = await readIdentityFile(dataDir)
  if (id == null) throw new IdentityError('ERR_NOT_INITIALISED', `no identity in ${dataDir}: run \`meshnode init\` first`)
  return await passphrase(dataDir, id.passphrase, env)
}

/** True when `init` has run in this data directory. */
export function isInitialised (dataDir: string): boolean {
  return existsSync(join(dataDir, FILES.identity))
}

/**
 * Load the node's private key; the peer id must match the one recorded at init. A keystore with weaker key
 * derivation than `KDF_ITERATIONS` (or the legacy keychain) is rewritten with the current parameters: the new
 * `keystore.json` is renamed into place first, then identity.json, then the legacy keychain is removed, so a crash at
 * any point leaves a keystore that opens with the same passphrase and holds the same key.
 */
export async function loadIdentity (dataDir: string, env: NodeJS.ProcessEnv = processEnv()): Promise<PrivateKey> {
  const id = await readIdentityFile(dataDir)
  if (id == null) throw new IdentityError('ERR_NOT_INITIALISED', `no identity in ${dataDir}: run \`meshnode init\` first`)
  const pass = await passphrase(dataDir, id.passphrase, env)
  const ksFile = join(dataDir, FILES.keystoreFile)
  let key: PrivateKey
  let migrate: boolean
  if (existsSync(ksFile)) {
    const ks = JSON.parse(await readFile(ksFile, 'utf8')) as KeystoreFile
    key = await openKeystore(ks, pass)
    migrate = ks.kdf.iterations < KDF_ITERATIONS
  } else {
    if (id.dekSalt == null) throw new IdentityError('ERR_KEYSTORE', `${ksFile} is missing`)
    key = await openLegacyKeychain(dataDir, pass, id.dekSalt)
    migrate = true
  }
  if (peerIdFromPrivateKey(key).toString() !== id.peerId) throw new IdentityError('ERR_KEYSTORE', 'keystore holds a different key than identity.json records')
  if (migrate) await writeKeystore(dataDir, await sealKey(key, pass))
  if (id.version !== 2) await writeIdentity(dataDir, { version: 2, peerId: id.peerId, passphrase: id.passphrase })
  if (existsSync(join(dataDir, FILES.keystore))) await rm(join(dataDir, FILES.keystore), { recursive: true, force: true })
  return key
}
