/* global fetch, EventSource, setTimeout */
// The page's one client of the node: JSON requests with the session cookie (and the CSRF header on state-changing
// requests), routes that may not exist on this node (404 "no route": another subsystem not built in), and one
// EventSource on /v1/events whose named events pages subscribe to.
import { signal } from './vendor/signals.js'

/** 'unknown' until the session check, then 'in' or 'out'. */
export const auth = signal('unknown')
/** True while the event stream is open. */
export const live = signal(false)

let csrf = null
let csrfHeader = 'x-meshnode-csrf'

/** An error the API answered: its status and code. */
export class ApiError extends Error {
  constructor (status, code, message) { super(message); this.status = status; this.code = code }
}

/** Ask the node how this browser is signed in; sets `auth` and the CSRF value. */
export async function checkSession () {
  const res = await fetch('/v1/dashboard/session', { credentials: 'same-origin' })
  if (!res.ok) { auth.value = 'out'; return null }
  const s = await res.json()
  csrf = s.csrf
  csrfHeader = s.csrfHeader
  auth.value = 'in'
  return s
}

// GETs in flight, by path: panels that read the same route at the same moment share one request
const inflight = new Map()

/** One JSON request; an ApiError for a 4xx/5xx. A 401 marks the page signed out. */
export async function api (method, path, body) {
  if (method !== 'GET') return await request(method, path, body)
  let p = inflight.get(path)
  if (p == null) {
    p = request(method, path)
    inflight.set(path, p)
    const done = () => { inflight.delete(path) }
    p.then(done, done)
  }
  return await p
}

async function request (method, path, body) {
  const headers = {}
  if (method !== 'GET' && method !== 'HEAD' && csrf != null) headers[csrfHeader] = csrf
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const json = (res.headers.get('content-type') ?? '').includes('json') ? await res.json() : null
  if (!res.ok) {
    if (res.status === 401) auth.value = 'out'
    throw new ApiError(res.status, json?.error?.code ?? 'ERR_HTTP', json?.error?.message ?? `${res.status} ${res.statusText}`)
  }
  return json
}

/** True when an error says the route itself does not exist on this node (not that a record is missing). */
export const routeMissing = (err) => err instanceof ApiError && err.status === 404 && /^no route /.test(err.message)

// a route this node does not serve stays absent until it restarts (and the page reloads): ask once
const absent = new Set()

/**
 * GET a route another subsystem provides: `{ data }`, `{ missing: true }` when this node does not serve it, or
 * `{ error }` when it answers with an error (a subsystem switched off, a chain not reachable): shown in its block.
 */
export async function optional (path) {
  if (absent.has(path)) return { missing: true }
  try {
    return { data: await api('GET', path) }
  } catch (err) {
    if (routeMissing(err)) { absent.add(path); return { missing: true } }
    if (err instanceof ApiError && err.status === 401) throw err
    return { error: err }
  }
}

/** End the session: the node forgets it and clears the cookie. */
export async function logout () {
  try { await api('POST', '/v1/dashboard/logout') } finally {
    auth.value = 'out'
    source?.close()
    source = null
    live.value = false
  }
}

let source = null
const handlers = new Map()

let opened = false

function ensureSource () {
  if (source != null) return source
  source = new EventSource('/v1/events')
  source.onopen = () => {
    live.value = true
    // events may have been missed while the stream was down: every subscriber reloads once
    if (opened) for (const fn of new Set([...handlers.values()].flatMap(set => [...set]))) fn(null, 'reconnect')
    opened = true
  }
  source.onerror = () => {
    live.value = false
    if (source?.readyState !== 2) return
    // closed for good (401 after logout or expiry, 429 with every stream taken): still signed in? then retry later
    source = null
    void checkSession().then(s => { if (s != null && handlers.size > 0) setTimeout(ensureSource, 5000) })
  }
  for (const type of handlers.keys()) attach(type)
  return source
}

function attach (type) {
  source.addEventListener(type, (ev) => {
    let data = null
    try { data = JSON.parse(ev.data) } catch { return }
    for (const fn of handlers.get(type) ?? []) fn(data, type)
  })
}

/** Call `fn(data, type)` for every event of these types; returns the unsubscribe function. */
export function on (types, fn) {
  for (const type of types) {
    let set = handlers.get(type)
    if (set == null) {
      set = new Set()
      handlers.set(type, set)
      if (source != null) attach(type)
    }
    set.add(fn)
  }
  ensureSource()
  return () => { for (const type of types) handlers.get(type)?.delete(fn) }
}
