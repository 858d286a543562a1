/**
 * Compiles the Solidity contracts with solc-js (standard JSON, optimizer on, evmVersion cancun, no metadata hash, so
 * the output depends only on the sources and the pinned compiler) and writes, deterministically:
 * - contracts/build/<Name>.json: { contractName, sourceName, compiler, abi, bytecode, deployedBytecode }
 * - src/ledger/contracts/<name>.ts: typed ethers v6 bindings (ABI `as const`, bytecode, deploy/attach helpers) for the
 *   contracts the app uses, plus index.ts; contracts/test/bindings/<name>.ts for the test-only tokens.
 *
 * Run: npx tsx contracts/build.ts            (write the outputs)
 *      npx tsx contracts/build.ts --check    (recompile; exit 1 when a committed output differs: for CI)
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { appIndex, binding, GENERATED, kebab } from './codegen.js'
import { compile, OPTIMIZER_RUNS, ROOT, SOLC_VERSION, type Compiled } from './compile.js'

const APP_CONTRACTS = new Set(['FTNSToken', 'CreditVault', 'ComputeMarket', 'TestQuoteToken'])
const BUILD_DIR = 'contracts/build'
const APP_BINDINGS_DIR = 'src/ledger/contracts'
const TEST_BINDINGS_DIR = 'contracts/test/bindings'

function usage (): string {
  return [
    'usage: tsx contracts/build.ts [--check]',
    '',
    'Compiles contracts/*.sol, contracts/test-tokens/*.sol and contracts/test-helpers/*.sol with solc-js ' + SOLC_VERSION.split('+')[0] + ' and writes',
    `${BUILD_DIR}/<Name>.json, ${APP_BINDINGS_DIR}/<name>.ts (+ index.ts) and ${TEST_BINDINGS_DIR}/<name>.ts.`,
    '  --check  compile and compare with the files on disk; exit 1 if any differs or is missing',
    '  --help   print this and exit'
  ].join('\n')
}

/** Every output file, path (relative to the root) -> content. */
function outputs (compiled: Compiled[]): Map<string, string> {
  const files = new Map<string, string>()
  const compiler = { version: SOLC_VERSION, optimizerRuns: OPTIMIZER_RUNS, evmVersion: 'cancun' }
  for (const c of compiled) {
    const json = { contractName: c.name, sourceName: c.sourceName, compiler, abi: c.abi, bytecode: c.bytecode, deployedBytecode: c.deployedBytecode }
    files.set(`${BUILD_DIR}/${c.name}.json`, JSON.stringify(json, null, 2) + '\n')
    const app = APP_CONTRACTS.has(c.name)
    const dir = app ? APP_BINDINGS_DIR : TEST_BINDINGS_DIR
    const typedImport = app ? './typed.js' : '../../../' + APP_BINDINGS_DIR + '/typed.js'
    files.set(`${dir}/${kebab(c.name)}.ts`, binding(c, typedImport))
  }
  files.set(`${APP_BINDINGS_DIR}/index.ts`, appIndex(compiled.filter(c => APP_CONTRACTS.has(c.name))))
  return files
}

/** Generated files on disk that the current sources no longer produce. */
function stale (files: Map<string, string>): string[] {
  const found: string[] = []
  for (const dir of [BUILD_DIR, APP_BINDINGS_DIR, TEST_BINDINGS_DIR]) {
    if (!existsSync(join(ROOT, dir))) continue
    for (const f of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${f}`
      if (files.has(path)) continue
      const isGenerated = f.endsWith('.json') ? dir === BUILD_DIR : f.endsWith('.ts') && readFileSync(join(ROOT, path), 'utf8').startsWith(GENERATED)
      if (isGenerated) found.push(path)
    }
  }
  return found
}

function main (): number {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  const unknown = argv.filter(a => a !== '--check')
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n${usage()}\n`)
    return 2
  }
  const t0 = performance.now()
  const files = outputs(compile().contracts)
  const old = stale(files)
  if (argv.includes('--check')) {
    const differing = [...files].filter(([path, content]) => {
      const abs = join(ROOT, path)
      return !existsSync(abs) || readFileSync(abs, 'utf8') !== content
    }).map(([path]) => path)
    for (const p of differing) process.stderr.write(`differs from the sources: ${p}\n`)
    for (const p of old) process.stderr.write(`stale generated file: ${p}\n`)
    if (differing.length > 0 || old.length > 0) {
      process.stderr.write('contract outputs are out of date: run `npm run contracts:build` and commit the result\n')
      return 1
    }
    process.stdout.write(`contract outputs match the sources (${files.size} files, ${Math.round(performance.now() - t0)} ms)\n`)
    return 0
  }
  for (const [path, content] of files) {
    mkdirSync(dirname(join(ROOT, path)), { recursive: true })
    writeFileSync(join(ROOT, path), content)
  }
  for (const p of old) rmSync(join(ROOT, p))
  process.stdout.write(`wrote ${files.size} files${old.length > 0 ? `, removed ${old.length} stale` : ''} in ${Math.round(performance.now() - t0)} ms\n`)
  for (const path of [...files.keys()].sort()) process.stdout.write(`  ${relative(ROOT, join(ROOT, path))}\n`)
  return 0
}

process.exitCode = main()
