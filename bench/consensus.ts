/**
 * The consensus core's figures, printed as ONE JSON object (issue 13's benchmarks that need no network):
 * - tally and QC verification of 1,000 voters: with Ed25519 vote lists (ms), beside the same-run baseline of verifying
 *   the 1,000 bare Ed25519 signatures (what any vote-list QC must at least pay), and with one BLS aggregate
 *   (@chainsafe/blst; target <= 10 ms): the fast aggregate verify over keys already in the node's key ring, plus the
 *   one-off costs around it (a key's proof of possession, checked once per peer; signing; aggregating);
 * - reputation recomputation (replaying the epoch chain from genesis) against history length;
 * - the sybils' share of weight per epoch, 6 honest peers with earned training history against 14 and 140 fresh identities;
 * - proposal -> QC latency on N in-process loopback nodes (fixtures/consensus-mesh.ts), and with --procs on N daemons,
 *   one process each, through the API (fixtures/qc-procs.ts): in one process all N nodes share one event loop, so that
 *   figure is this process's CPU (libp2p's transport and gossip, N times over), not the protocol's hops.
 * Run: npx tsx bench/consensus.ts [--quick] [--nodes N] [--bls-threshold N]
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  BlsKeyRing, buildQc, cidOf, defaultReputationParams, deriveBlsKeyPair, makeBlsBinding, signBlsVote, effectiveWeights, electorateWeights, genesisTable, openVote, replayEpochs,
  reputationHash, signConsensusRecord, tallyProposal, verifyQc, type CastVote, type EpochRecords, type VoteVerifier
} from '../src/consensus/index.js'
import { runSybilScenario } from './fixtures/sybil-scenario.js'
import { proposalLatency } from './fixtures/consensus-mesh.js'
import { proposalLatencyProcs } from './fixtures/qc-procs.js'
import { buildDaemon } from '../scripts/bundle.js'
import { spawnSync } from 'node:child_process'

if (process.argv.includes('--help')) {
  process.stdout.write([
    'usage: npx tsx bench/consensus.ts [--quick] [--nodes N] [--proposals N] [--only latency|sybil] [--cpu-prof FILE]',
    '  tally + QC verification of 1,000 voters, Ed25519 list and BLS aggregate (ms), reputation replay cost against history length,',
    '  sybil share per epoch (6 honest vs 14 and 140 fresh identities); one JSON object',
    '  proposal -> QC latency on N in-process loopback nodes, p50/p99, beside the time the proposal takes to reach all,',
    '  measured on a settled mesh (every node >= Dlo topic-mesh peers, start-up churn over); "load" gives this process\'s',
    '  CPU and event-loop lag during the run: all N nodes share one event loop, so a lag p99 near the latency means the',
    '  figure is CPU-bound (cpuMsPerProposal over all nodes / the cores this process got), not set by gossip hops',
    '  --quick  fewer voters, shorter histories, one timed run, 5 nodes instead of 20',
    '  --nodes N  loopback nodes for the latency figure (0 skips it)',
    '  --proposals N  timed proposals for the latency figure (default 40, --quick 10)',
    '  --only latency  the latency figure alone (no tally, replay or sybil sections)',
    '  --procs  also the figure with each node its own daemon (meshnode start on the bundled build, proposals through',
    '           POST /v1/proposals, QC times from each node\'s /v1/events); QC_NODE_ARGS: extra Node flags for the daemons;',
    '           with --only latency, --no-in-process skips the in-process comparison; --warmup N proposals (default 100,',
    '           --quick 10) run first on the cold daemons and are reported apart (warmup: their p50/p99)',
    '  --only sybil  the sybil share per epoch alone (the honest peers earn their weight in 12 epochs of training first)',
    '  --cpu-prof FILE  write a V8 CPU profile of the timed proposals (in-process nodes) to FILE;',
    '           npx tsx bench/fixtures/qc-profile.ts FILE sums its self time by function and by file',
    '  --bls-threshold N  the nodes\' consensus.blsQcThreshold (default: theirs, 64): below the node count, QCs are',
    '           gossiped as BLS aggregates, and the JSON counts the nodes that hold each'
  ].join('\n') + '\n')
  process.exit(0)
}

const quick = process.argv.includes('--quick')
const argOf = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined }

/** Section 4: proposal -> QC on N in-process loopback nodes (a mesh that does not form in time is reported, not fatal). */
async function proposalToQc (): Promise<unknown> {
  const NODES = Number(argOf('--nodes') ?? (quick ? 5 : 20))
  const PROPOSALS = Number(argOf('--proposals') ?? (quick ? 10 : 40))
  const blsThreshold = argOf('--bls-threshold') != null ? Number(argOf('--bls-threshold')) : undefined
  if (NODES <= 1) return 'skipped (--nodes 0)'
  return await proposalLatency(NODES, PROPOSALS, blsThreshold, argOf('--cpu-prof')).catch((err: Error) => ({ nodes: NODES, error: err.message }))
}

