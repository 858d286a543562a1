/**
 * Bearer-token comparison in constant time: both sides are compared as SHA-256 digests, so neither the token's
 * length nor its content leaks through timing. The expected token's digest is computed once, not per request.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** A checker for one expected token: true when the presented token equals it; an empty token never matches. */
export function tokenChecker (expected: string): (presented: string) => boolean {
  if (expected === '') return () => false
  const want = digest(expected)
  return presented => presented !== '' && timingSafeEqual(digest(presented), want)
}

/** True when `presented` equals `expected`; an empty presented token never matches. */
export function tokenMatches (presented: string, expected: string): boolean {
  return tokenChecker(expected)(presented)
}
