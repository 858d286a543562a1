/** A consensus test mesh: in-process nodes whose genesis names every one of them (peer ids are known before start). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'vitest'
import { initDataDir } from '../../../src/node/identity.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'
import type { ConsensusService } from '../../../src/consensus/index.js'
import type { CreateJobRequest } from '../../../src/training/service/api-types.js'
import type { MeshNode } from '../../../src/node/node.js'
import { Mesh, waitFor, type NodeHandle } from '../../harness/index.js'

/**
 * A cut through a running mesh, decided by the test: every node's libp2p connection gater asks it. While a cut is
 * set, a node refuses to dial a peer on the other side and refuses every connection with one, outbound or inbound,
 * at each stage libp2p asks (before dialling, once the remote is known, encrypted, upgraded), so re-dials by
 * bootstrap, kad-dht and discovery fail for as long as it lasts. The peer id is what decides: every node is on
 * 127.0.0.1, so addresses could not.
 */
export class MeshCut {
  private readonly sideOf = new Map<string, number>()

  /** Put each listed group of peer ids on a side of its own (a peer in no group is cut from nobody). */
  set (groups: string[][]): void {
    this.sideOf.clear()
    groups.forEach((g, k) => { for (const id of g) this.sideOf.set(id, k) })
  }

  /** Lift the cut: nothing is refused any more. */
  clear (): void { this.sideOf.clear() }

  /** Whether the cut separates peers `a` and `b`. */
  separates (a: string, b: string): boolean {
    const sa = this.sideOf.get(a)
    const sb = this.sideOf.get(b)
    return sa != null && sb != null && sa !== sb
  }

  /** The gater of the node whose peer id is `self`. */
  gater (self: string): ConnectionGater {
    const deny = (peer: PeerId): boolean => this.separates(self, peer.toString())
    return {
      denyDialPeer: deny,
      denyOutboundConnection: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny
    }
  }
}

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
  /**
   * Cut the running mesh into `sides` (node indices): connections across are hung up, and every dial or connection
   * across is refused until `heal`. Resolves once no node holds a connection across the cut.
   */
  partition: (sides: number[][]) => Promise<void>
  /** Lift the cut and dial across it (every pair), so the sides meet again without waiting for discovery. */
  heal: () => Promise<void>
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
  /** The genesis's start (ms; default 0): now, and the first epoch waits one `epochIntervalMs`. */
  startedAt?: number
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
        startedAt: opts.startedAt ?? 0
      }
    }
  }
  const configOf = (i: number): PartialNodeOptions => ({ ...opts.others?.(i, ids), ...config })
  // every node's gater consults one cut, empty (allowing everything) until a test partitions the mesh
  const cut = new MeshCut()
  const mesh = new Mesh()
  for (const d of dirs) mesh.defer(async () => { await rm(d, { recursive: true, force: true }) })
  try {
    const first = await mesh.add({ mode: 'inprocess', dataDir: dirs[0], config: configOf(0), connectionGater: cut.gater(ids[0]) })
    await Promise.all(dirs.slice(1).map(async (d, k) => await mesh.add({ mode: 'inprocess', dataDir: d, config: configOf(k + 1), connectionGater: cut.gater(ids[k + 1]), bootstrap: first.addresses })))
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
    await mesh.add({ mode: 'inprocess', dataDir: dirs[i], config: configOf(i), connectionGater: cut.gater(ids[i]), bootstrap: from.flatMap(j => handle(j).addresses) })
    at[i] = mesh.nodes.length - 1
  }
  const node = (i: number): MeshNode => mesh.meshNode(at[i])
  const across = (): Array<[number, number]> => ids.flatMap((a, i) => ids.flatMap((b, j) => i < j && cut.separates(a, b) ? [[i, j] as [number, number]] : []))
  const linked = (i: number, j: number): boolean => node(i).libp2p.getConnections(peerIdFromString(ids[j])).length > 0
  const partition = async (sides: number[][]): Promise<void> => {
    cut.set(sides.map(side => side.map(i => ids[i])))
    // hang up from both ends, again while any connection across remains (one mid-upgrade when the cut was set)
    await waitFor(async () => {
      const open = across().filter(([i, j]) => node(i).libp2p.getConnections(peerIdFromString(ids[j])).length > 0 ||
        node(j).libp2p.getConnections(peerIdFromString(ids[i])).length > 0)
      await Promise.all(open.map(async ([i, j]) => {
        await node(i).libp2p.hangUp(peerIdFromString(ids[j])).catch(() => {})
        await node(j).libp2p.hangUp(peerIdFromString(ids[i])).catch(() => {})
      }))
      return open.length === 0
    }, { timeoutMs: 20_000, what: 'no connection across the cut' })
    // each side whole: a node may have reached its own side only through the other (a revived node dials only the
    // peers it is given), and gossip inside a side needs a path inside it
    const within = sides.flatMap(side => side.flatMap((i, k) => side.slice(k + 1).map(j => [i, j] as [number, number])))
    await Promise.all(within.filter(([i, j]) => !linked(i, j)).map(async ([i, j]) => {
      await node(i).libp2p.dial(multiaddr(handle(j).addresses[0]), { signal: AbortSignal.timeout(20_000) }).catch(() => {})
    }))
    await waitFor(() => within.every(([i, j]) => linked(i, j)), { timeoutMs: 20_000, what: 'every node connected within its side' })
  }
  const heal = async (): Promise<void> => {
    const pairs = across()
    cut.clear()
    await Promise.all(pairs.map(async ([i, j]) => {
      // a dial of its own: the peer store may hold an address that another start replaced
      await node(i).libp2p.dial(multiaddr(handle(j).addresses[0]), { signal: AbortSignal.timeout(20_000) }).catch(() => {})
    }))
    const ends = [...new Set(pairs.flat())]
    await waitFor(() => ends.every(i => pairs.some(([a, b]) => (a === i || b === i) && linked(a, b))),
      { timeoutMs: 20_000, what: 'every node connected across the healed cut' })
  }
  return { mesh, ids, dirs, service: (i: number) => node(i).consensus, node, handle, revive, partition, heal }
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

/** Assert that the listed nodes (default: all) hold one reputation hash at the highest epoch all of them hold. */
export function expectSameHashes (cm: ConsensusMesh, nodes = cm.ids.map((_, i) => i)): void {
  const { hashes } = commonHashes(cm, nodes)
  expect(new Set(hashes).size).toBe(1)
}

/** The smallest real training job (digits, MLP 16-10, 2 rounds, short timings): history for the consensus tests. */
export function smallDigitsJob (minParticipants: number): CreateJobRequest {
  return {
    model: { arch: 'mlp', layers: [16, 10], seed: 4 },
    dataset: 'digits',
    rounds: 2,
    minParticipants,
    localEpochs: 1,
    batchSize: 20,
    learningRate: 0.1,
    aggregation: 'fedavg',
    compression: 'fp32',
    timing: { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 500, capMs: 4000, sealTimeoutMs: 4000 }
  }
}
