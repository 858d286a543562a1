import { describe, it, expect } from 'vitest'
import { isStraySocketError } from '../../../src/node/process-guard.js'

describe('process guard', () => {
  const sock = (code: string, syscall?: string): Error => Object.assign(new Error(code), { code, syscall })
  it.each([
    [sock('ECONNRESET', 'connect'), true],
    [sock('EPIPE', 'write'), true],
    [sock('ECONNRESET'), false], // no syscall: not from a socket
    [sock('ENOENT', 'open'), false],
    [new TypeError('x is not a function'), false],
    [undefined, false]
  ])('%s -> %s', (err, want) => { expect(isStraySocketError(err)).toBe(want) })
})