/**
 * Section 3: the sybils' share of weight per epoch (bench/fixtures/sybil-scenario.ts): 6 honest peers whose weight is
 * all earned credit (12 epochs of accepted seals from an empty genesis, through the chain's own epoch step) against 14
 * and 140 fresh identities that get 3 deltas accepted per round.
 */
function sybilShare (): unknown {
  const attackEpochs = quick ? 12 : 40
  const out: Record<string, unknown> = {}
  for (const n of [14, 140]) {
    const run = runSybilScenario({ honest: 6, sybils: n, attackEpochs })
    out[`6 honest vs ${n} fresh`] = {
      maxShareBps: Math.max(...run.map(e => e.sybilShareBps)),
      maxRawShareBps: Math.max(...run.map(e => e.sybilRawShareBps)),
      sybilOnlyQc: run.some(e => e.sybilOnlyQc),
      sybilProposalPassed: run.some(e => e.sybilProposal === 'accepted'),
      honestAlwaysPassed: run.every(e => e.honestProposal === 'accepted'),
      honestEstablishedAtArrival: run[0].honestOnProbation === 0,
      honestWorkCreditedAtArrival: run[0].honestWorkCredited,
      shareBpsPerEpoch: run.map(e => e.sybilShareBps)
    }
  }
  return { historyEpochs: 12, attackEpochs, attackerDeltasPerRound: 3, honestDeltasPerRound: 6, poolCapBps: Number(defaultReputationParams.probationPoolBps), ...out }
}

