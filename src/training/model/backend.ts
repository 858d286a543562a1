/**
 * TensorFlow.js backend selection for the training shell.
 *
 * `auto` prefers a native TensorFlow binding (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`) when one is
 * installed, else the WebAssembly backend loaded from the installed `@tensorflow/tfjs-backend-wasm` package (never a
 * CDN), else the pure-JS cpu backend. Importing this module points the wasm backend at its local binaries, because the
 * wasm backend registers itself with a higher priority than cpu and tfjs would otherwise try to fetch them.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import * as tfwasm from '@tensorflow/tfjs-backend-wasm'
import { TrainingError } from '../errors.js'
import { silentLogger, type Logger } from '../../common/logger.js'

export { tf }

/** Which backend to use: `tensorflow` = native tfjs-node(-gpu), which must be installed separately. */
export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow'

/** The backend in use: its tfjs name (`wasm`, `cpu`, `tensorflow`), package version and, for wasm, its thread count. */
export interface BackendInfo {
  name: string
  version: string
  threads?: number
}

/** Native bindings tried by `auto` / `tensorflow`, fastest first. Optional: never a dependency of meshnode. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const

/** The installed wasm package's `dist/` folder, as a path with a trailing separator (what setWasmPaths expects). */
export const WASM_DIST_DIR = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep

tfwasm.setWasmPaths(WASM_DIST_DIR)
// Production mode silences tfjs's "install the node backend" banner and per-op debug checks.
tf.env().set('PROD', true)

const cache = new Map<BackendPreference, Promise<BackendInfo>>()
let current: BackendInfo | undefined
let wasmInitialised = false
let requestedThreads: number | undefined
let log: Logger = silentLogger

/**
 * Initialise (once per preference) and activate a backend. Repeated calls with the same preference return the cached
 * result; a later call with another preference switches the active backend. Rejects with `ERR_BACKEND` when an
 * explicitly requested backend is unavailable; `auto` always ends on some backend.
 */
export async function initBackend (pref: BackendPreference = 'auto', opts: { logger?: Logger } = {}): Promise<BackendInfo> {
  if (opts.logger != null) log = opts.logger.child({ module: 'training:backend' })
  let pending = cache.get(pref)
  if (pending == null) {
    pending = select(pref)
    cache.set(pref, pending)
    pending.catch(() => cache.delete(pref))
  }
  const info = await pending
  if (tf.getBackend() !== info.name) await activate(info.name)
  current = info
  return info
}

/**
 * Whether the active backend has the gradient kernels that training the given architecture needs: the wasm backend
 * lacks convolution gradients (`Conv2DBackpropFilter`), so CNNs train on cpu or tensorflow only.
 */
export function canTrain (arch: 'mlp' | 'cnn', backend: string = tf.getBackend()): boolean {
  if (arch === 'mlp') return true
  return tf.getKernel('Conv2DBackpropFilter', backend) != null && tf.getKernel('Conv2DBackpropInput', backend) != null
}

/** The backend activated by the last `initBackend`, or undefined before the first one. */
export function backendInfo (): BackendInfo | undefined {
  return current
}

/**
 * Cap the threads the wasm backend's XNNPACK pool uses (profiles on shared machines). Only effective before the wasm
 * backend starts and where Node grants it threads; returns whether the cap will apply.
 */
export function setThreads (n: number): boolean {
  if (!Number.isInteger(n) || n < 1) throw new TrainingError('ERR_BACKEND', `thread count must be a positive integer, got ${n}`)
  requestedThreads = n
  if (wasmInitialised) {
    log.debug({ threads: n }, 'wasm backend already started: thread cap applies on next process start')
    return false
  }
  tfwasm.setThreadsCount(n)
  return true
}

async function select (pref: BackendPreference): Promise<BackendInfo> {
  switch (pref) {
    case 'tensorflow': {
      const info = await tryNative()
      if (info == null) throw new TrainingError('ERR_BACKEND', 'no native TensorFlow binding installed (@tensorflow/tfjs-node or -gpu)')
      return info
    }
    case 'wasm': return await startWasm()
    case 'cpu': return await startCpu()
    case 'auto': {
      const native = await tryNative()
      if (native != null) return native
      try {
        return await startWasm()
      } catch (err) {
        log.warn({ err }, 'wasm backend failed to start, falling back to cpu')
        return await startCpu()
      }
    }
    default: throw new TrainingError('ERR_BACKEND', `unknown backend preference ${String(pref)}`)
  }
}

async function tryNative (): Promise<BackendInfo | undefined> {
  for (const name of NATIVE_PACKAGES) {
    try {
      // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
      const spec: string = name
      const mod = await import(spec) as { version?: Record<string, string> }
      await activate('tensorflow')
      return { name: 'tensorflow', version: mod.version?.['tfjs-node'] ?? tf.version.tfjs }
    } catch (err) {
      log.debug({ pkg: name, err: (err as Error).message }, 'native TensorFlow binding unavailable')
    }
  }
  return undefined
}

/**
 * Emscripten's Node glue installs process handlers that rethrow every uncaught exception and unhandled rejection
 * (dumping the minified module source): remove the ones added while the module starts, leaving the process's own
 * error handling as the node configured it.
 */
async function withoutEmscriptenHandlers<T> (fn: () => Promise<T>): Promise<T> {
  const uncaught = new Set(process.listeners('uncaughtException'))
  const unhandled = new Set(process.listeners('unhandledRejection'))
  try {
    return await fn()
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!uncaught.has(l)) process.removeListener('uncaughtException', l)
    for (const l of process.listeners('unhandledRejection')) if (!unhandled.has(l)) process.removeListener('unhandledRejection', l)
  }
}

async function startWasm (): Promise<BackendInfo> {
  await withoutEmscriptenHandlers(async () => { await activate('wasm') })
  wasmInitialised = true
  let threads: number | undefined
  try { threads = tfwasm.getThreadsCount() } catch { threads = undefined }
  if (requestedThreads != null && threads != null && threads > requestedThreads) {
    log.debug({ threads, requestedThreads }, 'wasm backend started before the thread cap was set')
  }
  return { name: 'wasm', version: tfwasm.version_wasm, threads }
}

async function startCpu (): Promise<BackendInfo> {
  await activate('cpu')
  return { name: 'cpu', version: tf.version['tfjs-backend-cpu'] ?? tf.version.tfjs }
}

async function activate (name: string): Promise<void> {
  let ok: boolean
  try {
    ok = await tf.setBackend(name)
    await tf.ready()
  } catch (err) {
    throw new TrainingError('ERR_BACKEND', `backend ${name} failed to start: ${(err as Error).message}`, { cause: err })
  }
  if (!ok || tf.getBackend() !== name) throw new TrainingError('ERR_BACKEND', `backend ${name} failed to start`)
}
