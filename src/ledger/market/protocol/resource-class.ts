/**
 * Resource classes: a compute order names the hardware it sells or buys by the hash of a requirement, so orders for
 * the same hardware meet in one book whatever the spelling. The canonical form is versioned and normalised (model
 * names lower case with dashes, memory in whole GiB), and the hash is keccak256 of it, a bytes32 as the contract takes.
 */
import { keccak256, toUtf8Bytes } from 'ethers'
import { refuse, type Checked } from '../errors.js'
import type { HardwareRequirement } from './schemas.js'

/** Prefix of the canonical form; a new version gives new classes. */
const CANONICAL_PREFIX = 'meshnode/resource/1'

/** `NVIDIA H200 ` -> `nvidia-h200`: lower case, runs of anything but letters, digits and dots become one dash. */
export function normaliseModel (model: string): string {
  return model.trim().toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '')
}

/** The canonical text of a requirement (what is hashed); readable, so it can be shown beside the hash. */
export function canonicalRequirement (req: HardwareRequirement): string {
  const gpu = req.gpu === null ? 'none' : `${normaliseModel(req.gpu.model)}:${req.gpu.memoryGiB}GiB:x${req.gpu.count}`
  return `${CANONICAL_PREFIX};gpu=${gpu};cpu=${req.cpuCores};ram=${req.ramGiB}GiB;board=${req.board}`
}

/** The resource class (bytes32 hex) of a hardware requirement: keccak256 of its canonical text. */
export function resourceClassOf (req: HardwareRequirement): string {
  return keccak256(toUtf8Bytes(canonicalRequirement(req)))
}

/**
 * The part of a node's signed hardware record a requirement is derived from (src/node's `HardwareRecord` has this
 * shape; the market takes only these fields so it does not depend on the node).
 */
export interface HardwareFacts {
  cpu: { cores: number }
  memory: { totalMB: number }
  gpus: ReadonlyArray<{ name: string, memoryMB: number }>
  board: { kind: 'generic' | 'jetson' | 'raspberry-pi' }
}

/**
 * The requirement a provider's asks carry, derived from its hardware record: the GPUs of its most common model (the
 * first listed on a tie) with the smallest memory among them, whole GiB rounded down (a 16,000 MB card is 15 GiB, so
 * it never claims more than it has).
 */
export function requirementOf (hw: HardwareFacts): HardwareRequirement {
  let gpu: HardwareRequirement['gpu'] = null
  if (hw.gpus.length > 0) {
    const byModel = new Map<string, number[]>()
    for (const g of hw.gpus) {
      const m = normaliseModel(g.name)
      byModel.set(m, [...(byModel.get(m) ?? []), g.memoryMB])
    }
    let best: [string, number[]] | undefined
    for (const entry of byModel) if (best === undefined || entry[1].length > best[1].length) best = entry
    if (best !== undefined) {
      const memoryGiB = Math.max(1, Math.floor(Math.min(...best[1]) / 1024))
      gpu = { model: best[0], memoryGiB, count: Math.min(16, best[1].length) }
    }
  }
  return {
    gpu,
    cpuCores: Math.max(1, Math.floor(hw.cpu.cores)),
    ramGiB: Math.max(1, Math.floor(hw.memory.totalMB / 1024)),
    board: hw.board.kind
  }
}

/** Whether hardware meeting `offer` satisfies `need`: same board and GPU model, at least as much of everything else. */
export function meetsRequirement (offer: HardwareRequirement, need: HardwareRequirement): boolean {
  if (offer.board !== need.board || offer.cpuCores < need.cpuCores || offer.ramGiB < need.ramGiB) return false
  if (need.gpu === null) return true
  if (offer.gpu === null) return false
  return normaliseModel(offer.gpu.model) === normaliseModel(need.gpu.model) &&
    offer.gpu.memoryGiB >= need.gpu.memoryGiB && offer.gpu.count >= need.gpu.count
}

/**
 * An ask's resource class must be the class of its maker's own signed hardware record (`hw`, looked up by the
 * order's bound peer): a provider sells only the hardware it advertises. Refused `hardware-mismatch` otherwise.
 */
export function checkAskHardware (resourceClass: string, hw: HardwareFacts): Checked<HardwareRequirement> {
  const req = requirementOf(hw)
  if (resourceClassOf(req).toLowerCase() === resourceClass.toLowerCase()) return { ok: true, value: req }
  return refuse('hardware-mismatch', `resource class ${resourceClass} is not the maker's hardware (${canonicalRequirement(req)})`)
}
