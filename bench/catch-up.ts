/**
 * Catch-up cost: a node that was away takes K finalized epochs over the sync protocol's bundles, each epoch listing one
 * accepted proposal, every QC an Ed25519 list of V voters (the epoch's own and the proposal's). The figure beside it,
 * from the same run, is the floor: verifying every vote signature in those bundles once. The catch-up also checks
 * the proposals, applies the transitions and writes to Level; its ratio to the floor says how much more it does.
 *
 *   npx tsx bench/catch-up.ts [--quick] [--voters V] [--epochs K]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import '../src/node/polyfills.js'
import { ManualClock } from '../src/common/clock.js'
import { EventBus } from '../src/common/events.js'
import { silentLogger } from '../src/common/logger.js'
import { openState } from '../src/storage/index.js'
import { consensus, defaultConsensusOptions, openVote, proposalId, signConsensusRecord, type ConsensusEvents, type ConsensusService, type Proposal } from '../src/consensus/index.js'
import type { ConsensusComponents } from '../src/consensus/service/service.js'
import { buildEpochPayload } from '../src/consensus/service/epochs.js'
import type { EpochBundle } from '../src/consensus/service/sync.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/catch-up.ts [--quick] [--voters V] [--epochs K]\n  one JSON object: catch-up of K epochs with V-voter QCs, beside verifying their signatures once\n')
  process.exit(0)
}
const argOf = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined }
const quick = process.argv.includes('--quick')
const V = Number(argOf('--voters') ?? (quick ? 16 : 64))
const K = Number(argOf('--epochs') ?? (quick ? 4 : 16))
const NETWORK = 'local'
const dirs: string[] = []

/** A consensus service with no network (records are handed to it), on its own Level store. */
async function offline (key: PrivateKey, genesis: ConsensusService['init']['genesis'], clock: ManualClock): Promise<ConsensusService> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-catch-up-'))
  dirs.push(dir)
  const libp2p = {
    handle: async () => {}, unhandle: async () => {}, dialProtocol: async () => { throw new Error('offline') },
    getPeers: () => [], addEventListener: () => {}, removeEventListener: () => {}, hangUp: async () => {}
  } as unknown as ConsensusComponents['libp2p']
  const s = consensus({ ...defaultConsensusOptions, epochIntervalMs: 1000, epochTtlMs: 60_000, finalityDelayMs: 0, policies: { 'network-param': { mode: 'auto' } }, genesis, network: NETWORK, recordMaxAgeMs: 3600_000, recordMaxSkewMs: 500, directVoteFallbackMs: 0 })({
    peerId: peerIdFromPrivateKey(key).toString(), privateKey: key, libp2p, gossip: { register: () => {}, publish: async () => {} }, state: await openState(join(dir, 'state')), events: new EventBus<ConsensusEvents>(() => clock.now()), logger: silentLogger, clock
  })
  await s.start()
  clearInterval(s['timer'] as NodeJS.Timeout) // no beat: the bench drives it
  return s
}

const keys = await Promise.all(Array.from({ length: V + 1 }, async () => await generateKeyPair('Ed25519')))
const ids = keys.map(k => peerIdFromPrivateKey(k).toString())
const clock = new ManualClock(1000)
const genesis = { params: {}, pretrusted: ids.slice(0, V).map(peerId => ({ peerId, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
// the builder (voter 0) holds every voter's key and signs their votes: K epochs, each listing one accepted proposal
const builder = await offline(keys[0], genesis, clock)
const everyone = async (id: string, phase?: 'prevote'): Promise<void> => {
  for (let i = 1; i < V; i++) {
    await builder.ingestRecord(await signConsensusRecord(keys[i], NETWORK, 'vote', clock.now(), { proposalId: id, choice: 'yes', voter: ids[i], network: NETWORK, ...(phase != null ? { phase } : {}) }))
  }
}
for (let e = 1; e <= K; e++) {
  clock.set(e * 10_000)
  const { id } = await builder.create({ kind: 'network-param', payload: { name: `bench.e${e}`, value: e }, ttlSeconds: 60 })
  await everyone(id)
  clock.set(e * 10_000 + 100)
  const p: Proposal = { kind: 'epoch', payload: buildEpochPayload(builder.chain, builder['ingest']), proposer: ids[0], createdAt: clock.now(), expiresAt: clock.now() + 60_000, snapshot: builder.chain.epoch }
  await builder.ingestRecord(await signConsensusRecord(keys[0], NETWORK, 'proposal', clock.now(), p))
  await everyone(proposalId(p), 'prevote')
  await everyone(proposalId(p))
  if (builder.chain.epoch !== e) throw new Error(`the builder did not finalize epoch ${e}`)
}
const bundles = Array.from({ length: K }, (_, k) => builder['ingest'].catchUp.epochBundle(k + 1) as EpochBundle)
const votes = bundles.flatMap(b => [...b.qc.votes, ...b.items.flatMap(i => i.qc.votes)])

// the floor: every vote signature once
let t = performance.now()
for (const v of votes) await openVote(v, NETWORK)
const floorMs = performance.now() - t

// the catch-up: a node that never saw any of it (voter V, not in the genesis) takes the bundles in order
const fresh = await offline(keys[V], genesis, clock)
t = performance.now()
for (const b of bundles) await fresh['ingest'].catchUp['adoptEpoch'](b)
const catchUpMs = performance.now() - t
if (fresh.chain.epoch !== K || fresh.chain.hash() !== builder.chain.hash()) throw new Error(`the fresh node reached epoch ${fresh.chain.epoch}, not ${K} with the builder's hash`)

await builder.stop()
await fresh.stop()
for (const d of dirs) await rm(d, { recursive: true, force: true })
const round = (x: number): number => Math.round(x * 10) / 10
process.stdout.write(JSON.stringify({
  voters: V,
  epochs: K,
  votes: votes.length,
  catchUpMs: round(catchUpMs),
  baseline: { what: 'every vote signature verified once', ms: round(floorMs) },
  ratio: round(catchUpMs / floorMs),
  usPerVote: round(catchUpMs * 1000 / votes.length)
}, null, 2) + '\n')