if (argOf('--only') === 'sybil') {
  process.stdout.write(JSON.stringify({ sybilShare: sybilShare() }, null, 2) + '\n')
  process.exit(0)
}
/** The same figure with each node its own daemon process (--procs; fixtures/qc-procs.ts), on the build as installed. */
async function proposalToQcProcs (): Promise<unknown> {
  if (!process.argv.includes('--procs')) return undefined
  // the daemons run what `npm start` runs: the bundle of dist/ (bin/meshnode.js falls back to dist/ when the bundle is
  // older than the tsc build, which a tsc-only build here made it)
  try { await buildDaemon() } catch (err) { return { error: (err as Error).message.slice(-500) } }
  const nodeArgs = (process.env.QC_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
  return await proposalLatencyProcs(Number(argOf('--nodes') ?? (quick ? 5 : 20)), Number(argOf('--proposals') ?? (quick ? 10 : 40)), nodeArgs, Number(argOf('--warmup') ?? (quick ? 10 : 100)))
    .catch((err: Error) => ({ error: err.message }))
}

if (argOf('--only') === 'latency') {
  const procs = await proposalToQcProcs()
  const inProcess = argOf('--nodes') === '0' || process.argv.includes('--no-in-process') ? undefined : await proposalToQc()
  process.stdout.write(JSON.stringify({ proposalToQcProcesses: procs, proposalToQc: inProcess, uptime: spawnSync('uptime', { encoding: 'utf8' }).stdout.trim() }, null, 2) + '\n')
  process.exit(0)
}
const VOTERS = quick ? 200 : 1_000
const RUNS = quick ? 1 : 5
const NET = 'bench'
const P = defaultReputationParams
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** Median wall time in ms of RUNS calls after one warm-up call. */
async function time (f: () => unknown): Promise<number> {
  await f()
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await f()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return ms[ms.length >> 1]
}

// --- 1. tally and QC verification ---
const keys = await Promise.all(Array.from({ length: VOTERS }, async () => await generateKeyPair('Ed25519')))
const ids = keys.map(k => peerIdFromPrivateKey(k).toString())
const proposalId = cidOf({ bench: 'proposal' })
const envelopes = await Promise.all(keys.map(async (k, i) =>
  await signConsensusRecord(k, NET, 'vote', 1 + i, { proposalId, choice: 'yes', voter: ids[i], network: NET })))
const table = genesisTable(0, ids.map((peer, i) => ({ peer, score: BigInt(10 + (i % 7)) * P.workUnit })), P)
const snapshot = effectiveWeights(table, P)
const votes: CastVote[] = ids.map(voter => ({ voter, proposalId, choice: 'yes' }))
const verify: VoteVerifier = async (bytes) => {
  const r = await openVote(bytes, NET)
  return { voter: r.signer, proposalId: r.payload.proposalId, choice: r.payload.choice }
}
const message = new TextEncoder().encode('baseline')
const sigs = await Promise.all(keys.map(async k => await k.sign(message)))

const tallyMs = await time(() => tallyProposal({ proposalId, expiresAt: 1, weights: electorateWeights(snapshot), votes, now: 0 }))
const qcMs = await time(async () => {
  const v = await verifyQc({ proposalId, epoch: 0, votes: envelopes }, snapshot, { verify })
  if (!v.ok) throw new Error('bench QC does not verify')
})
const qc64Ms = await time(async () => await verifyQc({ proposalId, epoch: 0, votes: envelopes.slice(0, 64) }, snapshot, { verify, electorate: ids.slice(0, 64) }))
const bareMs = await time(async () => {
  for (let i = 0; i < VOTERS; i++) if (!(await keys[i].publicKey.verify(message, sigs[i]))) throw new Error('bad signature')
})

// BLS: the same 1,000 voters, keys derived from their identities, bindings learned once (pop checked), one aggregate
const blsPairs = keys.map(k => deriveBlsKeyPair(k.raw))
const ring = new BlsKeyRing()
const tLearn = performance.now()
ids.forEach((id, i) => { if (ring.learn(id, makeBlsBinding(blsPairs[i], id)) !== 'added') throw new Error('bench binding refused') })
const learnMs = performance.now() - tLearn
const tSign = performance.now()
const blsVotes = ids.map((voter, i) => ({ voter, bytes: envelopes[i], bls: signBlsVote(blsPairs[i], NET, proposalId, 'yes') }))
const signMs = performance.now() - tSign
const buildMs = await time(() => buildQc(proposalId, 0, blsVotes, 64))
const aggQc = buildQc(proposalId, 0, blsVotes, 64)
if (aggQc.aggregate == null) throw new Error('bench QC was not aggregated')
const blsOpts = { verify, bls: { network: NET, keys: (id: string) => ring.get(id) } }
const blsQcMs = await time(async () => {
  const v = await verifyQc(aggQc, snapshot, blsOpts)
  if (!v.ok) throw new Error('bench BLS QC does not verify')
})
const bls64Qc = buildQc(proposalId, 0, blsVotes.slice(0, 64), 0)
const blsQc64Ms = await time(async () => await verifyQc(bls64Qc, snapshot, { ...blsOpts, electorate: ids.slice(0, 64) }))

// --- 2. reputation recomputation against history length ---
const PEERS = 20
const peers = Array.from({ length: PEERS }, (_, i) => `peer-${i}`)
const epochRecords = (e: number): EpochRecords => ({
  seals: [0, 1].map(r => ({ jobId: 'job', round: 2 * e + r, contributors: peers.filter((_, i) => (i + e + r) % 4 !== 0) })),
  outcomes: [0, 1].map(k => ({
    proposalId: `p-${e}-${k}`,
    outcome: k === 0 ? 'accepted' as const : 'rejected' as const,
    votes: peers.map((voter, i) => ({ voter, choice: (i + k) % 3 === 0 ? 'no' as const : 'yes' as const }))
  })),
  evidence: e % 10 === 3 ? [{ voter: peers[e % PEERS], proposalId: `p-${e}-0` }] : []
})
const genesis = genesisTable(0, peers.slice(0, 6).map(peer => ({ peer, score: 20n * P.workUnit })), P)
const replay: Array<{ epochs: number, ms: number, usPerEpoch: number, hash: string }> = []
for (const epochs of quick ? [10, 100] : [10, 100, 1_000, 5_000]) {
  const history = Array.from({ length: epochs }, (_, e) => epochRecords(e))
  let hash = ''
  const ms = await time(() => { hash = reputationHash(replayEpochs(genesis, history, P)) })
  replay.push({ epochs, ms: round(ms), usPerEpoch: round(ms * 1000 / epochs, 1), hash: hash.slice(0, 16) })
}

// --- 3. sybil share per epoch ---
const sybils = sybilShare()

// --- 4. proposal -> QC on N loopback nodes ---
const latency = await proposalToQc()
const latencyProcs = await proposalToQcProcs()

process.stdout.write(JSON.stringify({
  proposalToQc: latency,
  ...(latencyProcs != null ? { proposalToQcProcesses: latencyProcs } : {}),
  voters: VOTERS,
  tallyMs: round(tallyMs, 3),
  qcVerifyEd25519Ms: round(qcMs),
  qcVerifyEd25519PerVoteUs: round(qcMs * 1000 / VOTERS, 1),
  qcVerify64VotersMs: round(qc64Ms),
  baseline: { bareEd25519VerifyMs: round(bareMs), qcOverBare: round(qcMs / bareMs, 2) },
  qcVerifyBlsMs: round(blsQcMs, 3),
  qcVerifyBls64VotersMs: round(blsQc64Ms, 3),
  bls: {
    aggregateBytes: aggQc.aggregate.signature.byteLength,
    votersListBytes: aggQc.aggregate.voters.reduce((n, v) => n + v.length, 0),
    ed25519ListBytes: envelopes.reduce((n, e) => n + e.byteLength, 0),
    qcBuildMs: round(buildMs),
    popCheckPerKeyUs: round(learnMs * 1000 / VOTERS, 1),
    signPerVoteUs: round(signMs * 1000 / VOTERS, 1),
    ed25519OverBls: round(qcMs / blsQcMs, 1)
  },
  reputationReplay: { peers: PEERS, sealsPerEpoch: 2, outcomesPerEpoch: 2, runs: replay },
  sybilShare: sybils
}, null, 2) + '\n')
