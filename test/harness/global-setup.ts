/**
 * Integration tests spawn the real CLI (`bin/meshnode.js`, which runs the bundle of the compiled dist/, else dist/):
 * build both once first, so a test never runs a stale build and every node process starts at bundled speed. Type
 * errors do not stop the emit (they are the type check's job: `npm run typecheck`, run by CI before the tests);
 * anything else fails.
 */
import { buildDaemon } from '../../scripts/bundle.js'

// both integration projects name this file and vitest runs it once per project, in the one main process: build once
const shared = globalThis as { meshnodeTestBuild?: Promise<string> }

export default async function setup (): Promise<void> {
  // tsc, then the daemon bundle of its output, as `npm run build` does: bin/meshnode.js runs the bundle when current
  if (shared.meshnodeTestBuild !== undefined) { await shared.meshnodeTestBuild; return }
  shared.meshnodeTestBuild = buildDaemon()
  const typeErrors = await shared.meshnodeTestBuild
  if (typeErrors !== '') process.stderr.write(`warning: type errors (the build was emitted):\n${typeErrors.slice(0, 2000)}\n`)
}
