/**
 * Pure parsers for what the hardware probe reads from the system: nvidia-smi CSV, the device-tree model string,
 * /etc/os-release. Kept apart from the probe so they are tested table by table.
 */

/** One GPU as nvidia-smi reports it. */
export interface GpuInfo { name: string, memoryMB: number, driver: string }
/** The boards the probe recognises. */
export type BoardKind = 'jetson' | 'raspberry-pi' | 'generic'

/** Parse `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`. */
export function parseNvidiaSmi (out: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  for (const line of out.split('\n')) {
    const cols = line.split(',').map(s => s.trim())
    if (cols.length < 3 || cols[0] === '') continue
    const mem = Number.parseFloat(cols[1])
    gpus.push({ name: cols[0].slice(0, 256), memoryMB: Number.isFinite(mem) ? mem : 0, driver: cols[2].slice(0, 64) })
  }
  return gpus.slice(0, 16)
}

/** Classify /proc/device-tree/model (NUL-terminated on real boards). */
export function parseBoardModel (raw: string | undefined): { kind: BoardKind, model: string } {
  const model = (raw ?? '').replace(/\0/g, '').trim().slice(0, 256)
  if (/jetson|nvidia/i.test(model)) return { kind: 'jetson', model }
  if (/raspberry pi/i.test(model)) return { kind: 'raspberry-pi', model }
  return { kind: 'generic', model }
}

/** The PRETTY_NAME of /etc/os-release, or '' when absent. */
export function parseOsRelease (text: string | undefined): string {
  const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text ?? '')
  return (m?.[1] ?? m?.[2] ?? '').trim().slice(0, 128)
}
