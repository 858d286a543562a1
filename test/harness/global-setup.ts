/**
 * Integration tests spawn the real CLI (`bin/meshnode.js`, which runs the compiled dist/): build it once first, so
 * a test never runs a stale build and every node process starts at compiled speed. Type errors do not stop the
 * emit (they are the type check's job: `npm run typecheck`, run by CI before the tests); anything else fails.
 */
import { spawnSync } from 'node:child_process'
import { REPO_ROOT } from './index.js'

export default function setup (): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' })
  if (r.status === 0) return
  // tsc exits 2 when it emitted despite type errors, 1 when it could not emit
  if (r.status === 2) { process.stderr.write(`warning: type errors (the build was emitted):\n${r.stdout.slice(0, 2000)}\n`); return }
  throw new Error(`build failed (${r.status}): ${r.stdout}${r.stderr}`)
}
