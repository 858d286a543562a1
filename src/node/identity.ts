/**
 * The data directory and the node's persistent identity.
 *
 * Layout of `<dataDir>`:
 *   config.yaml       operator config (created by init, never overwritten)
 *   identity.json     public facts: peer id, where the passphrase comes from, the key-derivation salt
 *   keystore/         libp2p keychain (Level): the Ed25519 key as encrypted PKCS#8 (PBKDF2-derived key)
 *   keystore.pass     generated passphrase (mode 0600), only when MESHNODE_PASSPHRASE was not set at init
 *   admin.token       bearer token for the admin API (mode 0600)
 *   api.url           written by a running daemon once its API listens
 */
import { mkdir, readFile, writeFile, rename, chmod, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadOrCreateSelfKey } from '@libp2p/config'
import { LevelDatastore } from 'datastore-level'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { stringify as toYaml } from 'yaml'
import { MeshError } from '../common/errors.js'
import { processEnv } from './options.js'

/** The files of a data directory (see the module comment). */
export const FILES = {
  config: 'config.yaml',
  identity: 'identity.json',
  keystore: 'keystore',
  pass: 'keystore.pass',
  token: 'admin.token',
  apiUrl: 'api.url'
} as const

/** Identity failures: a missing or wrong passphrase, a damaged keystore. */
export class IdentityError extends MeshError {}

interface IdentityFile {
  version: 1
  peerId: string
  passphrase: 'env' | 'file'
  dekSalt: string
}

/** Write a file atomically (temp + rename) with the given mode. */
export async function writeFileAtomic (path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, data, { mode })
  await chmod(tmp, mode)
  await rename(tmp, path)
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
  if (!existsSync(file)) throw new IdentityError('ERR_PASSPHRASE_MISSING', `passphrase file ${file} is missing`)
  return (await readFile(file, 'utf8')).trim()
}

async function openKey (dataDir: string, id: Pick<IdentityFile, 'passphrase' | 'dekSalt'>, env: NodeJS.ProcessEnv): Promise<PrivateKey> {
  const pass = await passphrase(dataDir, id.passphrase, env)
  const store = new LevelDatastore(join(dataDir, FILES.keystore))
  await store.open()
  try {
    return await loadOrCreateSelfKey(store, {
      pass,
      dek: { keyLength: 64, iterationCount: 10_000, hash: 'sha2-512', salt: id.dekSalt }
    })
  } catch (err) {
    throw new IdentityError('ERR_KEYSTORE', 'cannot decrypt the node key: wrong passphrase or damaged keystore', { cause: err })
  } finally {
    await store.close()
  }
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
export async function initDataDir (dataDir: string, opts: { profile?: string, network?: string, env?: NodeJS.ProcessEnv } = {}): Promise<InitResult> {
  const env = opts.env ?? processEnv()
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  let id = await readIdentityFile(dataDir)
  const created = id == null
  if (id == null) {
    const fromEnv = env.MESHNODE_PASSPHRASE != null && env.MESHNODE_PASSPHRASE !== ''
    if (!fromEnv) await writeFileAtomic(join(dataDir, FILES.pass), randomBytes(32).toString('base64url') + '\n')
    const partial = { passphrase: fromEnv ? 'env' as const : 'file' as const, dekSalt: randomBytes(24).toString('base64url') }
    const key = await openKey(dataDir, partial, env)
    id = { version: 1, peerId: peerIdFromPrivateKey(key).toString(), ...partial }
    await writeFileAtomic(join(dataDir, FILES.identity), JSON.stringify(id, null, 2) + '\n', 0o644)
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

/** True when `init` has run in this data directory. */
export function isInitialised (dataDir: string): boolean {
  return existsSync(join(dataDir, FILES.identity))
}

/** Load the node's private key; the peer id must match the one recorded at init. */
export async function loadIdentity (dataDir: string, env: NodeJS.ProcessEnv = processEnv()): Promise<PrivateKey> {
  const id = await readIdentityFile(dataDir)
  if (id == null) throw new IdentityError('ERR_NOT_INITIALISED', `no identity in ${dataDir}: run \`meshnode init\` first`)
  const key = await openKey(dataDir, id, env)
  if (peerIdFromPrivateKey(key).toString() !== id.peerId) throw new IdentityError('ERR_KEYSTORE', 'keystore holds a different key than identity.json records')
  return key
}

/** Read the admin token, refusing a token file readable by others. */
export async function readAdminToken (dataDir: string): Promise<string> {
  const file = join(dataDir, FILES.token)
  const s = await stat(file).catch(() => undefined)
  if (s == null) throw new IdentityError('ERR_NO_TOKEN', `no admin token at ${file}: run \`meshnode init\``)
  if ((s.mode & 0o077) !== 0) throw new IdentityError('ERR_TOKEN_MODE', `${file} must not be readable by group or others (chmod 600 it)`)
  const token = (await readFile(file, 'utf8')).trim()
  if (token.length < 16) throw new IdentityError('ERR_TOKEN', `${file} holds no usable token`)
  return token
}
