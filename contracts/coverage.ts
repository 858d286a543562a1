/**
 * Branch and line coverage of CreditVault and ComputeMarket by the contract tests, printed as ONE JSON object.
 * Run: npx tsx contracts/coverage.ts [test files...] [--help]   (default: all of contracts/test)
 *
 * No Solidity coverage tool runs here (forge coverage needs native solc and covers only Solidity tests;
 * solidity-coverage needs Hardhat), so this measures it directly: the contract tests run with every anvil step-traced
 * (contracts/test/harness/coverage.ts), every JUMPI of the deployed code records which ways it went, and solc's
 * source map of the same bytecode attributes each JUMPI to a line of the contract's own source. A branch is one
 * direction of one JUMPI attributed to a statement of the contract's own file (inlined OpenZeppelin code, and the
 * dispatch, ABI-decoding and overflow checks that solc maps to a whole contract or function, are not counted). Property tests run MESHNODE_COVERAGE_RUNS (default 24) runs here: tracing costs ~25 ms
 * per transaction.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compile, ROOT, type Compiled } from './compile.js'

const USAGE = `usage: npx tsx contracts/coverage.ts [test files...] [--help]

Runs the contract tests (vitest contracts/test, or the files given) with step-traced anvils, then prints one JSON object with the branch
(JUMPI direction) and line coverage of CreditVault and ComputeMarket, and their uncovered branches by line.
MESHNODE_COVERAGE_RUNS sets the fast-check runs per property under coverage (default 24).`

const TARGETS: Record<string, string> = { CreditVault: 'contracts/CreditVault.sol', ComputeMarket: 'contracts/ComputeMarket.sol' }

interface SourceEntry { s: number, l: number, f: number }

/** solc's compressed source map, one entry per instruction. */
function decompress (map: string): SourceEntry[] {
  const out: SourceEntry[] = []
  let prev: SourceEntry = { s: -1, l: -1, f: -1 }
  for (const item of map.split(';')) {
    const [s, l, f] = item.split(':')
    prev = { s: s === undefined || s === '' ? prev.s : Number(s), l: l === undefined || l === '' ? prev.l : Number(l), f: f === undefined || f === '' ? prev.f : Number(f) }
    out.push(prev)
  }
  return out
}

/** The program counter of each instruction, and which are JUMPIs. */
function instructions (code: string): Array<{ pc: number, jumpi: boolean }> {
  const bytes = Buffer.from(code.slice(2), 'hex')
  const out: Array<{ pc: number, jumpi: boolean }> = []
  for (let pc = 0; pc < bytes.length; pc++) {
    const op = bytes[pc]
    out.push({ pc, jumpi: op === 0x57 })
    if (op >= 0x60 && op <= 0x7f) pc += op - 0x5f // PUSH1..PUSH32 data
  }
  return out
}

/** The code with its immutable ranges zeroed, so a deployment matches its artifact. */
function masked (code: string, ranges: Array<{ start: number, length: number }>): string {
  const bytes = Buffer.from(code.slice(2), 'hex')
  for (const r of ranges) bytes.fill(0, r.start, r.start + r.length)
  return bytes.toString('hex')
}

function lineOf (content: string, offset: number): number {
  let line = 1
  for (let i = 0; i < offset && i < content.length; i++) if (content.charCodeAt(i) === 10) line++
  return line
}

