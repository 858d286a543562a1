/**
 * `meshnode train create | join | leave | stop | forget | status | watch | plot | export | evaluate | predict | dataset import | dataset ls`: federated training
 * through the local daemon's admin API (`/v1/training/*`, live progress from `/v1/events`). One file per group:
 * jobs (train-jobs.ts), progress (train-progress.ts), the trained model (train-model.ts), datasets (train-datasets.ts).
 */
import type { Command } from 'commander'
import type { Connect } from './info.js'
import { common, TRAIN_DESCRIPTION } from './train-common.js'
import { registerTrainDatasetCommands } from './train-datasets.js'
import { registerTrainJobCommands } from './train-jobs.js'
import { registerTrainModelCommands } from './train-model.js'
import { registerTrainProgressCommands } from './train-progress.js'

/** Add the `train` command tree to the CLI. */
export function registerTrainCommands (program: Command, connect: Connect): void {
  // the groups take --data-dir/--json too (`train --json status` works); subcommands read them with optsWithGlobals
  const train = common(program.command('train').description(TRAIN_DESCRIPTION))
  registerTrainJobCommands(train, connect)
  registerTrainProgressCommands(train, connect)
  registerTrainModelCommands(train, connect)
  registerTrainDatasetCommands(train, connect)
}
