/**
 * `meshnode <command>`: the CLI entry. The polyfills load before anything imports libp2p.
 */
import '../polyfills.js'
import { Command, CommanderError } from 'commander'
import { MeshError } from '../../common/errors.js'
import { defaultDataDir } from '../options.js'
import { VERSION } from '../version.js'
import { ApiClient } from './client.js'
import { registerDaemonCommands } from './commands/daemon.js'
import { registerInfoCommands, type Connect } from './commands/info.js'
import { registerArtifactCommands } from './commands/artifacts.js'
import { registerTrainCommands } from './commands/train.js'

const connect: Connect = async (opts) => await ApiClient.fromDataDir(opts.dataDir ?? defaultDataDir())

/** Build the command tree; exported for tests of `--help` and argument errors. */
export async function buildProgram (): Promise<Command> {
  const program = new Command('meshnode')
    .description('meshnode: a peer-to-peer node for federated training, artifacts and FTNS settlement')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerDaemonCommands(program)
  registerInfoCommands(program, connect)
  registerArtifactCommands(program, connect)
  registerTrainCommands(program, connect)
  return program
}

async function main (argv: string[]): Promise<void> {
  const program = await buildProgram()
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
