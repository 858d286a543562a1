/**
 * The node's chain wallet: its own secp256k1 key (never the libp2p identity key), kept in an Ethereum encrypted-JSON
 * keystore (ethers 6: scrypt N=2^17, AES-128-CTR, as geth and EIP-2335-style keystores do), written atomically at
 * 0600. The passphrase is the caller's (the node reads MESHNODE_PASSPHRASE or the pass file once); derivation costs
 * ~0.5 s, so open the wallet once per start. The key is never logged or put in an error message.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { scrypt as nodeScrypt } from 'node:crypto'
import { dirname } from 'node:path'
import { encryptKeystoreJson, Wallet, getAddress, scrypt } from 'ethers'
import { ChainError } from './errors.js'

// ethers derives keystore keys with scrypt in JavaScript on the event loop (~0.7 s of it at N=2^17, while the node
// serves); Node's own runs on the libuv thread pool, a third cheaper. Same function, same bytes (ethers' hook for it).
scrypt.register(async (passwd, salt, N, r, p, dkLen) => await new Promise((resolve, reject) => {
  // scrypt needs 128 * N * r bytes: 128 MiB at ethers' and geth's standard cost, over Node's 32 MiB default cap
  nodeScrypt(passwd, salt, dkLen, { N, r, p, maxmem: 256 * N * r + 2 ** 20 }, (err, key) => { err != null ? reject(err) : resolve(new Uint8Array(key)) })
}))

/** scrypt cost of new keystores (ethers' and geth's standard). */
export const DEFAULT_SCRYPT_N = 2 ** 17

/** Options of `createChainWallet`. */
export interface ChainWalletOptions {
  /** scrypt N (a power of two); tests use a small one. Default `DEFAULT_SCRYPT_N`. */
  scryptN?: number
  /** Import this private key (hex) instead of generating one (an operator's funded key). */
  privateKey?: string
}

async function writeAtomic (path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

/** Writes a new keystore at `path` (refusing to overwrite one) and returns the wallet (not connected). */
export async function createChainWallet (path: string, passphrase: string, opts: ChainWalletOptions = {}): Promise<Wallet> {
  if (existsSync(path)) throw new ChainError('ERR_WALLET_EXISTS', `a wallet keystore already exists at ${path}`)
  const wallet = opts.privateKey !== undefined ? new Wallet(opts.privateKey) : Wallet.createRandom()
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, passphrase, { scrypt: { N: opts.scryptN ?? DEFAULT_SCRYPT_N } })
  try {
    await writeAtomic(path, json)
  } catch (err) {
    await rm(`${path}.tmp-${process.pid}`, { force: true })
    throw err
  }
  return new Wallet(wallet.privateKey)
}

/** Opens the keystore at `path` with `passphrase`; a wrong passphrase or a damaged file is ERR_WALLET_KEYSTORE. */
export async function openChainWallet (path: string, passphrase: string): Promise<Wallet> {
  let json: string
  try {
    json = await readFile(path, 'utf8')
  } catch (err) {
    throw new ChainError('ERR_WALLET_MISSING', `no wallet keystore at ${path} (run meshnode init)`, { cause: err })
  }
  try {
    const w = await Wallet.fromEncryptedJson(json, passphrase)
    return new Wallet(w.privateKey)
  } catch {
    // the cause may quote key material from a damaged file: keep it out of the error
    throw new ChainError('ERR_WALLET_KEYSTORE', `cannot decrypt the wallet keystore ${path}: wrong passphrase or damaged file`)
  }
}

/** Opens the keystore at `path`, creating it first when missing (what `meshnode init` and a first start do). */
export async function loadOrCreateChainWallet (path: string, passphrase: string, opts: ChainWalletOptions = {}): Promise<Wallet> {
  if (!existsSync(path)) return await createChainWallet(path, passphrase, opts)
  return await openChainWallet(path, passphrase)
}

/** The wallet's address from its keystore, without the passphrase (the keystore stores it in the clear). */
export async function readWalletAddress (path: string): Promise<string> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new ChainError('ERR_WALLET_MISSING', `no readable wallet keystore at ${path}`, { cause: err })
  }
  const address: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'address') : undefined
  if (typeof address !== 'string') throw new ChainError('ERR_WALLET_KEYSTORE', `wallet keystore ${path} has no address`)
  return getAddress(address.startsWith('0x') ? address : `0x${address}`)
}
