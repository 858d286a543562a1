/**
 * `meshnode init` and `meshnode start`: create a data directory, run the daemon in the foreground.
 *
 * The node's modules (every subsystem, ethers, helia, fastify: seconds of CPU on a loaded machine) are imported inside
 * the actions, so `start` can begin the key derivation (PBKDF2, on libuv's thread pool) before they load: a node
 * joining a busy mesh prints "listening" that much sooner.
 */
import type { Command } from 'commander'
import { Option } from 'commander'
import { join } from 'node:path'
import type { OptionsLayer } from '../../options.js'
import type { MeshNode } from '../../node.js'
import { defaultDataDir } from '../../data-dir.js'
import { initDataDir, isInitialised, loadIdentity, readPassphrase } from '../../identity.js'
import { output, keyValues } from '../format.js'

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 5000

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** `meshnode start`'s flags as commander parses them (strings; validation converts them with the other layers). */
interface StartFlags {
  dataDir?: string
  config?: string
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  apiHost?: string
  apiPort?: string
  mdns: boolean
  profile?: string
  logLevel?: string
  logFormat?: string
  benchmark: boolean
  initIfNeeded?: boolean
}

/** The daemon command group: `init` and `start`. */
export function registerDaemonCommands (program: Command): void {
  program.command('init')
    .description('create the data directory: encrypted identity, admin token, config (never overwrites keys)')
    .option('--data-dir <dir>', 'data directory (default $MESHNODE_DATA_DIR or ~/.meshnode)')
    .addOption(new Option('--profile <profile>', 'resource profile').choices(['default', 'gpu', 'edge']).default('default'))
    .addOption(new Option('--network <network>', 'chain network').choices(['local', 'amoy', 'polygon']).default('local'))
    .option('--genesis <file>', 'a new mesh\'s consensus genesis (YAML/JSON: params, pretrusted, guardians), written to the config')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string, profile: string, network: string, json?: boolean, genesis?: string }) => {
      const dataDir = opts.dataDir ?? defaultDataDir()
      const [{ readGenesisFile, writeGenesisToConfig }, { loadOrCreateChainWallet, WALLET_FILE }] = await Promise.all([import('../../../consensus/index.js'), import('../../../ledger/index.js')])
      // checked before anything is created, so a bad genesis leaves no half-initialised directory
      const genesis = opts.genesis != null ? await readGenesisFile(opts.genesis) : undefined
      const init = await initDataDir(dataDir, { profile: opts.profile, network: opts.network })
      if (genesis != null) await writeGenesisToConfig(join(dataDir, 'config.yaml'), genesis)
      // the chain wallet: its own key, under the identity's passphrase; kept when it exists
      const wallet = await loadOrCreateChainWallet(join(dataDir, WALLET_FILE), await readPassphrase(dataDir))
      const r = { ...init, wallet: wallet.address }
      output(opts.json === true, r, () => keyValues([
        ['status', r.created ? 'initialised' : 'already initialised (keys kept)'],
        ['data dir', r.dataDir],
        ['peer id', r.peerId],
        ['wallet', r.wallet]
      ]))
    })

  program.command('start')
    .description('run the node in the foreground (SIGINT/SIGTERM stop it gracefully)')
    .option('--data-dir <dir>', 'data directory (default $MESHNODE_DATA_DIR or ~/.meshnode)')
    .option('--config <file>', 'config file (default <data-dir>/config.yaml)')
    .option('--listen <multiaddr>', 'listen address, repeatable', collect)
    .option('--announce <multiaddr>', 'address to announce, repeatable', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap peer /ip4/../tcp/../p2p/<id>, repeatable', collect)
    .option('--api-host <host>', 'admin API host (loopback unless api.allowRemote)')
    .option('--api-port <port>', 'admin API port (0 = any free port; the URL is written to <data-dir>/api.url)')
    .option('--no-mdns', 'disable mDNS discovery on the LAN')
    .option('--profile <profile>', 'resource profile: default, gpu, edge')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
    .option('--log-format <format>', 'json or pretty')
    .option('--no-benchmark', 'skip the training micro-benchmark at start')
    .option('--init-if-needed', 'run init first when the data directory is new')
    .action(async (opts: StartFlags) => {
      const dataDir = opts.dataDir ?? defaultDataDir()
      if (opts.initIfNeeded === true && !isInitialised(dataDir)) await initDataDir(dataDir, { profile: opts.profile })
      // derived while the modules below load; awaited (and its errors thrown) by MeshNode.create, after the options check
      const privateKey = loadIdentity(dataDir)
      privateKey.catch(() => {})
      const [{ loadNodeOptions }, { createLogger }, { MeshNode }, { installProcessGuard }] = await Promise.all([
        import('../../options.js'), import('../../logger.js'), import('../../node.js'), import('../../process-guard.js')
      ])
      const flags: OptionsLayer = {
        listen: opts.listen,
        announce: opts.announce,
        bootstrap: opts.bootstrap,
        profile: opts.profile,
        // commander sets mdns=true by default for --no-mdns; only an explicit --no-mdns overrides config
        mdns: opts.mdns === false ? false : undefined,
        api: { host: opts.apiHost, port: opts.apiPort },
        log: { level: opts.logLevel, format: opts.logFormat },
        hardware: opts.benchmark === false ? { benchmark: false } : undefined
      }
      const options = loadNodeOptions({ dataDir, configFile: opts.config, flags })
      const logger = createLogger({ level: options.log.level, format: options.log.format })
      installProcessGuard(logger)
      const node = await MeshNode.create({ options, logger, privateKey })
      process.stdout.write(`meshnode ${node.peerId} listening on ${node.addresses().join(' ')}; admin API ${node.api.url}\n`)
      await waitForShutdown(node)
    })
}

/** Resolve on SIGINT/SIGTERM after a graceful close; exit 0, or 1 when closing overran the grace period. */
async function waitForShutdown (node: MeshNode): Promise<void> {
  await new Promise<void>(resolve => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) { process.exit(1) }
      stopping = true
      node.log.info({ signal }, 'shutting down')
      const timer = setTimeout(() => { process.stderr.write('shutdown took too long; exiting\n'); process.exit(1) }, SHUTDOWN_GRACE_MS)
      timer.unref()
      node.close().then(resolve, resolve)
    }
    process.once('SIGINT', () => { stop('SIGINT') })
    process.once('SIGTERM', () => { stop('SIGTERM') })
  })
  process.exit(0)
}
