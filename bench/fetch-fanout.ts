/**
 * Mesh-wide fetch of one small artifact, as a training round fetches each delta: N storage nodes (real Level, Helia,
 * libp2p on 127.0.0.1, fully connected), node 0 adds a 19 KiB artifact (a 64-64-10 MLP delta), the other N - 1 read it
 * at once. Two modes, trials interleaved in the same run: `hinted` names the producer (what the training service
 * does: the read asks it alone through a bitswap session, hinted.ts) and `broadcast` (the baseline) names nobody, so
 * the want goes to every connected peer. Busy-loop processes load the machine as a mesh at work does (`--load`).
 * Per mode: fetch latency (median, p90 over every reader of every trial) and blocks received per read (1 is ideal).
 * Prints ONE JSON object. Run: `npx tsx bench/fetch-fanout.ts [--nodes N] [--trials N] [--load N] [--quick]`.
 */
import '../src/node/polyfills.js'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { connectAll, countBitswapBlocks, pseudoRandom, startStorageNode, type StorageNode } from '../test/integration/storage/helpers.js'

const { values: args } = parseArgs({ options: { nodes: { type: 'string', default: '10' }, trials: { type: 'string', default: '8' }, load: { type: 'string', default: '3' }, help: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } } })
if (args.help) {
  process.stdout.write(`usage: npx tsx bench/fetch-fanout.ts [--nodes N] [--trials N] [--load N] [--quick]
  N - 1 nodes read one 19 KiB artifact at once, naming its producer (hinted) or not (broadcast, the baseline),
  trials interleaved, under N busy-loop processes; prints one JSON object; --quick: 6 nodes, 2 trials
`)
  process.exit(0)
}
if (args.quick) { args.nodes = '6'; args.trials = '2' }
const NODES = Number(args.nodes)
const TRIALS = Number(args.trials)
const LOAD = Number(args.load)
const BYTES = 19_256

const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] }

const root = await mkdtemp(join(tmpdir(), 'meshnode-fanout-'))
const nodes: StorageNode[] = []
const busy: Array<ReturnType<typeof spawn>> = []
try {
  for (let i = 0; i < NODES; i++) nodes.push(await startStorageNode(join(root, `n${i}`), { artifacts: { fetchTimeoutMs: 60_000 } }))
  await connectAll(nodes)
  for (let i = 0; i < LOAD; i++) busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
  const readers = nodes.slice(1)
  const modes = { hinted: { ms: [] as number[], blocks: 0, reads: 0 }, broadcast: { ms: [] as number[], blocks: 0, reads: 0 } }
  for (let t = 0; t < TRIALS; t++) {
    for (const mode of (t % 2 === 0 ? ['hinted', 'broadcast'] : ['broadcast', 'hinted']) as Array<keyof typeof modes>) {
      const { cid } = await nodes[0].store.add(pseudoRandom(BYTES, 1000 + 2 * t + (mode === 'hinted' ? 0 : 1)), { name: 'delta.bin', announce: false })
      const counters = readers.map(n => countBitswapBlocks(n, cid))
      const providers = mode === 'hinted' ? [nodes[0].peerId] : undefined
      const ms = await Promise.all(readers.map(async n => {
        const t0 = performance.now()
        await n.store.cat(cid, { providers })
        return performance.now() - t0
      }))
      await new Promise(resolve => setTimeout(resolve, 1500)) // late duplicates still count
      modes[mode].ms.push(...ms)
      modes[mode].blocks += counters.reduce((a, c) => a + c.count(), 0)
      for (const c of counters) c.stop()
      modes[mode].reads += readers.length
    }
  }
  const figures = (m: { ms: number[], blocks: number, reads: number }): Record<string, number> => ({
    fetchMsP50: Math.round(quantile(m.ms, 0.5)),
    fetchMsP90: Math.round(quantile(m.ms, 0.9)),
    blocksPerRead: Number((m.blocks / m.reads).toFixed(2))
  })
  const hinted = figures(modes.hinted)
  const broadcast = figures(modes.broadcast)
  process.stdout.write(JSON.stringify({
    machine: { cpus: cpus().length, loadavg1: Number(loadavg()[0].toFixed(2)) },
    nodes: NODES,
    trials: TRIALS,
    busyLoops: LOAD,
    artifactBytes: BYTES,
    hinted,
    baseline: { broadcast },
    ratio: { fetchMsP50: Number((broadcast.fetchMsP50 / hinted.fetchMsP50).toFixed(1)), blocksPerRead: Number((broadcast.blocksPerRead / hinted.blocksPerRead).toFixed(1)) }
  }, null, 2) + '\n')
} finally {
  for (const b of busy) b.kill('SIGKILL')
  for (const n of nodes.reverse()) await n.close().catch(() => {})
  await rm(root, { recursive: true, force: true })
}
