import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm, readFile, stat, writeFile, chmod } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, REPO_ROOT, waitFor, Mesh } from '../../harness/index.js'
import { npmStart as startNpm } from '../../harness/npm-start.js'
import { initDataDir } from '../../../src/node/identity.js'

const exec = promisify(execFile)
const dirs: string[] = []
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'meshnode-cli-'))
  dirs.push(d)
  return d
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

/**
 * A data directory initialised in this process, as the harness prepares every node's: the cases below test `start`
 * and the client commands, and `meshnode init` itself is tested on its own (each CLI run pays module loading and the
 * key derivation again, which on a loaded 2-core machine added up to seconds per case).
 */
async function initedDir (): Promise<string> {
  const dir = await tempDir()
  await initDataDir(dir, { env: {} })
  return dir
}

/** Run the CLI to completion; never throws, returns code and output. */
async function cli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const r = await exec(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('meshnode CLI', () => {
  it('prints help listing every command', async () => {
    const [r, s] = await Promise.all([cli(['--help']), cli(['start', '--help'])])
    expect(r.code).toBe(0)
    for (const c of ['init', 'start', 'status', 'peers', 'hardware']) expect(r.stdout).toContain(c)
    for (const f of ['--data-dir', '--config', '--listen', '--bootstrap', '--api-host', '--api-port', '--no-mdns', '--log-level', '--log-format']) expect(s.stdout).toContain(f)
  })

  it('init creates 0600 secrets and never overwrites keys when run twice', async () => {
    const dir = await tempDir()
    const first = JSON.parse((await cli(['init', '--data-dir', dir, '--json'])).stdout)
    expect(first.created).toBe(true)
    const keyBefore = await readFile(join(dir, 'keystore.pass'), 'utf8')
    const tokenBefore = await readFile(join(dir, 'admin.token'), 'utf8')
    for (const f of ['admin.token', 'keystore.pass']) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600)
    const second = JSON.parse((await cli(['init', '--data-dir', dir, '--json'])).stdout)
    expect(second).toMatchObject({ created: false, peerId: first.peerId })
    expect(await readFile(join(dir, 'keystore.pass'), 'utf8')).toBe(keyBefore)
    expect(await readFile(join(dir, 'admin.token'), 'utf8')).toBe(tokenBefore)
  })

  it('keeps the key encrypted with MESHNODE_PASSPHRASE and refuses to start without it', async () => {
    const dir = await tempDir()
    const pass = 'correct horse battery staple 42'
    expect((await cli(['init', '--data-dir', dir], { MESHNODE_PASSPHRASE: pass })).code).toBe(0)
    expect(existsSync(join(dir, 'keystore.pass'))).toBe(false)
    // both refusals happen before the node listens: the two runs can share the machine
    const [r, wrong] = await Promise.all([
      cli(['start', '--data-dir', dir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], { MESHNODE_PASSPHRASE: '' }),
      cli(['start', '--data-dir', dir, '--api-port', '0'], { MESHNODE_PASSPHRASE: 'a wrong passphrase of enough length' })
    ])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('meshnode: this node\'s key is encrypted with MESHNODE_PASSPHRASE: set it in the environment')
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('cannot decrypt the node key')
    expect(wrong.stderr).not.toContain(pass)
  })

  // independent one-line refusals: run side by side (each pays a CLI process start)
  it.concurrent.each([
    [['--api-port', 'abc'], 'meshnode: config api.port: expected an integer >= 0 <= 65535, got "abc"'],
    [['--listen', 'not-a-multiaddr'], 'meshnode: config listen[0]: expected a multiaddr like /ip4/127.0.0.1/tcp/4101, got "not-a-multiaddr"'],
    [['--api-host', '0.0.0.0'], 'meshnode: config api.host: refusing to bind the admin API to 0.0.0.0: set api.allowRemote: true in the config file to allow it'],
    [['--log-level', 'loud'], 'meshnode: config log.level: expected one of trace, debug, info, warn, error, silent, got "loud"']
  ])('a bad value %j fails start with one line naming the key', async (flags, line) => {
    const dir = await initedDir()
    const r = await cli(['start', '--data-dir', dir, ...flags])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(line)
  })

  it('a bad value in the config file names its key too', async () => {
    const dir = await initedDir()
    await writeFile(join(dir, 'config.yaml'), 'resources:\n  dutyCycle: 3\n')
    const r = await cli(['start', '--data-dir', dir])
    expect(r.stderr.trim()).toBe('meshnode: config resources.dutyCycle: expected a number >= 0.01 <= 1, got 3')
  })

  it('refuses to start with a keystore.pass readable by others, saying how to fix it', async () => {
    const dir = await initedDir()
    await chmod(join(dir, 'keystore.pass'), 0o644)
    const r = await cli(['start', '--data-dir', dir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`chmod 600 ${join(dir, 'keystore.pass')}`)
  })

  it('client commands load only the API client and their formatting; start loads the daemon', async () => {
    const dir = await initedDir()
    // traced on dist/, one file per module (the bundle bin/meshnode.js prefers keeps each dynamic import its own chunk)
    const loaded = async (args: string[], env: NodeJS.ProcessEnv = { ...process.env, MESHNODE_NO_BUNDLE: '1' }): Promise<string[]> => {
      const r = await exec(process.execPath, ['--import', join(REPO_ROOT, 'test/harness/trace-imports.mjs'), ...CLI, ...args], { cwd: REPO_ROOT, env, timeout: 60_000 }).catch((e: { stderr: string }) => e)
      return [...r.stderr.matchAll(/^import-trace (\S+)$/gm)].map(m => m[1].replace(`file://${REPO_ROOT}/`, ''))
    }
    // what a client command must never pull in: schemas, the subsystems, the daemon, libp2p, Helia, tfjs
    const heavy = /^node_modules\/(@sinclair\/typebox|libp2p|@libp2p|helia|@helia|@tensorflow|fastify|pino|level)\/|\/src\/(training|consensus|ledger|protocols)\/|\/src\/storage\/(?!protocol\/artifact-kinds)|\/src\/node\/(node|options|identity|libp2p|api\/)/
    const cases = [['status'], ['peers'], ['hardware'], ['artifacts', 'ls'], ['train', 'status'], ['status', '--help'], ['train', 'status', '--help']]
    // the probes are independent processes: run them side by side (two at a time keeps a 2-core machine busy)
    const traced: string[][] = []
    for (let i = 0; i < cases.length; i += 2) traced.push(...await Promise.all(cases.slice(i, i + 2).map(async args => await loaded([...args, ...(args.includes('--help') ? [] : ['--data-dir', dir])]))))
    cases.forEach((args, i) => {
      expect(traced[i].length, args.join(' ')).toBeGreaterThan(5)
      expect(traced[i].filter(m => heavy.test(m)), args.join(' ')).toEqual([])
    })
    // `start --help` loads the daemon commands, not the node: `start` imports it inside its action (after it began the
    // key derivation), so the help and the argument checks stay light
    const startHelp = await loaded(['start', '--help'])
    expect(startHelp).toContain('dist/src/node/cli/commands/daemon.js')
    expect(startHelp).not.toContain('dist/src/node/node.js')
    // as installed, the CLI runs the bundle the global setup made of this very build (stale, it would run dist/)
    const bundled = await loaded(['start', '--help'], { ...process.env, MESHNODE_NO_BUNDLE: undefined })
    expect(bundled).toContain('dist/bundle/meshnode.js')
    expect(bundled.filter(m => m.startsWith('dist/src/'))).toEqual([])
  })

  it('status says clearly when no daemon runs', async () => {
    const dir = await initedDir()
    const r = await cli(['status', '--data-dir', dir])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no meshnode daemon is running')
  })

  it('npm start runs a node on the embedded default, status/peers/hardware answer, and SIGTERM closes it within 5 s', async () => {
    const dir = await tempDir()
    const env = { MESHNODE_DATA_DIR: dir, MESHNODE_API_PORT: '0', MESHNODE_LISTEN: '/ip4/127.0.0.1/tcp/0', MESHNODE_MDNS: 'false', MESHNODE_LOG_FORMAT: 'json' }
    const npm = startNpm(env)
    try {
      await npm.waitForApi()
      const status = await cli(['status', '--json'], { MESHNODE_DATA_DIR: dir })
      expect(status.code, status.stderr).toBe(0)
      const identity = JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8'))
      expect(JSON.parse(status.stdout)).toMatchObject({ peerId: identity.peerId, profile: 'default', network: 'local' })
      const human = await cli(['status'], { MESHNODE_DATA_DIR: dir })
      expect(human.stdout).toMatch(/peer id\s+12D3KooW/)
      expect((await cli(['peers'], { MESHNODE_DATA_DIR: dir })).stdout).toContain('no peers connected')
      const hw = await waitFor(async () => {
        const r = JSON.parse((await cli(['hardware', '--json'], { MESHNODE_DATA_DIR: dir })).stdout)
        return r.bench != null ? r : undefined
      }, { timeoutMs: 30_000, what: 'the training benchmark to finish' })
      expect(hw.tfjs.backend).toBe('wasm')
      expect(hw.bench.samplesPerSec).toBeGreaterThan(0)
    } finally {
      // what Ctrl-C does: the signal goes to npm and the node; the node closes gracefully (api.url removed)
      const t0 = Date.now()
      await npm.stop()
      await waitFor(() => !existsSync(join(dir, 'api.url')), { timeoutMs: 5000, what: 'graceful close' })
      expect(Date.now() - t0).toBeLessThan(5000)
    }
  })

  it('peers and hardware --peers show a connected peer in tables', async () => {
    const mesh = await Mesh.start(2, { mode: 'process' })
    try {
      const dir = mesh.nodes[0].dataDir
      await waitFor(async () => (await cli(['hardware', '--peers', '--json', '--data-dir', dir])).stdout.includes(mesh.nodes[1].peerId), { what: 'the peer\'s record' })
      const peers = await cli(['peers', '--data-dir', dir])
      expect(peers.stdout).toMatch(/^PEER\s+LATENCY\s+LAST SEEN\s+HARDWARE/m)
      expect(peers.stdout).toContain(mesh.nodes[1].peerId.slice(0, 8))
      const r = await cli(['hardware', 'bandwidth', mesh.nodes[1].peerId, '--bytes', '1048576', '--json', '--data-dir', dir])
      expect(r.code, r.stderr).toBe(0)
      const bw = JSON.parse(r.stdout)
      expect(bw.bytes).toBe(1048576)
      expect(bw.mbps).toBeGreaterThan(0)
      // the daemon itself exits 0 on SIGTERM
      await mesh.nodes[1].stop()
      expect(mesh.nodes[1].exitCode()).toBe(0)
    } finally {
      await mesh.close()
    }
  })
})
