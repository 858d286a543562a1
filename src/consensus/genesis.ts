/**
 * `meshnode init --genesis <file>`: read a genesis (YAML or JSON: params, pretrusted, guardians, startedAt), check it
 * with its one schema, and write it into a node's config file under `consensus.genesis` (the rest of the file kept).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { ConsensusError } from './errors.js'
import { GenesisSchema, type Genesis } from './options.js'
import { EpochChain } from './service/chain.js'

/** Read and check a genesis file (ERR_PARAMS naming the first bad field). */
export async function readGenesisFile (file: string): Promise<Genesis> {
  let doc: unknown
  try {
    doc = parseYaml(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ConsensusError('ERR_PARAMS', `cannot read genesis ${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
  const g = Value.Default(GenesisSchema, Value.Convert(GenesisSchema, { params: {}, guardians: { keys: [], threshold: 0 }, startedAt: 0, ...(doc as object) }))
  const first = Value.Errors(GenesisSchema, g).First()
  if (first != null) throw new ConsensusError('ERR_PARAMS', `genesis ${file}: ${first.path || '(root)'} ${first.message}`)
  const genesis = g as Genesis
  if (genesis.guardians.threshold > genesis.guardians.keys.length) throw new ConsensusError('ERR_PARAMS', `genesis ${file}: guardian threshold exceeds the number of keys`)
  // the chain refuses bad reputation parameters: fail at init, not at the first start
  void new EpochChain(genesis)
  return genesis
}

/** Set `consensus.genesis` in a YAML config file, keeping everything else in it. */
export async function writeGenesisToConfig (configFile: string, genesis: Genesis): Promise<void> {
  const doc: Record<string, unknown> = existsSync(configFile) ? (parseYaml(await readFile(configFile, 'utf8')) as Record<string, unknown> | null) ?? {} : {}
  const consensus = (doc.consensus != null && typeof doc.consensus === 'object' ? doc.consensus : {}) as Record<string, unknown>
  doc.consensus = { ...consensus, genesis }
  await writeFile(configFile, toYaml(doc))
}
