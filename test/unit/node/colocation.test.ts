import { describe, it, expect } from 'vitest'
import { ColocationExemptSet, DEFAULT_COLOCATION_EXEMPT, DEFAULT_UNGUARDED_RANGES, cidrToMultiaddr, parseCidr } from '../../../src/node/colocation.js'

describe('colocation exempt ranges', () => {
  const exempt = new ColocationExemptSet(DEFAULT_COLOCATION_EXEMPT)
  it.each([
    ['127.0.0.1', true], ['127.4.5.6', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true],
    ['172.32.0.1', false], ['192.168.1.1', true], ['100.64.0.1', true], ['169.254.1.1', true], ['::1', true],
    ['fd12::1', true], ['fe80::1', true], ['::ffff:127.0.0.1', true], ['::ffff:8.8.8.8', false],
    ['8.8.8.8', false], ['1.1.1.1', false], ['2001:db8::1', false], ['not-an-ip', false]
  ])('%s exempt by default: %s', (ip, want) => {
    expect(exempt.has(ip)).toBe(want)
  })

  it('an empty list exempts nothing, a /32 only that address', () => {
    expect(new ColocationExemptSet([]).has('127.0.0.1')).toBe(false)
    const one = new ColocationExemptSet(['127.0.0.1/32'])
    expect([one.has('127.0.0.1'), one.has('127.0.0.2')]).toEqual([true, false])
  })

  it.each(['127.0.0.0/33', 'fc00::/129', '10.0.0.0/x', 'example.com/8', '1.2.3.4/8/1', ''])('refuses %j', (c) => {
    expect(() => parseCidr(c)).toThrow(/expected an address range/)
  })
})

describe('ranges exempt from the per-IP inbound guard', () => {
  it.each([
    ['127.0.0.0/8', '/ip4/127.0.0.0/ipcidr/8'],
    ['::1/128', '/ip6/::1/ipcidr/128'],
    ['10.1.2.3', '/ip4/10.1.2.3/ipcidr/32']
  ])('%s is the libp2p allow-list entry %s', (cidr, ma) => {
    expect(cidrToMultiaddr(cidr)).toBe(ma)
  })

  it('are loopback only by default', () => {
    expect(DEFAULT_UNGUARDED_RANGES).toEqual(['127.0.0.0/8', '::1/128'])
  })
})
