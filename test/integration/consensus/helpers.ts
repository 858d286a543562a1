/** A consensus test mesh: in-process nodes whose genesis names every one of them (peer ids are known before start). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initDataDir } from '../../../src/node/identity.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'
import type { ConsensusService } from '../../../src/consensus/index.js'
import type { MeshNode } from '../../../src/node/node.js'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'

/** One node's genesis line. */
export interface GenesisPeer { index: number, score: bigint }

export interface ConsensusMesh {
  mesh: Mesh
  ids: string[]
  dirs: string[]
  service: (i: number) => ConsensusService
  /** The running node i (its gossip, libp2p, metrics, training). */
  node: (i: number) => MeshNode
  /** The harness handle of node i (its API client, stop, restart). */
  handle: (i: number) => NodeHandle
  /** Start stopped node i again on its data directory, bootstrapping from the running nodes `from`. */
  revive: (i: number, from: number[]) => Promise<void>
}

/**
 * Start `scores.length` in-process nodes; node i is pre-trusted with `scores[i]`; `guardians` are node indices
 * (threshold 1 when any). Node 0 starts first, the rest together, bootstrapping from node 0.
 */
export async function startConsensusMesh (scores: bigint[], opts: {
  guardians?: number[]
  consensus?: PartialNodeOptions['consensus']
  /** Genesis members that are not nodes of the mesh (the sybil scenario's lightweight peers). */
  extraPretrusted?: Array<{ peerId: string, score: bigint }>
  /** Genesis reputation parameters (decimal strings, as in a genesis file). */
  genesisParams?: Record<string, string | number>
  /** Other subsystems' options of node i, given every node's peer id (e.g. `training: { sealVoting: 'consensus' }`). */
  others?: (i: number, ids: readonly string[]) => Pick<PartialNodeOptions, 'training' | 'storage'>
} = {}): Promise<ConsensusMesh> {
  const dirs = await Promise.all(scores.map(async () => await mkdtemp(join(tmpdir(), 'meshnode-consensus-'))))
  const ids = await Promise.all(dirs.map(async d => (await initDataDir(d)).peerId))
  const config: PartialNodeOptions = {
    // a member backs another epoch proposal only once the one it backed expired by more than the skew: keep it short
    gossip: { recordMaxSkewMs: 500 },
    ledger: { enabled: false },
    consensus: {
      // slow enough for a loaded 2-core machine: a node must apply an epoch well within one beat
      epochIntervalMs: 2500,
      epochTtlMs: 4000,
      finalityDelayMs: 300,
      syncTimeoutMs: 8000,
      ...opts.consensus,
      genesis: {
        params: opts.genesisParams ?? {},
        pretrusted: [
          ...scores.map((score, i) => ({ peerId: ids[i], score: String(score) })),
          ...(opts.extraPretrusted ?? []).map(p => ({ peerId: p.peerId, score: String(p.score) }))
        ],
        guardians: { keys: (opts.guardians ?? []).map(i => ids[i]), threshold: (opts.guardians ?? []).length > 0 ? 1 : 0 },
        startedAt: 0
      }
    }
  }
  const configOf = (i: number): PartialNodeOptions => ({ ...opts.others?.(i, ids), ...config })
  const mesh = new Mesh()
  for (const d of dirs) mesh.defer(async () => { await rm(d, { recursive: true, force: true }) })
  try {
    const first = await mesh.add({ mode: 'inprocess', dataDir: dirs[0], config: configOf(0) })
    await Promise.all(dirs.slice(1).map(async (d, k) => await mesh.add({ mode: 'inprocess', dataDir: d, config: configOf(k + 1), bootstrap: first.addresses })))
  } catch (err) {
    await mesh.close()
    throw err
  }
  // nodes started together land in mesh.nodes in any order: address them by their data directory's index
  const at = dirs.map(d => mesh.nodes.findIndex(n => n.dataDir === d))
  const handle = (i: number): NodeHandle => mesh.nodes[at[i]]
  const revive = async (i: number, from: number[]): Promise<void> => {
    await handle(i).stop()
    // a new handle on the same directory: a restarted node's own bootstrap list may name addresses that are gone
    await mesh.add({ mode: 'inprocess', dataDir: dirs[i], config: configOf(i), bootstrap: from.flatMap(j => handle(j).addresses) })
    at[i] = mesh.nodes.length - 1
  }
  return { mesh, ids, dirs, service: (i: number) => mesh.meshNode(at[i]).consensus, node: (i: number) => mesh.meshNode(at[i]), handle, revive }
}

/** Wait until every listed node's chain holds epoch >= `epoch`. */
export async function waitEpoch (cm: ConsensusMesh, nodes: number[], epoch: number, timeoutMs = 45_000): Promise<void> {
  await waitFor(() => nodes.every(i => cm.service(i).chain.epoch >= epoch), { timeoutMs, what: `epoch ${epoch} on nodes ${nodes.join(',')}` })
}

/** Every listed node's reputation hash at the highest epoch all of them hold: one value. */
export function commonHashes (cm: ConsensusMesh, nodes: number[]): { epoch: number, hashes: string[] } {
  const epoch = Math.min(...nodes.map(i => cm.service(i).chain.epoch))
  return { epoch, hashes: nodes.map(i => cm.service(i).chain.hash(epoch)) }
}
