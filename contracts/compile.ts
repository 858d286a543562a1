/**
 * Compiles the Solidity sources with solc-js: standard JSON, the pinned compiler, optimizer on (viaIR), evmVersion
 * cancun, no metadata hash, imports resolved from node_modules. Used by contracts/build.ts (artifacts and bindings)
 * and contracts/coverage.ts (source maps).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'
import type { AbiItem } from './codegen.js'

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

/** The compiler every output is built with; a different one fails the build rather than changing the bytecode. */
export const SOLC_VERSION = '0.8.37+commit.f401782d.Emscripten.clang'
/**
 * Tuned for the gas targets: vouchers and fills run far more often than deployments, and every contract stays far
 * under the 24 KiB code limit. The IR pipeline (viaIR) is used: ~3k gas cheaper per fill than the legacy one, at the
 * price of a ~20 s compile.
 */
export const OPTIMIZER_RUNS = 10_000
/** Source folders, relative to the root; test-tokens and test-helpers are built too (tests and `local` use them). */
const SOURCE_DIRS = ['contracts', 'contracts/test-tokens', 'contracts/test-helpers']
/** Contracts whose bindings the app imports (src/ledger/contracts); the others get test bindings only. */
interface SolcContract {
  abi: AbiItem[]
  evm: {
    bytecode: { object: string }
    deployedBytecode: { object: string, sourceMap?: string, immutableReferences?: Record<string, Array<{ start: number, length: number }>> }
  }
}

interface SolcOutput {
  errors?: Array<{ severity: string, formattedMessage: string }>
  contracts?: Record<string, Record<string, SolcContract>>
  sources?: Record<string, { id: number }>
}

/** One compiled contract, with what coverage needs when asked for. */
export interface Compiled {
  name: string
  sourceName: string
  abi: AbiItem[]
  bytecode: string
  deployedBytecode: string
  /** solc's compressed source map of the runtime code (with `withSourceMaps`). */
  sourceMap?: string
  /** Byte ranges of the runtime code that hold immutables (with `withSourceMaps`). */
  immutableRanges?: Array<{ start: number, length: number }>
}

/** A compilation: the contracts, the sources (content and solc's file index). */
export interface Compilation {
  contracts: Compiled[]
  sources: Record<string, { content: string, id: number }>
}

/** The Solidity files compiled, relative to the root, sorted. */
export function sourceFiles (): string[] {
  const files: string[] = []
  for (const dir of SOURCE_DIRS) {
    for (const f of readdirSync(join(ROOT, dir)).sort()) {
      if (f.endsWith('.sol')) files.push(`${dir}/${f}`)
    }
  }
  return files
}

/** Resolves `@openzeppelin/...` and other package imports from node_modules. */
function findImportContent (path: string): string {
  const found = findImport(path)
  return 'contents' in found ? found.contents : ''
}

function findImport (path: string): { contents: string } | { error: string } {
  try {
    const pkg = path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]
    const pkgDir = dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] }))
    return { contents: readFileSync(join(pkgDir, path.slice(pkg.length + 1)), 'utf8') }
  } catch (err) {
    return { error: `cannot import ${path}: ${(err as Error).message}` }
  }
}

/**
 * Compiles every source with the pinned solc and settings. `withSourceMaps` also asks for the runtime source maps and
 * immutable positions (for coverage); the bytecode is the same either way.
 */
export function compile (withSourceMaps = false): Compilation {
  if (solc.version() !== SOLC_VERSION) {
    throw new Error(`solc ${solc.version()} installed, ${SOLC_VERSION} expected (pin "solc" in package.json)`)
  }
  const sources: Record<string, { content: string }> = {}
  for (const f of sourceFiles()) sources[f] = { content: readFileSync(join(ROOT, f), 'utf8') }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      viaIR: true,
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none' },
      outputSelection: {
        '*': {
          '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object',
            ...(withSourceMaps ? ['evm.deployedBytecode.sourceMap', 'evm.deployedBytecode.immutableReferences'] : [])]
        }
      }
    }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput
  const errors = (output.errors ?? []).filter(e => e.severity === 'error')
  // warnings about our own sources are printed; OpenZeppelin's (its transient-storage notice) are not
  for (const e of output.errors ?? []) {
    if (e.severity !== 'error' && !e.formattedMessage.includes('@openzeppelin/')) process.stderr.write(e.formattedMessage)
  }
  if (errors.length > 0) throw new Error(errors.map(e => e.formattedMessage).join('\n'))
  const out: Compiled[] = []
  for (const sourceName of Object.keys(sources)) {
    for (const [name, c] of Object.entries(output.contracts?.[sourceName] ?? {})) {
      if (c.evm.bytecode.object === '') continue // abstract contracts and interfaces
      const compiled: Compiled = { name, sourceName, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, deployedBytecode: '0x' + c.evm.deployedBytecode.object }
      if (withSourceMaps) {
        compiled.sourceMap = c.evm.deployedBytecode.sourceMap
        compiled.immutableRanges = Object.values(c.evm.deployedBytecode.immutableReferences ?? {}).flat()
      }
      out.push(compiled)
    }
  }
  const all: Compilation['sources'] = {}
  for (const [name, meta] of Object.entries(output.sources ?? {})) {
    all[name] = { content: sources[name]?.content ?? findImportContent(name), id: meta.id }
  }
  return { contracts: out.sort((a, b) => a.name.localeCompare(b.name)), sources: all }
}
