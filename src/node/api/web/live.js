/* global setInterval, clearInterval, setTimeout, clearTimeout */
// `useLive`: data a page shows, fetched once, then again whenever one of its events arrives (coalesced: one request
// in flight, one more queued), and at most every `pollMs` (>= 5 s) for what no event announces (latency, uptime).
import { useEffect, useState, useRef } from './vendor/preact-hooks.js'
import { on } from './api.js'

const MIN_POLL_MS = 5000

/**
 * `{ data, error, loading, reload }` for `load()`, refreshed on `events` and every `pollMs` when given. `delayMs`
 * holds the first load back, so a secondary panel does not compete with the page's own requests.
 */
export function useLive (load, events = [], pollMs = 0, delayMs = 0) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true })
  const busy = useRef(false)
  const again = useRef(false)
  const alive = useRef(true)
  const run = async () => {
    if (busy.current) { again.current = true; return }
    busy.current = true
    try {
      do {
        again.current = false
        try {
          const data = await load()
          if (alive.current) setState({ data, error: undefined, loading: false })
        } catch (error) {
          if (alive.current) setState(s => ({ data: s.data, error, loading: false }))
        }
      } while (again.current && alive.current)
    } finally { busy.current = false }
  }
  useEffect(() => {
    alive.current = true
    const first = setTimeout(() => { void run() }, delayMs)
    const off = events.length > 0 ? on(events, () => { void run() }) : () => {}
    const timer = pollMs > 0 ? setInterval(() => { void run() }, Math.max(MIN_POLL_MS, pollMs)) : undefined
    return () => { alive.current = false; clearTimeout(first); off(); if (timer !== undefined) clearInterval(timer) }
  }, [])
  return { ...state, reload: run }
}
