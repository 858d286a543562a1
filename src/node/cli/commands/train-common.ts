/** What every `meshnode train` command shares: the `--data-dir` and `--json` flags, and job id prefixes. */
import type { Command } from 'commander'
import type { JobView } from '../../../training/index.js'
import type { ApiClient } from '../client.js'

/** What `meshnode train --help` says the group is for. */
export const TRAIN_DESCRIPTION = 'federated training: create and join jobs, follow their rounds, plot them, import datasets'

/** The flags every command takes. */
export interface CommonFlags { dataDir?: string, json?: boolean }

/** `--data-dir` and `--json` on every command; read back with `optsWithGlobals` (a parent may have parsed them). */
export function common (cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory of the daemon to talk to').option('--json', 'machine-readable output')
}

/** A job id or a unique prefix of one (as `train status` prints them). */
export async function resolveJobId (api: ApiClient, idOrPrefix: string): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(idOrPrefix)) return idOrPrefix
  const { jobs } = await api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')
  // loaded here, not at the top: train-args pulls the job schemas, which `train status` (a client command) avoids
  const { matchJobId } = await import('../train-args.js')
  return matchJobId(idOrPrefix, jobs.map(j => j.id))
}

/** ` (default x)` for option help. */
export const dflt = (v: string | number): string => ` (default ${v})`
