/**
 * The hardware probe: what this machine is (CPU, RAM, GPUs via nvidia-smi, Jetson / Raspberry Pi board, OS) and,
 * separately because it takes a second or two, how fast it trains (a micro-benchmark on the reference model).
 */
import { cpus, totalmem, freemem, arch, platform, release } from 'node:os'
import { readFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { HardwareRecord } from './record.js'
import { parseBoardModel, parseNvidiaSmi, parseOsRelease, type GpuInfo } from './parse.js'

const exec = promisify(execFile)

async function readOptional (path: string): Promise<string | undefined> {
  try { return await readFile(path, 'utf8') } catch { return undefined }
}

/** GPUs from nvidia-smi; none when it is absent or fails (no GPU is not an error). */
export async function probeGpus (): Promise<GpuInfo[]> {
  try {
    const { stdout } = await exec('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'], { timeout: 5000 })
    return parseNvidiaSmi(stdout)
  } catch {
    return []
  }
}

/** What the probe cannot read from the machine: the agent string, profile and resource caps. */
export interface ProbeInit {
  agent: string
  profile: string
  resources: HardwareRecord['resources']
}

/** Probe the static facts; `tfjs` and `bench` are filled in once the training backend has been measured. */
export async function probeHardware (init: ProbeInit): Promise<HardwareRecord> {
  const cpu = cpus()
  const [gpus, board, osRelease] = await Promise.all([
    probeGpus(),
    readOptional('/proc/device-tree/model'),
    readOptional('/etc/os-release')
  ])
  return {
    agent: init.agent,
    profile: init.profile,
    cpu: { model: (cpu[0]?.model ?? 'unknown').trim().slice(0, 256), cores: Math.max(1, cpu.length), arch: arch(), speedMHz: cpu[0]?.speed ?? 0 },
    memory: { totalMB: Math.round(totalmem() / 2 ** 20), freeMB: Math.round(freemem() / 2 ** 20) },
    gpus,
    board: parseBoardModel(board),
    os: { platform: platform(), release: release().slice(0, 128), distro: parseOsRelease(osRelease) },
    tfjs: { backend: 'pending', version: '' },
    bench: null,
    resources: init.resources
  }
}
