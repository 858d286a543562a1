/**
 * The contract property tests with more runs than CI makes, printed as ONE JSON object: how many runs each property
 * made, whether all held, and how long it took.
 * Run: npx tsx bench/contract-invariants.ts [--quick] [--runs N] [--help]
 */
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const FILES = ['contracts/test/vault-invariants.test.ts', 'contracts/test/market-invariants.test.ts']

const USAGE = `usage: npx tsx bench/contract-invariants.ts [--quick] [--runs N] [--help]

Runs the CreditVault and ComputeMarket property tests (fast-check driving real transactions on anvil) with N runs per
property (default 1024; --quick: 256, as in CI) and prints one JSON object. CI makes 256 runs per property.`

function main (): number {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  const at = argv.indexOf('--runs')
  const runs = at >= 0 ? Number(argv[at + 1]) : argv.includes('--quick') ? 256 : 1024
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`bad --runs\n${USAGE}\n`)
    return 2
  }
  const t0 = performance.now()
  const r = spawnSync('npx', ['vitest', 'run', ...FILES, '--reporter=json'], {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, MESHNODE_PROPERTY_RUNS: String(runs) }
  })
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(1))
  const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
    testResults: Array<{ assertionResults: Array<{ title: string, status: string, duration?: number }> }>
  }
  const properties = report.testResults.flatMap(f => f.assertionResults).map(a => ({
    property: a.title, status: a.status, seconds: Number(((a.duration ?? 0) / 1000).toFixed(1))
  }))
  process.stdout.write(JSON.stringify({
    bench: 'contract-invariants',
    runsPerProperty: runs,
    baseline: { ciRunsPerProperty: 256 },
    allHeld: r.status === 0 && properties.every(p => p.status === 'passed'),
    seconds,
    properties
  }, null, 2) + '\n')
  return r.status === 0 ? 0 : 1
}

process.exitCode = main()
