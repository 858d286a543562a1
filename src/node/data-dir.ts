/**
 * The files of a data directory and the light helpers both the daemon and the CLI's client use (the admin token, the
 * API URL, atomic writes). Kept free of libp2p, TypeBox and the options module so a client command loads little.
 *
 * Layout of `<dataDir>`:
 *   config.yaml       operator config (created by init, never overwritten)
 *   identity.json     public facts: peer id, where the passphrase comes from
 *   keystore.json     the Ed25519 key, AES-256-GCM under a PBKDF2-SHA256 key derived from the passphrase
 *   keystore/         the keystore of versions before 0.2 (libp2p keychain in Level), migrated on first start
 *   keystore.pass     generated passphrase (mode 0600), only when MESHNODE_PASSPHRASE was not set at init
 *   admin.token       bearer token for the admin API (mode 0600)
 *   api.url           written by a running daemon once its API listens
 */
import { readFile, writeFile, rename, chmod, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { homedir } from 'node:os'
import { randomBytes } from 'node:crypto'
import { MeshError } from '../common/errors.js'

/** The files of a data directory (see the module comment). */
export const FILES = {
  config: 'config.yaml',
  identity: 'identity.json',
  keystore: 'keystore',
  keystoreFile: 'keystore.json',
  pass: 'keystore.pass',
  token: 'admin.token',
  apiUrl: 'api.url'
} as const

/**
 * The data directory when none is given: `MESHNODE_DATA_DIR`, else `~/.meshnode`. Re-exported by options.ts (the
 * reader of the environment); it lives here so the CLI's client commands find the daemon without the option schema.
 */
export function defaultDataDir (env: NodeJS.ProcessEnv = process.env): string {
  return env.MESHNODE_DATA_DIR != null && env.MESHNODE_DATA_DIR !== '' ? resolve(env.MESHNODE_DATA_DIR) : join(homedir(), '.meshnode')
}

/** Identity failures: a missing or wrong passphrase, a damaged keystore, a secret file readable by others. */
export class IdentityError extends MeshError {}

/** Write a file atomically (temp + rename) with the given mode. */
export async function writeFileAtomic (path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, data, { mode })
  await chmod(tmp, mode)
  await rename(tmp, path)
}

/**
 * Read a secret file (the admin token, the keystore passphrase), refusing one that group or others may read: the
 * error says how to fix the mode.
 */
export async function readSecretFile (file: string, what: string, codes: { mode: string, missing: string, missingMessage: string }): Promise<string> {
  const s = await stat(file).catch(() => undefined)
  if (s == null) throw new IdentityError(codes.missing, codes.missingMessage)
  if ((s.mode & 0o077) !== 0) {
    throw new IdentityError(codes.mode, `${file} (${what}) has mode ${(s.mode & 0o777).toString(8).padStart(4, '0')} and must not be readable by group or others: run \`chmod 600 ${file}\``)
  }
  return (await readFile(file, 'utf8')).trim()
}

/** Read the admin token, refusing a token file readable by others. */
export async function readAdminToken (dataDir: string): Promise<string> {
  const file = join(dataDir, FILES.token)
  const token = await readSecretFile(file, 'the admin token', { mode: 'ERR_TOKEN_MODE', missing: 'ERR_NO_TOKEN', missingMessage: `no admin token at ${file}: run \`meshnode init\`` })
  if (token.length < 16) throw new IdentityError('ERR_TOKEN', `${file} holds no usable token`)
  return token
}
