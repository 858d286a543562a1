/**
 * A chain client in its own process, for the SIGKILL test: `tsx chain-child.ts <rpcUrl> <storeDir> <intentsJson>`
 * with the wallet key in CHAIN_CHILD_KEY. It submits every intent (all persisted before any is sent), starts, and
 * prints each intent event as a JSON line until it is killed.
 */
import { readFile } from 'node:fs/promises'
import { Wallet } from 'ethers'
import { EventBus } from '../../../src/common/events.js'
import { chainClient, createChainProvider, networkProfile, type ChainEvents, type IntentInput } from '../../../src/ledger/chain/index.js'
import { openStore } from './chain-helpers.js'

const [url, storeDir, intentsFile] = process.argv.slice(2)
const wallet = new Wallet(process.env.CHAIN_CHILD_KEY ?? '')
const raw = JSON.parse(await readFile(intentsFile, 'utf8')) as Array<Omit<IntentInput, 'value' | 'gasLimit'>>
const network = networkProfile('local')
const provider = createChainProvider({ urls: [url], network })
const { kv } = await openStore(storeDir)
const bus = new EventBus<ChainEvents>()
bus.subscribe(e => { process.stdout.write(JSON.stringify({ type: e.type, ...e.data }) + '\n') })
const client = chainClient({ network, pollMs: 20 })({ wallet, provider, store: kv, events: bus })
for (const i of raw) await client.submit(i)
await client.start()
process.stdout.write(JSON.stringify({ type: 'started' }) + '\n')
setInterval(() => {}, 1_000)
