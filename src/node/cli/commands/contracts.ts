/**
 * `meshnode contracts deploy --network <n>`: an operator deploys FTNSToken, CreditVault and ComputeMarket with a
 * funded key, and gets the `chain.contracts` block for configs/networks/<n>.yaml (or a node's config file). On `local`
 * nodes deploy by themselves; this is for Amoy and Polygon.
 *
 * The RPC URLs come from MESHNODE_RPC_URLS (or the config file); the key from `--key-file` (a 0600 file holding the
 * hex key), else MESHNODE_DEPLOYER_KEY, else this data dir's wallet keystore. Never from a flag's value.
 */
import { join } from 'node:path'
import type { Command } from 'commander'
import { Option } from 'commander'
import { stringify as toYaml } from 'yaml'
import { defaultDataDir, loadNodeOptions, processEnv } from '../../options.js'
import { readPassphrase } from '../../identity.js'
import { readSecretFile } from '../../data-dir.js'
import { deployForOperator, openChainWallet, WALLET_FILE } from '../../../ledger/index.js'
import { output, keyValues } from '../format.js'

interface DeployOpts { network: string, dataDir?: string, keyFile?: string, json?: boolean }

async function deployerKey (opts: DeployOpts, dataDir: string): Promise<{ key: string, source: string }> {
  if (opts.keyFile != null) {
    const key = await readSecretFile(opts.keyFile, 'the deployer key', { mode: 'ERR_KEY_MODE', missing: 'ERR_KEY_MISSING', missingMessage: `no key file at ${opts.keyFile}` })
    return { key, source: opts.keyFile }
  }
  const env = processEnv()
  const fromEnv = env.MESHNODE_DEPLOYER_KEY
  if (fromEnv != null && fromEnv !== '') return { key: fromEnv.trim(), source: 'MESHNODE_DEPLOYER_KEY' }
  const wallet = await openChainWallet(join(dataDir, WALLET_FILE), await readPassphrase(dataDir, env))
  return { key: wallet.privateKey, source: `the wallet of ${dataDir}` }
}

/** Register the `contracts` command group. */
export function registerContractsCommands (program: Command): void {
  const group = program.command('contracts').description('the meshnode contracts on a chain')
  group.command('deploy')
    .description('deploy FTNSToken, CreditVault and ComputeMarket with a funded key (RPC from MESHNODE_RPC_URLS)')
    .addOption(new Option('--network <network>', 'the network to deploy on').choices(['local', 'amoy', 'polygon']).makeOptionMandatory())
    .option('--data-dir <dir>', 'data directory (its config and, without another key, its wallet)')
    .option('--key-file <file>', 'a 0600 file holding the deployer\'s hex private key (else MESHNODE_DEPLOYER_KEY, else the wallet)')
    .option('--json', 'machine-readable output')
    .action(async (opts: DeployOpts) => {
      const dataDir = opts.dataDir ?? defaultDataDir()
      const options = loadNodeOptions({ dataDir, flags: { network: opts.network } })
      const { key, source } = await deployerKey(opts, dataDir)
      const r = await deployForOperator({ rpcUrls: options.chain.rpcUrls, chainId: options.chain.chainId, privateKey: key, timeoutMs: options.ledger.rpcTimeoutMs })
      const result = { network: opts.network, ...r }
      output(opts.json === true, result, () => [
        keyValues([['network', opts.network], ['chain id', r.chainId], ['deployer', `${r.deployer} (${source})`],
          ['FTNSToken', r.contracts.FTNSToken], ['CreditVault', r.contracts.CreditVault], ['ComputeMarket', r.contracts.ComputeMarket], ['from block', r.fromBlock]]),
        '',
        `put this in configs/networks/${opts.network}.yaml (or a node's config.yaml):`,
        toYaml({ chain: { contracts: r.contracts, fromBlock: r.fromBlock } }).trimEnd()
      ].join('\n'))
    })
}
