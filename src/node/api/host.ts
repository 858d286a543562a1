/**
 * Strict Host header checks (the DNS-rebinding guard): exactly one Host header, shaped as RFC 9110 says
 * (`name[:port]` or `[ipv6][:port]`, a port of 1-5 digits in 0-65535, nothing else), whose name is allowed.
 * Lenient parsing let `[::1].evil.com` and `localhost:evil.com` through as loopback names.
 */

/** A Host header split into its name (lower case; IPv6 literals keep their brackets) and optional port. */
export interface ParsedHost { name: string, port?: number }

// a reg-name or IPv4 (letters, digits, dots, hyphens; starting and ending with a letter or digit), or an IPv6
// literal in brackets; then an optional port of digits only
const HOST_PATTERN = /^(?:(\[[0-9A-Fa-f:.]+\])|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?))(?::([0-9]{1,5}))?$/

/** Parse a Host header value; undefined when it is malformed. */
export function parseHostHeader (value: string): ParsedHost | undefined {
  const m = HOST_PATTERN.exec(value)
  if (m == null) return undefined
  const name = (m[1] ?? m[2]).toLowerCase()
  if (m[3] === undefined) return { name }
  const port = Number(m[3])
  return port <= 65535 ? { name, port } : undefined
}

/** A configured host name as the allow-list keeps it: lower case, bare IPv6 literals bracketed. */
export function normalizeHostName (host: string): string {
  const h = host.trim().toLowerCase()
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h
}

/**
 * True when the request carries exactly one Host header (read from the raw header list: Node keeps only the first
 * of duplicates in `headers.host`) and its name is in `allowed` (normalized names, any port).
 */
export function hostAllowed (rawHeaders: readonly string[], allowed: ReadonlySet<string>): boolean {
  let value: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]
    if (k.length === 4 && k.toLowerCase() === 'host') {
      if (value !== undefined) return false
      value = rawHeaders[i + 1]
    }
  }
  if (value === undefined) return false
  const parsed = parseHostHeader(value)
  return parsed !== undefined && allowed.has(parsed.name)
}
