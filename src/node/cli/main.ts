/**
 * `meshnode <command>`: the CLI entry. The polyfills load before anything imports libp2p.
 *
 * Command groups load lazily: `meshnode status` imports only the API client and its formatting, `start` the daemon.
 * The command named on the command line picks the group (for `train status`, only that subcommand); anything else
 * (`--help`, no command, an unknown one) loads every group so help and errors list them all.
 */
import '../polyfills.js'
import { Command, CommanderError } from 'commander'
import { MeshError } from '../../common/errors.js'
import { defaultDataDir } from '../data-dir.js'
import { VERSION } from '../version.js'
import { ApiClient } from './client.js'
import type { Connect } from './commands/info.js'

const connect: Connect = async (opts) => await ApiClient.fromDataDir(opts.dataDir ?? defaultDataDir())

type Group = (program: Command, args: readonly string[]) => Promise<void>

const daemon: Group = async (program) => { (await import('./commands/daemon.js')).registerDaemonCommands(program) }
const info: Group = async (program) => { (await import('./commands/info.js')).registerInfoCommands(program, connect) }
const artifacts: Group = async (program) => { (await import('./commands/artifacts.js')).registerArtifactCommands(program, connect) }
const dashboard: Group = async (program) => { (await import('./commands/dashboard.js')).registerDashboardCommand(program, connect) }
const wallet: Group = async (program) => { (await import('./commands/wallet.js')).registerWalletCommands(program, connect) }
const market: Group = async (program) => { (await import('./commands/market.js')).registerMarketCommands(program, connect) }
const proposals: Group = async (program) => { (await import('./commands/proposals.js')).registerProposalCommands(program, connect) }
const reputation: Group = async (program) => { (await import('./commands/reputation.js')).registerReputationCommands(program, connect) }
// `contracts deploy` is an operator tool, not a client command: it loads the options and the ledger
const contracts: Group = async (program) => { (await import('./commands/contracts.js')).registerContractsCommands(program) }
const train: Group = async (program, args) => {
  // `train status` is a client command: register just it, without the job schemas the other subcommands need
  if (args[0] === 'train' && firstCommand(args.slice(1)) === 'status') {
    (await import('./commands/train-status.js')).registerTrainStatusOnly(program, connect)
    return
  }
  (await import('./commands/train.js')).registerTrainCommands(program, connect)
}

/** Each top-level command and the group that registers it, in the order `--help` lists them. */
const GROUPS: ReadonlyArray<[readonly string[], Group]> = [
  [['init', 'start'], daemon],
  [['status', 'peers', 'hardware'], info],
  [['artifacts'], artifacts],
  [['train'], train],
  [['proposals'], proposals],
  [['reputation'], reputation],
  [['dashboard'], dashboard],
  [['wallet'], wallet],
  [['market'], market],
  [['contracts'], contracts]
]

/** The first argument that is not an option (the command), if any. */
function firstCommand (args: readonly string[]): string | undefined {
  return args.find(a => !a.startsWith('-'))
}

/**
 * Build the command tree: the group of the command in `args` (the arguments after `meshnode`), or every group when
 * `args` names none. Exported for tests of `--help` and argument errors.
 */
export async function buildProgram (args: readonly string[] = []): Promise<Command> {
  const program = new Command('meshnode')
    .description('meshnode: a peer-to-peer node for federated training, artifacts and FTNS settlement')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  // only the first argument can name the command: the top level takes no option with a value
  const name = args[0]
  if (name === '--version' || name === '-V') return program
  const chosen = GROUPS.find(([names]) => name !== undefined && names.includes(name))
  for (const [, group] of chosen != null ? [chosen] : GROUPS) await group(program, args)
  return program
}

async function main (argv: string[]): Promise<void> {
  const program = await buildProgram(argv.slice(2))
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode)
    if (err instanceof MeshError) {
      // one clear line: what failed and why; no stack for expected errors
      process.stderr.write(`meshnode: ${err.message}\n`)
      process.exit(2)
    }
    process.stderr.write(`meshnode: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  }
}

await main(process.argv)
