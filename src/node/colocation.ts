/**
 * The IP-colocation policy of gossipsub's peer score (P6). gossipsub penalises every peer of an IP shared by more
 * than `ipColocationThreshold` identities, and remembers a departed peer whose score was <= 0 (its IP included) for
 * an hour. That defends against one host spinning up many identities on the public internet, but on loopback and
 * private networks many honest peers share one address (a test mesh, a lab, peers behind one NAT gateway seen from
 * inside it): there it mutes honest peers. So addresses in the exempt ranges (by default loopback, RFC 1918 private,
 * carrier-grade NAT, link-local, IPv6 unique-local) never count towards colocation; public addresses keep the penalty.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net'

/** Ranges exempt from the colocation penalty by default: loopback, private, CGNAT, link-local, unique-local. */
export const DEFAULT_COLOCATION_EXEMPT: readonly string[] = [
  '127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16',
  '::1/128', 'fc00::/7', 'fe80::/10'
]

/**
 * Ranges whose inbound connections skip libp2p's per-IP flood guard (5 new connections per second per IP) by
 * default: loopback only. Every node on one machine dials from 127.0.0.1, so a 20-node mesh there had to start its
 * nodes 1.1 s apart; on a LAN each host has its own address and the guard never bites.
 */
export const DEFAULT_UNGUARDED_RANGES: readonly string[] = ['127.0.0.0/8', '::1/128']

/** A CIDR range as the multiaddr libp2p's allow list takes (`/ip4/127.0.0.0/ipcidr/8`). */
export function cidrToMultiaddr (cidr: string): string {
  const { address, prefix, family } = parseCidr(cidr)
  return `/${family === 'ipv4' ? 'ip4' : 'ip6'}/${address}/ipcidr/${prefix}`
}

/** Parse `a.b.c.d/n` or `x::/n` (a bare address means a single host); throws on anything else. */
export function parseCidr (cidr: string): { address: string, prefix: number, family: 'ipv4' | 'ipv6' } {
  const [address, bits, ...rest] = cidr.trim().split('/')
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined
  const max = family === 'ipv4' ? 32 : 128
  const prefix = bits == null ? max : Number(bits)
  if (family == null || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits != null && !/^\d+$/.test(bits))) {
    throw new Error(`expected an address range like 127.0.0.0/8 or fc00::/7, got ${JSON.stringify(cidr)}`)
  }
  return { address, prefix, family }
}

/**
 * A Set whose `has` answers for whole ranges: gossipsub only ever calls `has(ip)` on its
 * `IPColocationFactorWhitelist`, so this exempts ranges, not just single addresses.
 */
export class ColocationExemptSet extends Set<string> {
  private readonly list = new BlockList()

  constructor (cidrs: readonly string[]) {
    super()
    for (const c of cidrs) {
      const { address, prefix, family } = parseCidr(c)
      this.list.addSubnet(address, prefix, family)
    }
  }

  override has (ip: string): boolean {
    if (isIPv4(ip)) return this.list.check(ip, 'ipv4')
    if (isIPv6(ip)) {
      // an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its IPv4 address
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
      return mapped != null ? this.list.check(mapped[1], 'ipv4') : this.list.check(ip, 'ipv6')
    }
    return false
  }
}