function main (): number {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  const compilation = compile(true)
  const dir = mkdtempSync(join(tmpdir(), 'meshnode-coverage-'))
  try {
    const t0 = performance.now()
    const only = process.argv.slice(2).filter(a => !a.startsWith('-'))
    const run = spawnSync('npx', ['vitest', 'run', ...(only.length > 0 ? only : ['contracts/test'])], {
      cwd: ROOT, env: { ...process.env, MESHNODE_CONTRACT_COVERAGE: dir }, stdio: ['ignore', 2, 2] // stdout is for the JSON
    })
    if (run.status !== 0) {
      process.stderr.write(`the contract tests failed under coverage (exit ${String(run.status)})\n`)
      return 1
    }
    const seconds = Math.round((performance.now() - t0) / 1000)
    const files = readdirSync(dir).filter(f => f.endsWith('.json'))
    const dumps = files.map(f => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { contracts: Record<string, { code: string, hits: Record<string, number> }> })
    const report: Record<string, unknown> = {}
    for (const [name, file] of Object.entries(TARGETS)) {
      const c = compilation.contracts.find(x => x.name === name)
      const source = compilation.sources[file]
      if (c === undefined || source === undefined) throw new Error(`${name} not compiled`)
      report[name] = coverageOf(c, source, dumps)
    }
    process.stdout.write(JSON.stringify({
      bench: 'contract-coverage',
      method: 'JUMPI directions and executed instructions from step traces, mapped to source lines by solc source maps',
      anvils: files.length,
      seconds,
      propertyRunsUnderCoverage: Number(process.env.MESHNODE_COVERAGE_RUNS ?? 24),
      contracts: report
    }, null, 2) + '\n')
    return 0
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function coverageOf (
  c: Compiled, source: { content: string, id: number }, dumps: Array<{ contracts: Record<string, { code: string, hits: Record<string, number> }> }>
): Record<string, unknown> {
  const want = masked(c.deployedBytecode, c.immutableRanges ?? [])
  const hits = new Map<number, number>()
  let deployments = 0
  for (const dump of dumps) {
    for (const entry of Object.values(dump.contracts)) {
      if (entry.code.length !== c.deployedBytecode.length || masked(entry.code, c.immutableRanges ?? []) !== want) continue
      deployments++
      for (const [pc, mask] of Object.entries(entry.hits)) hits.set(Number(pc), (hits.get(Number(pc)) ?? 0) | mask)
    }
  }
  const map = decompress(c.sourceMap ?? '')
  const ins = instructions(c.deployedBytecode)
  const lines = new Map<number, boolean>() // line -> executed
  const branches: Array<{ line: number, jumped: boolean, fellThrough: boolean }> = []
  let generated = 0
  ins.forEach((instruction, i) => {
    const at = map[i]
    if (at === undefined || at.f !== source.id || at.s < 0) return
    // code the compiler adds (dispatch, ABI decoding, overflow checks) maps to a whole contract or function definition
    if (/^(abstract\s+)?(contract|function|constructor|modifier)\b/.test(source.content.slice(at.s, at.s + at.l))) {
      if (instruction.jumpi) generated++
      return
    }
    const line = lineOf(source.content, at.s)
    const mask = hits.get(instruction.pc) ?? 0
    lines.set(line, (lines.get(line) ?? false) || (mask & 4) !== 0)
    if (instruction.jumpi) branches.push({ line, jumped: (mask & 1) !== 0, fellThrough: (mask & 2) !== 0 })
  })
  const total = branches.length * 2
  const covered = branches.reduce((n, b) => n + (b.jumped ? 1 : 0) + (b.fellThrough ? 1 : 0), 0)
  const srcLines = source.content.split('\n')
  const uncovered = branches.filter(b => !b.jumped || !b.fellThrough).map(b => ({
    line: b.line,
    missing: !b.jumped && !b.fellThrough ? 'both ways (never reached)' : !b.jumped ? 'the jump' : 'the fall-through',
    source: (srcLines[b.line - 1] ?? '').trim()
  }))
  const executedLines = [...lines.values()].filter(Boolean).length
  return {
    deployments,
    branches: { total, covered, percent: total === 0 ? 100 : Number((100 * covered / total).toFixed(1)), compilerGeneratedJumpisSkipped: generated },
    lines: { total: lines.size, covered: executedLines, percent: lines.size === 0 ? 100 : Number((100 * executedLines / lines.size).toFixed(1)) },
    uncoveredBranches: uncovered,
    unexecutedLines: [...lines.entries()].filter(([, hit]) => !hit).map(([line]) => ({ line, source: (srcLines[line - 1] ?? '').trim() }))
  }
}

process.exitCode = main()
