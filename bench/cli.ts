/**
 * CLI start-up (issue [hardening], defect 13): the wall time of a whole `meshnode <client command>` process, run
 * from the build (the bundle of dist/) through bin/meshnode.js as an installed CLI runs, beside `node -e ''`
 * measured in the same run (interleaved, so both see the same machine load). Target: a client command <= 3x the baseline.
 * Prints one JSON object with the medians (ms) and each command's ratio to the baseline. `--quick`: fewer runs.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, BIN } from '../test/harness/index.js'
import { buildDaemon } from '../scripts/bundle.js'
import { initDataDir } from '../src/node/identity.js'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npx tsx bench/cli.ts [--quick]
  wall time of client commands (status, peers, hardware, artifacts ls, train status; --help and a real call with no
  daemon running) and of \`meshnode --help\` / \`start --help\`, run from the build via bin/meshnode.js, beside
  \`node -e ''\` in the same run; builds first (tsc, bundle); prints one JSON object (medians in ms, ratio to the baseline)
`)
  process.exit(0)
}
const quick = process.argv.includes('--quick')
const runs = quick ? 3 : 11

// the CLI as installed: tsc, then the bundle bin/meshnode.js runs
await buildDaemon()

const dataDir = await mkdtemp(join(tmpdir(), 'meshnode-bench-cli-'))
await initDataDir(dataDir)
const d = ['--data-dir', dataDir]
const cases: Record<string, string[]> = {
  baseline: ['-e', ''],
  'status --help': [BIN, 'status', '--help'],
  'peers --help': [BIN, 'peers', '--help'],
  'hardware --help': [BIN, 'hardware', '--help'],
  'artifacts ls --help': [BIN, 'artifacts', 'ls', '--help'],
  'train status --help': [BIN, 'train', 'status', '--help'],
  // a real call: reads the data directory, finds no daemon, exits 2 (what every client command does before its request)
  status: [BIN, 'status', ...d],
  'train status': [BIN, 'train', 'status', ...d],
  // for reference, not client commands: every group, and the daemon's
  '--help': [BIN, '--help'],
  'start --help': [BIN, 'start', '--help']
}

const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map(k => [k, []]))
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' })
    times[name].push(Number(process.hrtime.bigint() - t0) / 1e6)
    if (r.status !== 0 && !(r.status === 2 && /no meshnode daemon/.test(r.stderr))) throw new Error(`${name} exited ${r.status}: ${r.stderr}`)
  }
}
await rm(dataDir, { recursive: true, force: true })

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const base = median(times.baseline)
const commands = Object.fromEntries(Object.entries(times).filter(([k]) => k !== 'baseline').map(([k, xs]) => {
  const m = median(xs)
  return [k, { medianMs: Math.round(m), ratio: Math.round(m / base * 100) / 100 }]
}))
const client = ['status --help', 'peers --help', 'hardware --help', 'artifacts ls --help', 'train status --help', 'status', 'train status']
const worst = Math.max(...client.map(k => (commands[k] as { ratio: number }).ratio))
process.stdout.write(JSON.stringify({
  runs,
  baseline: { command: "node -e ''", medianMs: Math.round(base) },
  commands,
  clientWorstRatio: worst,
  target: 3,
  meetsTarget: worst <= 3
}, null, 2) + '\n')
