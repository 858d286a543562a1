// ESLint flat config: neostandard style for TypeScript, plus the layering rules of CONVENTIONS.md ("Layout"), so
// that CI, not review, keeps `node -> {storage, training, consensus, ledger} -> protocols -> common` true.
// test/unit/lint/rules.test.ts shows each rule below failing on a deliberate violation.
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import neostandard from 'neostandard'

const ROOT = dirname(fileURLToPath(import.meta.url))

// src/node is the composition root: it may import anything, and nothing imports it.
const COMPOSITION_ROOT = 'node'
// Every other src/ folder is imported from outside only through its index.ts, unless listed here (a shared kit of
// single-purpose files imported one by one): src/common and src/protocols are the shared kits every subsystem uses
// file by file (CONVENTIONS.md lists their files one by one); the subsystems have a public face (index.ts).
const IMPORTED_BY_FILE = ['common', 'protocols']

/** Where a repo-relative path sits under src/: its top folder and whether it is that folder's index. */
function locate (path) {
  const parts = path.split(sep)
  if (parts[0] !== 'src' || parts.length < 2) return undefined
  if (parts.length === 2) {
    // `src/x.ts` is a loose file (no folder); `src/storage` is a directory import of storage's index
    return /\.[cm]?[jt]s$/.test(parts[1]) ? undefined : { folder: parts[1], index: true }
  }
  return { folder: parts[1], index: parts.length === 3 && /^index(\.[cm]?[jt]s)?$/.test(parts[2]) }
}

/**
 * Which src/ folder may import which. Paths are worked out from the specifier alone (every import inside src/ is
 * relative), so the rules need no resolver and no file on disk. Returns the id of the broken rule, or undefined.
 */
function layeringViolation (from, to) {
  if (from == null || to == null || from.folder === COMPOSITION_ROOT || from.folder === to.folder) return undefined
  if (to.folder === COMPOSITION_ROOT) return 'no-import-node'
  if (from.folder === 'common') return 'common-imports-nothing'
  if (from.folder === 'protocols' && to.folder !== 'common') return 'protocols-only-common'
  if (!to.index && !IMPORTED_BY_FILE.includes(to.folder)) return 'index-only'
  return undefined
}

const LAYERING = {
  'no-import-node': 'Nothing outside src/node imports src/node (the composition root): {{target}}',
  'common-imports-nothing': 'src/common imports no other src/ folder: {{target}}',
  'protocols-only-common': 'src/protocols (the generic wire kit) imports only src/common: {{target}}',
  'index-only': 'Import another subsystem only through its index.ts, not {{target}}'
}

/** One rule per layering clause (so a report names the clause broken), all sharing `layeringViolation`. */
function layeringRule (id) {
  return {
    meta: {
      type: 'problem',
      docs: { description: LAYERING[id].replace(/: \{\{target\}\}$/, '') },
      schema: [],
      messages: { [id]: LAYERING[id] }
    },
    create (context) {
      const file = relative(ROOT, context.filename)
      const from = locate(file)
      if (from == null || from.folder === COMPOSITION_ROOT) return {}
      const check = (source) => {
        if (source?.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return
        const target = relative(ROOT, resolve(ROOT, dirname(file), source.value))
        if (layeringViolation(from, locate(target)) !== id) return
        context.report({ node: source, messageId: id, data: { target: target.split(sep).join('/') } })
      }
      return {
        ImportDeclaration: (node) => check(node.source),
        ExportNamedDeclaration: (node) => check(node.source),
        ExportAllDeclaration: (node) => check(node.source),
        ImportExpression: (node) => check(node.source),
        TSImportType: (node) => check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
        TSExternalModuleReference: (node) => check(node.expression)
      }
    }
  }
}

const meshnode = { rules: Object.fromEntries(Object.keys(LAYERING).map((id) => [id, layeringRule(id)])) }

// `x as unknown as Y` (or `<Y><unknown>x`) silences the type checker instead of fixing the type.
const CAST = ':matches(TSAsExpression, TSTypeAssertion)'
const noDoubleCast = {
  selector: `${CAST} > ${CAST}.expression[typeAnnotation.type='TSUnknownKeyword']`,
  message: 'No `as unknown as` in src/: fix the type, or narrow it with a check'
}

// The modules that touch the network, the disk, a process or a device. core/ and round/ are pure: they get a Clock,
// an Rng and a Store injected instead. Type-only imports stay allowed (they are erased and do no I/O).
const IO_MESSAGE = 'core/ and round/ are pure: no I/O module (inject what you need)'
const IO_MODULES = [
  'libp2p', 'level', 'classic-level', 'helia', 'ethers',
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'child_process', 'node:child_process'
]
const IO_PATTERNS = ['@libp2p/*', '@helia/*', 'blockstore-*', 'datastore-*', '@tensorflow/*', 'ethers/*']
const PURE_MESSAGE = 'core/ and round/ are pure: inject a Clock, an Rng or options instead'

export default [
  { ignores: ['dist/**', 'coverage/**', '.meshnode/**'] },
  ...neostandard({ ts: true, noJsx: true, env: ['node'] }),
  {
    name: 'meshnode/style',
    rules: {
      // `void promise` marks a deliberate fire-and-forget; only `void` as an expression value is confusing
      'no-void': ['error', { allowAsStatement: true }],
      // a value and a type of one name (`const StorageError` + `type StorageError`) is one concept; tsc (ts2451)
      // already rejects real redeclarations
      '@typescript-eslint/no-redeclare': 'off',
      // the code groups short related properties on one line of a multi-line object (`trace: noop, debug: noop`);
      // one property a line would add ~190 lines to 11 files for no reader's benefit
      '@stylistic/object-property-newline': 'off'
    }
  },
  {
    name: 'meshnode/src',
    files: ['src/**/*.ts'],
    plugins: { meshnode },
    rules: {
      ...Object.fromEntries(Object.keys(LAYERING).map((id) => [`meshnode/${id}`, 'error'])),
      // counted like `wc -l`: blank lines and comments included
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'no-restricted-syntax': ['error', noDoubleCast]
    }
  },
  {
    name: 'meshnode/pure-core',
    files: ['src/**/core/**/*.ts', 'src/**/round/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: IO_MODULES.map((name) => ({ name, message: IO_MESSAGE, allowTypeImports: true })),
        patterns: [{ group: IO_PATTERNS, message: IO_MESSAGE, allowTypeImports: true }]
      }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: PURE_MESSAGE },
        { object: 'Math', property: 'random', message: PURE_MESSAGE },
        { object: 'process', property: 'env', message: PURE_MESSAGE }
      ],
      // a dynamic import would slip past the import rule above
      'no-restricted-syntax': ['error', noDoubleCast,
        { selector: 'ImportExpression', message: 'core/ and round/ are pure: no dynamic import' }]
    }
  }
]
