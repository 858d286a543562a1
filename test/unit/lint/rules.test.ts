import { describe, it, expect, beforeAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { ESLint } from 'eslint'

// The layering rules are path rules: each case lints a snippet as if it sat at `path`, with the repo's own config,
// so no violating file has to exist in the tree. Every failing case has a legal twin that differs in one thing
// (the path or the import), so a rule that never fires, or fires on everything, fails here.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

let eslint: ESLint
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js') })
})

/** The rule ids ESLint reports for `code` at `path` (fatal parse errors and "file ignored" included). */
async function ruleIds (path: string, code: string): Promise<Array<string | null>> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path), warnIgnored: true })
  return result.messages.map(m => m.ruleId)
}

/** `n` lines of valid, style-clean code, ending with a newline like every file in the tree. */
function lines (n: number): string {
  return Array.from({ length: n }, (_, i) => `export const v${i} = ${i}`).join('\n') + '\n'
}

type Case = [name: string, path: string, code: string, rules: string[]]

const failing: Case[] = [
  ['storage importing src/node', 'src/storage/bad.ts',
    "import { MeshNode } from '../node/node.js'\nexport const n = MeshNode\n", ['meshnode/no-import-node']],
  ['a nested training file re-exporting src/node', 'src/training/model/bad.ts',
    "export * from '../../node/polyfills.js'\n", ['meshnode/no-import-node']],
  ['a type-only import of src/node', 'src/consensus/bad.ts',
    "import type { MeshNode } from '../node/node.js'\nexport type N = MeshNode\n", ['meshnode/no-import-node']],
  ['an import type of src/node', 'src/storage/bad.ts',
    "export type N = import('../node/node.js').MeshNode\n", ['meshnode/no-import-node']],
  ['a dynamic import of src/node', 'src/storage/bad.ts',
    "export const load = async (): Promise<unknown> => await import('../node/node.js')\n", ['meshnode/no-import-node']],
  ['protocols importing training (even its index)', 'src/protocols/bad.ts',
    "import { training } from '../training/index.js'\nexport const t = training\n", ['meshnode/protocols-only-common']],
  ['common importing protocols', 'src/common/bad.ts',
    "import { openSignedRecord } from '../protocols/index.js'\nexport const o = openSignedRecord\n",
    ['meshnode/common-imports-nothing']],
  ['training importing a storage internal', 'src/training/service/bad.ts',
    "import { ArtifactStore } from '../../storage/artifacts.js'\nexport const a = ArtifactStore\n",
    ['meshnode/index-only']],
  ['storage importing a consensus internal', 'src/storage/bad.ts',
    "import { VerifiedMajority } from '../consensus/core/verified-majority.js'\nexport const v = VerifiedMajority\n", ['meshnode/index-only']],
  ['a core file importing node:fs', 'src/training/core/bad.ts',
    "import { readFileSync } from 'node:fs'\nexport const r = readFileSync\n",
    ['@typescript-eslint/no-restricted-imports']],
  ['a round file importing a libp2p package', 'src/training/round/bad.ts',
    "import { peerIdFromString } from '@libp2p/peer-id'\nexport const p = peerIdFromString\n",
    ['@typescript-eslint/no-restricted-imports']],
  ['a core file importing a module dynamically', 'src/consensus/core/bad.ts',
    "export const load = async (): Promise<unknown> => await import('node:net')\n", ['no-restricted-syntax']],
  ['a core file reading Date.now', 'src/consensus/core/bad.ts',
    'export const now = (): number => Date.now()\n', ['no-restricted-properties']],
  ['a round file calling Math.random', 'src/training/round/bad.ts',
    'export const roll = (): number => Math.random()\n', ['no-restricted-properties']],
  ['a core file reading process.env', 'src/storage/core/bad.ts',
    'export const home = process.env.HOME\n', ['no-restricted-properties']],
  ['`as unknown as` in src', 'src/storage/bad.ts',
    'export const n = (x: string): number => x as unknown as number\n', ['no-restricted-syntax']],
  ['`<T><unknown>` in src', 'src/node/bad.ts',
    'export const n = (x: string): number => <number><unknown>x\n', ['no-restricted-syntax']],
  ['a 401-line file in src', 'src/storage/bad.ts', lines(401), ['max-lines']]
]

const passing: Case[] = [
  // src/common and src/protocols are kits imported file by file (IMPORTED_BY_FILE in eslint.config.js)
  ['storage importing a common file', 'src/storage/ok.ts',
    "import { MeshError } from '../common/errors.js'\nexport const e = MeshError\n", []],
  ['training importing a protocols file', 'src/training/ok.ts',
    "import { openSignedRecord } from '../protocols/record.js'\nexport const o = openSignedRecord\n", []],
  ['src/node importing a storage internal', 'src/node/ok.ts',
    "import { ArtifactStore } from '../storage/artifacts.js'\nexport const a = ArtifactStore\n", []],
  ['a test importing src/node', 'test/unit/ok.test.ts',
    "import { MeshNode } from '../../src/node/node.js'\nexport const n = MeshNode\n", []],
  ['a bench importing src/node', 'bench/ok.ts',
    "import { MeshNode } from '../src/node/node.js'\nexport const n = MeshNode\n", []],
  ['protocols importing common', 'src/protocols/ok.ts',
    "import { MeshError } from '../common/index.js'\nexport const e = MeshError\n", []],
  ['protocols importing its own files', 'src/protocols/validate/ok.ts',
    "import { openSignedRecord } from '../record.js'\nexport const o = openSignedRecord\n", []],
  ['common importing its own files', 'src/common/ok.ts',
    "import { MeshError } from './errors.js'\nexport const e = MeshError\n", []],
  ['training importing the storage index', 'src/training/service/ok.ts',
    "import { artifactStore } from '../../storage/index.js'\nexport const a = artifactStore\n", []],
  ['training importing its own internals', 'src/training/service/ok.ts',
    "import { TrainingError } from '../errors.js'\nexport const e = TrainingError\n", []],
  ['a shell file importing node:fs', 'src/training/service/ok.ts',
    "import { readFileSync } from 'node:fs'\nexport const r = readFileSync\n", []],
  ['a core file importing a libp2p type only', 'src/training/core/ok.ts',
    "import type { PeerId } from '@libp2p/interface'\nexport type P = PeerId\n", []],
  ['a core file importing a pure package', 'src/training/round/ok.ts',
    "import { Type } from '@sinclair/typebox'\nexport const S = Type.String()\n", []],
  ['a shell file reading Date.now, Math.random and process.env', 'src/training/service/ok.ts',
    'export const now = (): number => Date.now() + Math.random()\nexport const home = process.env.HOME\n', []],
  ['a core file using an injected clock', 'src/consensus/core/ok.ts',
    'export const now = (clock: { now: () => number }): number => clock.now()\n', []],
  ['a single cast in src', 'src/storage/ok.ts',
    'export const n = (x: unknown): number => x as number\n', []],
  ['`as unknown as` in a test', 'test/unit/ok.test.ts',
    'export const n = (x: string): number => x as unknown as number\n', []],
  ['a 400-line file in src', 'src/storage/ok.ts', lines(400), []],
  ['a 401-line file in a test', 'test/unit/ok.test.ts', lines(401), []]
]

describe('lint rules', () => {
  it.each(failing)('fails on %s', async (_name, path, code, rules) => {
    expect(await ruleIds(path, code)).toEqual(rules)
  })

  it.each(passing)('passes %s', async (_name, path, code, rules) => {
    expect(await ruleIds(path, code)).toEqual(rules)
  })
})
