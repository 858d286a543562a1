/**
 * A mesh of in-process nodes with the ledger on, sharing one embedded anvil, started as fast as a loaded machine
 * allows: every data directory is prepared first, in parallel, with its chain wallet's keystore already written at a
 * small scrypt cost (the keystore format's test setting; a node then opens it in milliseconds instead of deriving
 * scrypt N=2^17 on the shared event loop, ~2 s per node under load); node 0 starts first, the rest in parallel
 * bootstrapping from it; then it waits until every node's market answers and its wallet is ready.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'
import { initDataDir, readPassphrase } from '../../../src/node/identity.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'
import { WALLET_FILE, type WalletView } from '../../../src/ledger/index.js'
import { createChainWallet } from '../../../src/ledger/chain/index.js'

/** scrypt N of the pre-written test keystores (the production default is 2^17). */
const TEST_SCRYPT_N = 2 ** 10

/** A started ledger mesh: the nodes in index order and each node's wallet address. */
export interface LedgerMesh {
  mesh: Mesh
  nodes: NodeHandle[]
  wallets: string[]
}

/** Start `n` in-process nodes with `config` (which must turn the ledger on); closes what started if one fails. */
export async function startLedgerMesh (n: number, config: PartialNodeOptions, opts: { readyTimeoutMs?: number } = {}): Promise<LedgerMesh> {
  const mesh = new Mesh()
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000
  try {
    const dirs = await Promise.all(Array.from({ length: n }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'meshnode-test-'))
      // registered before any node: the cleanups run last-in-first-out, so the directories go after the nodes
      mesh.defer(async () => { await rm(dir, { recursive: true, force: true }) })
      await initDataDir(dir, { env: {} })
      await createChainWallet(join(dir, WALLET_FILE), await readPassphrase(dir, {}), { scryptN: TEST_SCRYPT_N })
      return dir
    }))
    const first = await mesh.add({ mode: 'inprocess', config, dataDir: dirs[0] })
    await Promise.all(dirs.slice(1).map(async dataDir => await mesh.add({ mode: 'inprocess', config, bootstrap: first.addresses, dataDir })))
    const nodes = [...mesh.nodes]
    const wallets = await Promise.all(nodes.map(async node => {
      await waitFor(async () => await node.api.request('GET', '/v1/market/books').then(() => true, () => false), { timeoutMs: readyTimeoutMs, what: `node ${node.index}'s market` })
      return await waitFor(async () => (await node.api.request<WalletView>('GET', '/v1/wallet')).address, { timeoutMs: readyTimeoutMs, what: `node ${node.index}'s wallet` })
    }))
    return { mesh, nodes, wallets }
  } catch (err) {
    await mesh.close()
    throw err
  }
}
