import type { HardwareRecord } from '../../../src/node/hardware/index.js'

/** A valid record. */
export const SAMPLE: HardwareRecord = {
  agent: 'meshnode/test',
  profile: 'default',
  cpu: { model: 'Test CPU', cores: 8, arch: 'x64', speedMHz: 3000 },
  memory: { totalMB: 32768, freeMB: 16000 },
  gpus: [{ name: 'RTX 4090', memoryMB: 24564, driver: '550.1' }],
  board: { kind: 'generic', model: '' },
  os: { platform: 'linux', release: '6.8', distro: 'Ubuntu' },
  tfjs: { backend: 'wasm', version: '4.22.0' },
  bench: { samplesPerSec: 1234.4, model: 'mlp', batchSize: 32 },
  resources: { trainingThreads: 2, maxMemoryMB: 2048, dutyCycle: 1 }
}
