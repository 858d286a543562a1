import { describe, it, expect } from 'vitest'
import { parseNvidiaSmi, parseBoardModel, parseOsRelease } from '../../../src/node/hardware/parse.js'

describe('nvidia-smi parsing', () => {
  it.each([
    ['one gpu', 'NVIDIA H100 80GB HBM3, 81559, 550.54.15\n', [{ name: 'NVIDIA H100 80GB HBM3', memoryMB: 81559, driver: '550.54.15' }]],
    ['two gpus', 'A, 100, 1\nB, 200, 2\n', [{ name: 'A', memoryMB: 100, driver: '1' }, { name: 'B', memoryMB: 200, driver: '2' }]],
    ['unknown memory', 'Orin, [N/A], 540\n', [{ name: 'Orin', memoryMB: 0, driver: '540' }]],
    ['empty', '', []],
    ['garbage', 'No devices were found', []]
  ])('%s', (_n, out, want) => { expect(parseNvidiaSmi(out)).toEqual(want) })
})

describe('board detection', () => {
  it.each([
    ['NVIDIA Jetson Orin Nano Developer Kit\0', 'jetson'],
    ['Raspberry Pi 5 Model B Rev 1.0\0', 'raspberry-pi'],
    ['QEMU Virtual Machine', 'generic'],
    [undefined, 'generic']
  ])('%s -> %s', (raw, kind) => {
    const b = parseBoardModel(raw)
    expect(b.kind).toBe(kind)
    expect(b.model).not.toContain('\0')
  })
})

describe('os-release', () => {
  it.each([
    ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian"', 'Debian GNU/Linux 12 (bookworm)'],
    ['PRETTY_NAME=Alpine', 'Alpine'],
    ['NAME=x', ''],
    [undefined, '']
  ])('%s', (text, want) => { expect(parseOsRelease(text)).toBe(want) })
})
