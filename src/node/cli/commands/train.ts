/**
 * `meshnode train create | join | leave | status | watch | plot | dataset import | dataset ls`: federated training
 * through the local daemon's admin API (`/v1/training/*`, live progress from `/v1/events`). One file per group:
 * jobs (train-jobs.ts), progress (train-progress.ts), datasets (train-datasets.ts).
 */
import type { Command } from 'commander'
import type { Connect } from './info.js'
import { common } from './train-common.js'
import { registerTrainDatasetCommands } from './train-datasets.js'
import { registerTrainJobCommands } from './train-jobs.js'
import { registerTrainProgressCommands } from './train-progress.js'

/** Add the `train` command tree to the CLI. */
export function registerTrainCommands (program: Command, connect: Connect): void {
  // the groups take --data-dir/--json too (`train --json status` works); subcommands read them with optsWithGlobals
  const train = common(program.command('train')
    .description('federated training: create and join jobs, follow their rounds, plot them, import datasets'))
  registerTrainJobCommands(train, connect)
  registerTrainProgressCommands(train, connect)
  registerTrainDatasetCommands(train, connect)
}
