/**
 * Bearer-token comparison in constant time: both sides are hashed first so neither the token's length nor its
 * content leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** True when `presented` equals `expected`; an empty presented token never matches. */
export function tokenMatches (presented: string, expected: string): boolean {
  if (presented === '' || expected === '') return false
  return timingSafeEqual(digest(presented), digest(expected))
}
