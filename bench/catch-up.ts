/**
 * Catch-up cost: a node that was away takes K finalized epochs from the sync protocol's bundles, each epoch listing
 * one accepted proposal whose QC, like the epoch's own, all V voters signed (bench/fixtures/offline-chain.ts).
 *
 * - `lists`: QCs as Ed25519 vote lists (V at most the BLS threshold), beside the floor from the same run: verifying
 *   every vote signature in the bundles once. The catch-up also checks the proposals, applies the transitions and
 *   writes to Level; its ratio to the floor says how much more it does.
 * - `aggregates`: more voters than the threshold, QCs as BLS aggregates with each voter's binding vote, beside the
 *   same epochs synced as vote lists by a second fresh node in the same run.
 *
 *   npx tsx bench/catch-up.ts [--quick] [--voters V] [--epochs K]
 */
import { performance } from 'node:perf_hooks'
import '../src/node/polyfills.js'
import { openVote, type Qc } from '../src/consensus/index.js'
import { qcOf } from '../src/consensus/service/entry.js'
import type { EpochBundle } from '../src/consensus/service/sync.js'
import { adoptBundles, buildOfflineChain, OFFLINE_NETWORK } from './fixtures/offline-chain.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/catch-up.ts [--quick] [--voters V] [--epochs K]\n  one JSON object: catch-up of K epochs with V-voter QCs (vote lists, beside verifying their signatures once) and with 2V voters (BLS aggregates, beside the same epochs as vote lists)\n')
  process.exit(0)
}
const argOf = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined }
const quick = process.argv.includes('--quick')
const V = Number(argOf('--voters') ?? (quick ? 16 : 64))
const K = Number(argOf('--epochs') ?? (quick ? 4 : 16))
const round = (x: number): number => Math.round(x * 10) / 10
const time = async (f: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await f(); return performance.now() - t }

async function lists (): Promise<unknown> {
  const chain = await buildOfflineChain({ voters: V, epochs: K, blsQcThreshold: V })
  try {
    const votes = chain.bundles.flatMap(b => [...b.qc.votes, ...b.items.flatMap(i => i.qc.votes)])
    const floorMs = await time(async () => { for (const v of votes) await openVote(v, OFFLINE_NETWORK) })
    const fresh = await chain.services.start(chain.outsider)
    const catchUpMs = await time(async () => { await adoptBundles(fresh, chain.bundles) })
    if (fresh.chain.hash() !== chain.builder.chain.hash()) throw new Error('the fresh node did not reach the builder\'s table')
    return { voters: V, epochs: K, votes: votes.length, catchUpMs: round(catchUpMs), baseline: { what: 'every vote signature verified once', ms: round(floorMs) }, ratio: round(catchUpMs / floorMs), usPerVote: round(catchUpMs * 1000 / votes.length) }
  } finally {
    await chain.services.close()
  }
}

async function aggregates (): Promise<unknown> {
  const voters = 2 * V
  const chain = await buildOfflineChain({ voters, epochs: K, blsQcThreshold: V })
  try {
    // the same epochs as vote lists: what a server without aggregates sends
    const entries = chain.builder['ingest'].entries
    const asList = (qc: Qc): Qc => { const e = entries.get(qc.proposalId); return qc.aggregate == null || e == null ? qc : qcOf(e, [...qc.aggregate.voters]) }
    const listed: EpochBundle[] = chain.bundles.map(b => ({ t: 'epoch', proposal: b.proposal, qc: asList(b.qc), items: b.items.map(i => ({ proposal: i.proposal, qc: asList(i.qc) })), evidence: b.evidence }))
    // a QC stays a vote list where it counts no more voters than the threshold (bonds make the first voters heavier
    // epoch by epoch, so fewer of them reach 2/3): the figure says how many QCs went as aggregates
    const qcs = chain.bundles.flatMap(b => [b.qc, ...b.items.map(i => i.qc)])
    const aggregated = qcs.filter(qc => qc.aggregate != null).length
    const viaLists = await chain.services.start(chain.outsider)
    const listMs = await time(async () => { await adoptBundles(viaLists, listed) })
    const viaAggregates = await chain.services.start(chain.outsider)
    const aggregateMs = await time(async () => { await adoptBundles(viaAggregates, chain.bundles) })
    for (const s of [viaLists, viaAggregates]) if (s.chain.hash() !== chain.builder.chain.hash()) throw new Error('a fresh node did not reach the builder\'s table')
    return {
      voters, epochs: K, threshold: V, qcs: qcs.length, aggregated, catchUpMs: round(aggregateMs),
      baseline: { what: 'the same epochs synced as Ed25519 vote lists', ms: round(listMs) },
      speedup: round(listMs / aggregateMs)
    }
  } finally {
    await chain.services.close()
  }
}

process.stdout.write(JSON.stringify({ lists: await lists(), aggregates: await aggregates() }, null, 2) + '\n')
