/**
 * A read-mostly view computed at most once per event or per `maxAgeMs`: `GET /v1/node` and `GET /v1/peers` are
 * polled by dashboards and scripts, and building them walks libp2p's connection and address lists (parsing peer ids,
 * formatting multiaddrs: ~60-90 us each), which at thousands of requests a second was most of the API's cost.
 * Any event on the node's bus (a peer connected or left, a hardware record arrived) drops the cached value at once;
 * what changes without an event (addresses, ping latency) is at most `maxAgeMs` old.
 */
import type { EventSource } from '../../common/events.js'

/** `compute()` cached until the next event on `events` or for at most `maxAgeMs`. */
export function cachedView<T, E> (compute: () => T, events: EventSource<E> | undefined, maxAgeMs: number, now: () => number = Date.now): () => T {
  let value: T | undefined
  let at = 0
  events?.subscribe(() => { value = undefined })
  return () => {
    const t = now()
    if (value === undefined || t - at >= maxAgeMs) {
      value = compute()
      at = t
    }
    return value
  }
}
