import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadNodeOptions, mergeOptions, envOptions } from '../../../src/node/options.js'
import { ConfigError } from '../../../src/common/errors.js'

describe('option layers', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'meshnode-opts-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('merges objects key by key and replaces arrays', () => {
    expect(mergeOptions({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] }, { a: { d: 4 } }))
      .toEqual({ a: { b: 1, c: 3, d: 4 }, l: [9] })
    expect(mergeOptions({ a: 1 }, { a: undefined })).toEqual({ a: 1 })
  })

  it('applies defaults <- profile preset <- config file <- env <- flags', async () => {
    await writeFile(join(dir, 'config.yaml'), 'profile: edge\napi:\n  port: 9000\nlisten: ["/ip4/127.0.0.1/tcp/1"]\nresources:\n  trainingThreads: 3\n')
    const fileOnly = loadNodeOptions({ dataDir: dir, env: {} })
    expect(fileOnly.resources).toEqual({ trainingThreads: 3, maxMemoryMB: 512, dutyCycle: 0.5 }) // edge preset, file override
    expect(fileOnly.api.port).toBe(9000)
    expect(fileOnly.api.host).toBe('127.0.0.1') // default kept
    expect(fileOnly.chain.chainId).toBe(31337) // local network preset
    const withEnv = loadNodeOptions({ dataDir: dir, env: { MESHNODE_API_PORT: '9100', MESHNODE_LISTEN: '/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3', MESHNODE_NETWORK: 'amoy' } })
    expect(withEnv.api.port).toBe(9100)
    expect(withEnv.listen).toEqual(['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'])
    expect(withEnv.chain.chainId).toBe(80002)
    const withFlags = loadNodeOptions({ dataDir: dir, env: { MESHNODE_API_PORT: '9100' }, flags: { api: { port: 0 }, listen: ['/ip4/127.0.0.1/tcp/4'], profile: 'gpu' } })
    expect(withFlags.api.port).toBe(0)
    expect(withFlags.listen).toEqual(['/ip4/127.0.0.1/tcp/4'])
    expect(withFlags.resources.trainingThreads).toBe(3) // the file still overrides the gpu preset
    expect(withFlags.resources.maxMemoryMB).toBe(16384)
    expect(Object.isFrozen(withFlags)).toBe(true)
  })

  it('maps MESHNODE_* variables and ignores empty ones', () => {
    expect(envOptions({ MESHNODE_LOG_LEVEL: 'debug', MESHNODE_BOOTSTRAP: '', MESHNODE_MDNS: 'false' })).toEqual({ log: { level: 'debug' }, mdns: 'false' })
  })

  it.each([
    [{ profile: 'huge' }, 'profile', 'expected one of default, gpu, edge; got "huge"'],
    [{ api: { port: 70000 } }, 'api.port', 'expected an integer >= 0 <= 65535, got 70000'],
    [{ bootstrap: ['/ip4/127.0.0.1/tcp/1'] }, 'bootstrap[0]', 'expected a multiaddr ending in /p2p/<peer id>'],
    [{ mdns: 'sometimes' }, 'mdns', 'expected true or false'],
    [{ api: { host: '192.168.1.5' } }, 'api.host', 'refusing to bind the admin API to 192.168.1.5']
  ])('rejects %j naming %s', (flags, key, message) => {
    try {
      loadNodeOptions({ dataDir: join(dir, 'none'), env: {}, flags: flags as never })
      expect.fail('should throw')
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).key).toBe(key)
      expect((err as Error).message).toContain(message)
    }
  })

  it('allows a remote admin API only when asked for', () => {
    const o = loadNodeOptions({ dataDir: join(dir, 'none'), env: {}, flags: { api: { host: '0.0.0.0', allowRemote: true } } })
    expect(o.api.host).toBe('0.0.0.0')
  })
})
