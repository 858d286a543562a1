/**
 * `npm run bench`: runs every benchmark script in its own process, one after another, and prints one JSON document
 * `{ "<script>": <its JSON output> }`. `--quick` is passed through; `--only name,name` picks scripts.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
if (args.includes('--help')) {
  process.stdout.write('usage: npm run bench [-- --quick] [-- --only name,name]\n  runs every bench/*.ts script in its own process and prints { "<script>": <its JSON> }\n')
  process.exit(0)
}
const onlyIdx = args.indexOf('--only')
const only = onlyIdx >= 0 ? new Set(args[onlyIdx + 1].split(',')) : undefined
const passThrough = args.filter(a => a === '--quick')
const scripts = readdirSync(here).filter(f => f.endsWith('.ts') && f !== 'run-all.ts').map(f => f.replace(/\.ts$/, '')).filter(n => only == null || only.has(n)).sort()

const results: Record<string, unknown> = {}
for (const name of scripts) {
  process.stderr.write(`bench: ${name}...\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...passThrough], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] })
  const text = r.stdout.trim()
  const start = text.indexOf('{')
  try {
    results[name] = JSON.parse(text.slice(start))
  } catch {
    results[name] = { error: `exit ${r.status}`, output: text.slice(-2000) }
  }
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n')
