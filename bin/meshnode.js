#!/usr/bin/env node
// The CLI entry. Runs the compiled JavaScript from dist/ (built by `npm install` / `npm run build`), which starts
// about three times faster than compiling TypeScript on the fly; without a build it falls back to tsx on src/.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/src/node/cli/main.js', import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/node/cli/main.ts')
}
