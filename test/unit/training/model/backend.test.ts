import { describe, expect, it } from 'vitest'
import { backendInfo, canTrain, initBackend, setThreads, tf, WASM_DIST_DIR } from '../../../../src/training/model/backend.js'

describe('initBackend', () => {
  it('auto starts the wasm backend from the installed package (no native binding here)', async () => {
    const info = await initBackend()
    expect(info.name).toBe('wasm')
    expect(info.version).toBe(tf.version.tfjs)
    expect(tf.getBackend()).toBe('wasm')
    expect(backendInfo()).toEqual(info)
    expect(WASM_DIST_DIR).toMatch(/tfjs-backend-wasm[\\/]dist[\\/]$/)
    // the kernel really runs in wasm: the engine's backend instance is the wasm one, and it computes
    expect(tf.engine().backend.constructor.name).toBe('BackendWasm')
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]))
    expect(Array.from(y.dataSync())).toEqual([17, 39])
    y.dispose()
  })

  it('is idempotent: repeated calls return the same backend without restarting it', async () => {
    const a = await initBackend('auto')
    const b = await initBackend('auto')
    expect(b).toBe(a)
    expect(await initBackend('wasm')).toMatchObject({ name: 'wasm' })
  })

  it('leaves no emscripten process handlers behind', async () => {
    await initBackend()
    const handlers = [...process.listeners('uncaughtException'), ...process.listeners('unhandledRejection')]
    expect(handlers.some(h => /ExitStatus|throw reason/.test(String(h)))).toBe(false)
  })

  it('switches to cpu on request and back', async () => {
    expect(await initBackend('cpu')).toMatchObject({ name: 'cpu' })
    expect(tf.getBackend()).toBe('cpu')
    expect(canTrain('cnn')).toBe(true)
    expect(await initBackend('wasm')).toMatchObject({ name: 'wasm' })
    expect(tf.getBackend()).toBe('wasm')
    expect(canTrain('mlp')).toBe(true)
    expect(canTrain('cnn')).toBe(false)
  })

  it('rejects the native backend when it is not installed, and bad thread counts', async () => {
    await expect(initBackend('tensorflow')).rejects.toMatchObject({ code: 'ERR_BACKEND' })
    expect(tf.getBackend()).toBe('wasm')
    expect(() => setThreads(0)).toThrow(/positive integer/)
    // the wasm backend has started: a cap can no longer apply in this process
    expect(setThreads(1)).toBe(false)
  })
})
