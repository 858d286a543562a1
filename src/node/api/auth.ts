/**
 * Bearer-token comparison in constant time over the token's content. Only its length can leak through timing, and
 * that is public (`meshnode init` always writes 32 random bytes as 64 hex characters). No per-request hashing: at
 * thousands of requests a second, a SHA-256 digest per request was a measurable share of the API's cost.
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A checker for one expected token: true when the presented token equals it; an empty token never matches. */
export function tokenChecker (expected: string): (presented: string) => boolean {
  if (expected === '') return () => false
  const want = Buffer.from(expected, 'utf8')
  return presented => {
    if (presented.length !== expected.length) return false
    const got = Buffer.from(presented, 'utf8')
    return got.length === want.length && timingSafeEqual(got, want)
  }
}

/** True when `presented` equals `expected`; an empty presented token never matches. */
export function tokenMatches (presented: string, expected: string): boolean {
  return tokenChecker(expected)(presented)
}

/**
 * A second way in besides the bearer token, carried by a route module (the dashboard's session cookie): the paths it
 * serves without credentials, and its verdict on a request that has no valid token. `{ ok: false }` without a
 * reason means "not mine" (the token message is given); a reason says what was wrong (an expired session, no CSRF).
 */
export interface RequestAuthenticator {
  isPublic: (path: string) => boolean
  verify: (raw: IncomingMessage) => { ok: boolean, reason?: string }
}
