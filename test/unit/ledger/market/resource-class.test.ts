import { describe, expect, it } from 'vitest'
import { keccak256, toUtf8Bytes } from 'ethers'
import {
  canonicalRequirement, checkAskHardware, meetsRequirement, milliSamplesPerSecond, normaliseModel, pricePerMillionSamples, pricePerUnitFor,
  requirementOf, resourceClassOf
} from '../../../../src/ledger/market/index.js'
import type { HardwareRequirement } from '../../../../src/ledger/market/index.js'

const h200: HardwareRequirement = { gpu: { model: 'nvidia-h200', memoryGiB: 139, count: 1 }, cpuCores: 16, ramGiB: 125, board: 'generic' }

describe('resource classes', () => {
  it('hashes the canonical text with keccak256', () => {
    expect(canonicalRequirement(h200)).toBe('meshnode/resource/1;gpu=nvidia-h200:139GiB:x1;cpu=16;ram=125GiB;board=generic')
    expect(resourceClassOf(h200)).toBe(keccak256(toUtf8Bytes(canonicalRequirement(h200))))
    expect(resourceClassOf(h200)).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('spells a model one way whatever its input', () => {
    expect(normaliseModel(' NVIDIA H200 ')).toBe('nvidia-h200')
    expect(normaliseModel('NVIDIA GeForce RTX 4090')).toBe('nvidia-geforce-rtx-4090')
    expect(normaliseModel('Orin (nvgpu) 1.3')).toBe('orin-nvgpu-1.3')
    expect(resourceClassOf({ ...h200, gpu: { model: 'NVIDIA  H200', memoryGiB: 139, count: 1 } })).toBe(resourceClassOf(h200))
  })

  const differ: Array<[string, HardwareRequirement]> = [
    ['GPU memory', { ...h200, gpu: { model: 'nvidia-h200', memoryGiB: 80, count: 1 } }],
    ['GPU count', { ...h200, gpu: { model: 'nvidia-h200', memoryGiB: 139, count: 2 } }],
    ['no GPU', { ...h200, gpu: null }],
    ['cores', { ...h200, cpuCores: 8 }],
    ['RAM', { ...h200, ramGiB: 64 }],
    ['board', { ...h200, board: 'jetson' }]
  ]
  it.each(differ)('gives another class for other %s', (_name, req) => {
    expect(resourceClassOf(req)).not.toBe(resourceClassOf(h200))
  })

  it('derives the requirement from a hardware record, rounding memory down', () => {
    expect(requirementOf({
      cpu: { cores: 16 },
      memory: { totalMB: 128_800 },
      gpus: [{ name: 'NVIDIA H200', memoryMB: 142_800 }],
      board: { kind: 'generic' }
    })).toEqual(h200)
    expect(requirementOf({
      cpu: { cores: 4 },
      memory: { totalMB: 3_900 },
      gpus: [],
      board: { kind: 'raspberry-pi' }
    })).toEqual({ gpu: null, cpuCores: 4, ramGiB: 3, board: 'raspberry-pi' })
    // the most common model wins, counted, with its smallest card's memory
    expect(requirementOf({
      cpu: { cores: 32 },
      memory: { totalMB: 262_144 },
      gpus: [{ name: 'A100', memoryMB: 81_920 }, { name: 'T4', memoryMB: 16_000 }, { name: 'A100', memoryMB: 40_960 }],
      board: { kind: 'generic' }
    }).gpu).toEqual({ model: 'a100', memoryGiB: 40, count: 2 })
  })

  const meets: Array<[string, HardwareRequirement, HardwareRequirement, boolean]> = [
    ['the same hardware', h200, h200, true],
    ['more of everything', { ...h200, cpuCores: 64, ramGiB: 512 }, h200, true],
    ['a CPU-only need', h200, { ...h200, gpu: null }, true],
    ['fewer cores', { ...h200, cpuCores: 8 }, h200, false],
    ['less GPU memory', { ...h200, gpu: { model: 'nvidia-h200', memoryGiB: 80, count: 1 } }, h200, false],
    ['another GPU model', { ...h200, gpu: { model: 'nvidia-h100', memoryGiB: 139, count: 1 } }, h200, false],
    ['no GPU for a GPU need', { ...h200, gpu: null }, h200, false],
    ['another board', { ...h200, board: 'jetson' }, h200, false]
  ]
  it.each(meets)('meetsRequirement: %s', (_name, offer, need, expected) => {
    expect(meetsRequirement(offer, need)).toBe(expected)
  })
})

describe('prices normalised by measured speed', () => {
  const ftns = 10n ** 18n
  const cases: Array<[string, bigint, number, bigint | undefined]> = [
    // 1 FTNS per minute at 1000 samples/s = 60,000 samples per FTNS -> 16.666... FTNS per million samples
    ['1 FTNS/min at 1000 samples/s', ftns, 1000, 16_666_666_666_666_666_667n],
    ['1 FTNS/min at 1 sample/s', ftns, 1, 16_666_666_666_666_666_666_667n],
    ['0.06 FTNS/min at 1000 samples/s = 1 FTNS per million', 6n * 10n ** 16n, 1000, ftns],
    ['no measurement', ftns, 0, undefined],
    ['NaN speed', ftns, Number.NaN, undefined]
  ]
  it.each(cases)('%s', (_name, price, sps, expected) => {
    expect(pricePerMillionSamples(price, sps)).toBe(expected)
  })

  it('ranks a fast dear node below a slow cheap one when it is cheaper per sample', () => {
    const fast = pricePerMillionSamples(3n * ftns, 3000)
    const slow = pricePerMillionSamples(ftns, 500)
    expect(fast !== undefined && slow !== undefined && fast < slow).toBe(true)
  })

  it('inverts within rounding', () => {
    for (const sps of [0.5, 12.25, 1000, 123_456.789]) {
      const per = pricePerMillionSamples(7n * 10n ** 15n, sps)
      if (per === undefined) throw new Error('no price')
      const back = pricePerUnitFor(per, sps)
      if (back === undefined) throw new Error('no price')
      const err = back > 7n * 10n ** 15n ? back - 7n * 10n ** 15n : 7n * 10n ** 15n - back
      // rounding of `per` to a wei is scaled by samples per unit / 1e6
      expect(err <= milliSamplesPerSecond(sps) * 60n / 1_000_000_000n + 1n).toBe(true)
    }
  })
})

describe('checkAskHardware', () => {
  const hw = { cpu: { cores: 16 }, memory: { totalMB: 128_800 }, gpus: [{ name: 'NVIDIA H200', memoryMB: 142_800 }], board: { kind: 'generic' as const } }
  it('accepts the class of the maker\'s own hardware and refuses any other', () => {
    const good = checkAskHardware(resourceClassOf(h200), hw)
    expect(good.ok && good.value).toEqual(h200)
    // claiming more GPU memory than the record shows
    const bad = checkAskHardware(resourceClassOf({ ...h200, gpu: { model: 'nvidia-h200', memoryGiB: 141, count: 1 } }), hw)
    expect(!bad.ok && bad.refusal.reason).toBe('hardware-mismatch')
    if (!bad.ok) expect(bad.refusal.message).toContain('nvidia-h200:139GiB')
  })
})
