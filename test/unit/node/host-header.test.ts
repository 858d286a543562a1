import { describe, it, expect } from 'vitest'
import { hostAllowed, normalizeHostName, parseHostHeader } from '../../../src/node/api/host.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', 'node.example'])

describe('Host header parsing (DNS-rebinding guard)', () => {
  it.each([
    ['localhost', { name: 'localhost' }],
    ['LOCALHOST:7401', { name: 'localhost', port: 7401 }],
    ['127.0.0.1:0', { name: '127.0.0.1', port: 0 }],
    ['[::1]', { name: '[::1]' }],
    ['[::1]:65535', { name: '[::1]', port: 65535 }],
    ['node.example:80', { name: 'node.example', port: 80 }]
  ])('parses %s', (value, parsed) => {
    expect(parseHostHeader(value)).toEqual(parsed)
  })

  it.each([
    '', ' localhost', 'localhost ', '[::1].evil.com', '[::1]evil', 'localhost:evil.com', 'localhost:', 'localhost:65536',
    'localhost:99999', 'localhost:123456', 'localhost:-1', 'localhost:+80', 'localhost:0x50', 'localhost:8O', 'local host',
    'localhost@evil.com', 'evil.com/localhost', 'user@localhost', '::1', '[::1', '::1]', '[]', 'localhost:80:80', '.localhost',
    'localhost.', '-localhost', 'localhost\u0000', 'localhost%00', '[::1]:80x'
  ])('refuses %j', (value) => {
    expect(parseHostHeader(value)).toBeUndefined()
    expect(hostAllowed(['Host', value], LOOPBACK)).toBe(false)
  })

  it('allows exactly one Host header whose name is allowed, any port', () => {
    expect(hostAllowed(['Host', 'localhost:7401', 'Accept', '*/*'], LOOPBACK)).toBe(true)
    expect(hostAllowed(['accept', '*/*', 'HOST', '[::1]:1'], LOOPBACK)).toBe(true)
    expect(hostAllowed(['Host', 'node.example'], LOOPBACK)).toBe(true)
    expect(hostAllowed(['Host', 'evil.example'], LOOPBACK)).toBe(false)
    expect(hostAllowed(['Accept', '*/*'], LOOPBACK)).toBe(false)
    expect(hostAllowed(['Host', 'localhost', 'Host', 'localhost'], LOOPBACK)).toBe(false)
    expect(hostAllowed(['Host', 'localhost', 'host', 'evil.example'], LOOPBACK)).toBe(false)
  })

  it('normalizes configured names: lower case, bare IPv6 bracketed', () => {
    expect(normalizeHostName('Node.Example')).toBe('node.example')
    expect(normalizeHostName('::1')).toBe('[::1]')
    expect(normalizeHostName('[FE80::1]')).toBe('[fe80::1]')
  })
})
