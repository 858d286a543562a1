/**
 * Dashboard sessions: one-time login codes traded for an HttpOnly, SameSite=Strict session cookie, and the check the
 * API's request gate runs on a request that carries no bearer token.
 *
 * A login code is minted by an authenticated request (`meshnode dashboard` holds the admin token), lives 60 s and is
 * spent on first use. A session has a second secret, its CSRF value, which the page reads from an authenticated GET
 * and sends back in `X-Meshnode-CSRF` on every state-changing request: a cross-site form or fetch can make the browser
 * send the cookie, never that header. Everything is in memory: a restart logs every browser out, which is the point.
 *
 * The cookie's name carries the API port: cookies are scoped by host, not port, so two nodes on 127.0.0.1 would
 * otherwise overwrite each other's session.
 */
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** How long a login code is valid. */
export const LOGIN_CODE_TTL_MS = 60_000
/** How long a session lives after login (its cookie's Max-Age too). */
export const SESSION_TTL_MS = 12 * 3600_000
/** The header that carries a session's CSRF value on state-changing requests. */
export const CSRF_HEADER = 'x-meshnode-csrf'
/** Outstanding codes and live sessions kept at most: the oldest is dropped beyond it. */
const MAX_CODES = 32
const MAX_SESSIONS = 64
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const secret = (): string => randomBytes(32).toString('base64url')
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()
const same = (a: string, b: string): boolean => a !== '' && timingSafeEqual(digest(a), digest(b))

/** A live dashboard session. */
export interface Session { id: string, csrf: string, createdAt: number, expiresAt: number }

/** What the gate decided about a request without a bearer token. */
export type SessionVerdict = { ok: true, session: Session } | { ok: false, reason?: string }

/** The cookie name of the API listening on `port`. */
export function cookieName (port: number | undefined): string {
  return `meshnode_session_${port ?? 0}`
}

/** One cookie's value from a Cookie header (first occurrence), or undefined. */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** The Set-Cookie value that opens (`value`, max age in seconds) or clears (`undefined`) a session cookie. */
export function sessionCookie (name: string, value: string | undefined, maxAgeSec = Math.floor(SESSION_TTL_MS / 1000)): string {
  return value === undefined
    ? `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`
    : `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`
}

/** Login codes and sessions of one API server. `now` is injected so expiry is testable without waiting. */
export class SessionStore {
  private readonly codes = new Map<string, number>()
  private readonly sessions = new Map<string, Session>()

  constructor (private readonly now: () => number = Date.now) {}

  /** Mint a single-use login code. */
  createCode (): { code: string, expiresAt: number } {
    this.sweep()
    const code = secret()
    const expiresAt = this.now() + LOGIN_CODE_TTL_MS
    this.codes.set(code, expiresAt)
    while (this.codes.size > MAX_CODES) this.codes.delete(this.codes.keys().next().value as string)
    return { code, expiresAt }
  }

  /** Spend a login code: a new session, or undefined when the code is unknown, used or expired. */
  redeem (code: string): Session | undefined {
    const expiresAt = this.codes.get(code)
    // spent whatever the outcome: a code is tried once
    this.codes.delete(code)
    if (expiresAt === undefined || expiresAt <= this.now()) return undefined
    const createdAt = this.now()
    const session: Session = { id: secret(), csrf: secret(), createdAt, expiresAt: createdAt + SESSION_TTL_MS }
    this.sessions.set(session.id, session)
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string)
    return session
  }

  /** The live session with this id, if any. */
  get (id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined
    const s = this.sessions.get(id)
    if (s === undefined) return undefined
    if (s.expiresAt <= this.now()) { this.sessions.delete(id); return undefined }
    return s
  }

  /** End a session (logout); true when it was live. */
  end (id: string | undefined): boolean {
    return id !== undefined && this.sessions.delete(id)
  }

  /** The session a request's cookie names, if live. */
  fromRequest (raw: IncomingMessage): Session | undefined {
    return this.get(readCookie(raw.headers.cookie, cookieName(raw.socket.localPort)))
  }

  /**
   * The gate's check for a request without a bearer token: a live session cookie, plus the CSRF header on
   * state-changing methods. `{ ok: false }` without a reason when no cookie was sent at all.
   */
  verify (raw: IncomingMessage): SessionVerdict {
    const id = readCookie(raw.headers.cookie, cookieName(raw.socket.localPort))
    if (id === undefined) return { ok: false }
    const session = this.get(id)
    if (session === undefined) return { ok: false, reason: 'dashboard session expired or logged out: run `meshnode dashboard` again' }
    if (!SAFE_METHODS.has(raw.method ?? 'GET')) {
      const h = raw.headers[CSRF_HEADER]
      if (typeof h !== 'string' || !same(h, session.csrf)) return { ok: false, reason: `missing or wrong ${CSRF_HEADER} header` }
    }
    return { ok: true, session }
  }

  private sweep (): void {
    const t = this.now()
    for (const [c, exp] of this.codes) if (exp <= t) this.codes.delete(c)
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id)
  }
}
