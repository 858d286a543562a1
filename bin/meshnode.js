#!/usr/bin/env node
// The CLI entry. Runs, in order of preference (all built by `npm install` / `npm run build`):
// 1. the bundle, dist/bundle/meshnode.js (scripts/bundle.ts): a node loads a few dozen files instead of ~1,500
//    modules, which was most of its start-up time; used only when at least as new as the tsc build it was made from
//    (a later `tsc` alone leaves it stale, and then dist/ is used);
// 2. the compiled JavaScript in dist/, about three times faster to start than compiling TypeScript on the fly;
// 3. without a build, tsx on src/.
import { existsSync, statSync } from 'node:fs'

const bundle = new URL('../dist/bundle/meshnode.js', import.meta.url)
const compiled = new URL('../dist/src/node/cli/main.js', import.meta.url)
const tscStamp = new URL('../dist/.tsbuildinfo', import.meta.url)

/** The bundle exists and was made after the last tsc build (tsc rewrites its build info only when it emits). */
function bundleIsCurrent () {
  if (!existsSync(bundle)) return false
  return !existsSync(tscStamp) || statSync(bundle).mtimeMs >= statSync(tscStamp).mtimeMs
}

if (process.env.MESHNODE_NO_BUNDLE !== '1' && bundleIsCurrent()) {
  await import(bundle.href)
} else if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/node/cli/main.ts')
}
