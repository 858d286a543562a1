/**
 * The multi-node test harness: start N meshnode nodes on 127.0.0.1 with free ports, either as child processes
 * running the real CLI or in-process, wire them by bootstrap, wait for conditions with deadlines, SIGKILL and
 * restart nodes, and clean everything up last-in-first-out. Every multi-node test uses it.
 */
import '../../src/node/polyfills.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { createServer } from 'node:net'
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify as toYaml } from 'yaml'
import type { ConnectionGater } from '@libp2p/interface'
import { initDataDir } from '../../src/node/identity.js'
import { ApiClient } from '../../src/node/cli/client.js'
import { loadNodeOptions, mergeOptions, type PartialNodeOptions } from '../../src/node/options.js'
import { MeshNode } from '../../src/node/node.js'
import { silentLogger } from '../../src/common/logger.js'
import { createLogger } from '../../src/node/logger.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The installed entry point: runs the compiled dist/ (built by the integration project's global setup). */
export const BIN = join(REPO_ROOT, 'bin/meshnode.js')
/** Node arguments that run the CLI. */
export const CLI = [BIN]

/** A free TCP port on 127.0.0.1 (e.g. a test's own anvil: never 8545, where a developer's chain may run). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0) })
    })
  })
}

/** Poll `check` until it returns a truthy value or the deadline passes; never a bare sleep. */
export async function waitFor<T> (check: () => Promise<T> | T, opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000)
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v != null && v !== false) return v as NonNullable<T>
    } catch (err) { last = err }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs ?? 15_000} ms waiting for ${opts.what ?? 'condition'}${last != null ? `: ${(last as Error).message}` : ''}`)
    }
    await new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 100))
  }
}

/** Test-friendly config: loopback only, no mDNS, no benchmark, quick adverts, many peers and connections per IP allowed. */
export const TEST_CONFIG: PartialNodeOptions = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  api: { port: 0 },
  log: { level: 'warn', format: 'json' },
  gossip: { ipColocationThreshold: 1000 },
  // every node dials from 127.0.0.1: libp2p's 5 new connections per second per IP would refuse a forming mesh's dials
  connections: { inboundPerIpPerSecond: 1000 },
  hardware: { benchmark: false, advertiseIntervalMs: 5000 },
  // no chain unless a test asks for one (`config: { ledger: { enabled: true, ... } }`): meshes would each start anvil
  ledger: { enabled: false },
  // MESHNODE_SEAL_VOTING=majority runs the same tests with seals by strict majority of training votes (`training.sealVoting`)
  ...(process.env.MESHNODE_SEAL_VOTING === 'consensus' || process.env.MESHNODE_SEAL_VOTING === 'majority' ? { training: { sealVoting: process.env.MESHNODE_SEAL_VOTING } } : {})
}

export interface NodeHandle {
  readonly index: number
  readonly dataDir: string
  peerId: string
  /** Listen multiaddrs, each ending in /p2p/<peerId>. */
  addresses: string[]
  api: ApiClient
  /** Graceful stop (SIGTERM / close). */
  stop: () => Promise<void>
  /** SIGKILL (process nodes) or an abrupt close (in-process). */
  kill: () => Promise<void>
  /** Start again on the same data directory. */
  restart: () => Promise<void>
  /** Process nodes: recent stdout+stderr, for failure messages. */
  output: () => string
  /** Process nodes: the exit code of the last run (null while running, when killed by a signal, or in-process). */
  exitCode: () => number | null
  /** Process nodes: the running child's pid (a test may pause it with SIGSTOP: a peer that is there but silent). */
  pid?: number
  /** When the latest start began (Date.now(): the process was spawned, or the in-process node began creating). */
  startedAt?: number
  /** When the latest start finished (listening, admin API up). */
  readyAt?: number
}

export interface SpawnOptions {
  /** Extra config merged over TEST_CONFIG and written to <dataDir>/config.yaml. */
  config?: PartialNodeOptions
  bootstrap?: string[]
  env?: NodeJS.ProcessEnv
  extraArgs?: string[]
  /** In-process nodes only: a libp2p connection gater (a partition test refuses connections across a cut with it). */
  connectionGater?: ConnectionGater
}

async function prepareDataDir (config: PartialNodeOptions, dataDir?: string): Promise<string> {
  const dir = dataDir ?? await mkdtemp(join(tmpdir(), 'meshnode-test-'))
  await initDataDir(dir)
  await writeFile(join(dir, 'config.yaml'), toYaml(mergeOptions<PartialNodeOptions>(TEST_CONFIG, config)))
  return dir
}

/** A node running the real CLI (`bin/meshnode.js start`) as a child process. */
class ProcessNode implements NodeHandle {
  peerId = ''
  addresses: string[] = []
  api!: ApiClient
  startedAt?: number
  readyAt?: number
  private child?: ChildProcess
  private log: string[] = []

  constructor (readonly index: number, readonly dataDir: string, private readonly opts: SpawnOptions) {}

  get pid (): number | undefined { return this.child?.pid }

  output (): string { return this.log.join('') }

  async start (): Promise<void> {
    await rm(join(this.dataDir, 'api.url'), { force: true })
    // MESHNODE_TEST_LOG=debug MESHNODE_TEST_LOG_DIR=dir: process nodes log at that level to dir/node-<index>.log
    const level = process.env.MESHNODE_TEST_LOG
    const logDir = process.env.MESHNODE_TEST_LOG_DIR
    // MESHNODE_TEST_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': extra Node flags for process nodes (profiling)
    const nodeArgs = (process.env.MESHNODE_TEST_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
    const args = [...nodeArgs, ...CLI, 'start', '--data-dir', this.dataDir, ...(this.opts.bootstrap ?? []).flatMap(b => ['--bootstrap', b]), ...(level != null && level !== '' && logDir != null ? ['--log-level', level] : []), ...(this.opts.extraArgs ?? [])]
    this.startedAt = Date.now()
    this.readyAt = undefined
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    const file = logDir != null && logDir !== '' ? await mkdir(logDir, { recursive: true }).then(() => createWriteStream(join(logDir, `node-${this.index}.log`), { flags: 'a' })) : undefined
    const keep = (d: Buffer): void => { file?.write(d); this.log.push(d.toString()); if (this.log.length > 200) this.log.shift() }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const line = await waitFor(() => {
      if (child.exitCode != null) throw new Error(`node ${this.index} exited with ${child.exitCode}: ${this.output().slice(-2000)}`)
      return /^meshnode (\S+) listening on (.*); admin API (\S+)$/m.exec(this.output())
    }, { timeoutMs: 60_000, what: `node ${this.index} to start` })
    this.peerId = line[1]
    this.addresses = line[2].split(' ')
    this.api = await ApiClient.fromDataDir(this.dataDir)
    this.readyAt = Date.now()
  }

  async stop (): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    child.kill('SIGTERM')
    await exited
  }

  /** The exit code of the last run (null while running or when killed by a signal). */
  exitCode (): number | null { return this.child?.exitCode ?? null }

  async kill (): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    child.kill('SIGKILL')
    await exited
  }

  async restart (): Promise<void> {
    await this.kill()
    this.log = []
    await this.start()
  }
}

/** A node running in this process (faster; for tests that need its internals). */
class InProcessNode implements NodeHandle {
  peerId = ''
  addresses: string[] = []
  api!: ApiClient
  node?: MeshNode
  startedAt?: number
  readyAt?: number

  constructor (readonly index: number, readonly dataDir: string, private readonly opts: SpawnOptions) {}

  output (): string { return '' }
  exitCode (): number | null { return null }

  async start (): Promise<void> {
    this.startedAt = Date.now()
    this.readyAt = undefined
    const options = loadNodeOptions({ dataDir: this.dataDir, flags: { bootstrap: this.opts.bootstrap }, env: {} })
    // MESHNODE_TEST_LOG=debug shows in-process nodes' logs on stderr
    const level = process.env.MESHNODE_TEST_LOG
    const logger = level != null && level !== '' ? createLogger({ level, format: 'json', destination: 2 }).child({ node: this.index }) : silentLogger
    this.node = await MeshNode.create({ options, logger, env: this.opts.env ?? process.env, connectionGater: this.opts.connectionGater })
    this.peerId = this.node.peerId
    this.addresses = this.node.addresses()
    this.api = new ApiClient(this.node.api.url, (await readFile(join(this.dataDir, 'admin.token'), 'utf8')).trim())
    this.readyAt = Date.now()
  }

  async stop (): Promise<void> { await this.node?.close(); this.node = undefined }
  async kill (): Promise<void> { await this.stop() }
  async restart (): Promise<void> { await this.stop(); await this.start() }
}

export type NodeMode = 'process' | 'inprocess'

/** A set of nodes and everything to clean up, closed last-in-first-out. */
export class Mesh {
  readonly nodes: NodeHandle[] = []
  private readonly cleanups: Array<() => Promise<void>> = []

  /** Start `n` nodes; node 0 first, then the rest in parallel bootstrapping from node 0. */
  static async start (n: number, opts: { mode?: NodeMode, config?: PartialNodeOptions, env?: NodeJS.ProcessEnv } = {}): Promise<Mesh> {
    const mesh = new Mesh()
    try {
      // data directories first (init derives a key: not part of a node's start), so start times measure starting
      const dirs = await Promise.all(Array.from({ length: n }, async () => await prepareDataDir(opts.config ?? {})))
      for (const dir of dirs) mesh.cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
      const first = await mesh.add({ mode: opts.mode, config: opts.config, env: opts.env, dataDir: dirs[0] })
      await Promise.all(dirs.slice(1).map(async dataDir => await mesh.add({ mode: opts.mode, config: opts.config, env: opts.env, bootstrap: first.addresses, dataDir })))
    } catch (err) {
      await mesh.close()
      throw err
    }
    return mesh
  }

  /** Add one node (with its own fresh data directory unless `dataDir` is given). */
  async add (opts: SpawnOptions & { mode?: NodeMode, dataDir?: string } = {}): Promise<NodeHandle> {
    const dataDir = await prepareDataDir(opts.config ?? {}, opts.dataDir)
    if (opts.dataDir == null) this.cleanups.push(async () => { await rm(dataDir, { recursive: true, force: true }) })
    const index = this.nodes.length
    const node = opts.mode === 'inprocess' ? new InProcessNode(index, dataDir, opts) : new ProcessNode(index, dataDir, opts)
    this.nodes.push(node)
    // a profiled node (MESHNODE_TEST_NODE_ARGS='--cpu-prof ...') writes its profile only on a graceful exit
    this.cleanups.push(async () => { await (process.env.MESHNODE_TEST_NODE_ARGS != null ? node.stop() : node.kill()) })
    await node.start()
    return node
  }

  /** The running MeshNode of an in-process node, for tests that need its internals; throws for a process node. */
  meshNode (index: number): MeshNode {
    const handle = this.nodes[index]
    if (!(handle instanceof InProcessNode) || handle.node == null) throw new Error(`node ${index} is not a running in-process node`)
    return handle.node
  }

  /** When the first node's start began (Date.now()), for tests timed "from the first start". */
  firstStartedAt (): number {
    return Math.min(...this.nodes.map(n => n.startedAt ?? Infinity))
  }

  /** When the last node to finish starting was ready. */
  lastReadyAt (): number {
    return Math.max(...this.nodes.map(n => n.readyAt ?? -Infinity))
  }

  /** Register extra cleanup (run before the nodes', in reverse order of registration). */
  defer (fn: () => Promise<void>): void { this.cleanups.push(fn) }

  async close (): Promise<void> {
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop() as () => Promise<void>
      await fn().catch(() => {})
    }
  }
}
