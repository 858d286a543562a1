/**
 * The node's typed event bus, streamed to operators through `/v1/events` (SSE).
 *
 * Each subsystem declares its events in its `events.ts` as a map of TypeBox payload schemas (`defineEvents`); the
 * composition root joins those maps into the node's event map, which types `emit` and describes `/v1/events` in the
 * OpenAPI document. A subsystem takes an `EventSink` of its own map only, so it can emit nothing it did not declare.
 */
import { EventEmitter } from 'node:events'
import type { Static, TSchema } from '@sinclair/typebox'

/** A map of event names to payload schemas. */
export type EventSchemas = Readonly<Record<string, TSchema>>

/** The payload types of an event schema map. */
export type EventsOf<S extends EventSchemas> = { [K in keyof S]: Static<S[K]> }

/** Declare a subsystem's events (an identity function that keeps the literal keys). */
export function defineEvents<S extends EventSchemas> (schemas: S): S {
  return schemas
}

/** One event on the bus. */
export interface NodeEvent<E = Record<string, Record<string, unknown>>, K extends keyof E = keyof E> {
  type: K & string
  at: number
  data: E[K]
}

/** Any event of a map, as a discriminated union on `type`. */
export type AnyEvent<E> = { [K in keyof E & string]: NodeEvent<E, K> }[keyof E & string]

/** The arguments of one `emit`: an event's name and its payload, as a union over the map's events. */
export type EmitArgs<E> = { [K in keyof E & string]: [type: K, data: E[K]] }[keyof E & string]

/**
 * Where a subsystem emits its events. Its `emit` takes the union of `[name, payload]` pairs rather than a generic
 * name, so the node's bus (a superset of events) is assignable to each subsystem's sink without a cast.
 */
export interface EventSink<E> {
  emit: (...args: EmitArgs<E>) => void
}

/** Where the admin API and tests listen. */
export interface EventSource<E> {
  subscribe: (listener: (e: AnyEvent<E>) => void) => () => void
}

/**
 * The in-process bus. Listeners are isolated: one throwing listener never breaks the emitter.
 */
export class EventBus<E = Record<string, Record<string, unknown>>> implements EventSink<E>, EventSource<E> {
  private readonly ee = new EventEmitter()
  constructor (private readonly now: () => number = Date.now) { this.ee.setMaxListeners(1000) }

  emit<K extends keyof E & string> (type: K, data: E[K]): void {
    const ev = { type, at: this.now(), data } as AnyEvent<E>
    for (const l of this.ee.listeners('event')) {
      try { (l as (e: AnyEvent<E>) => void)(ev) } catch { /* a listener's failure is its own */ }
    }
  }

  subscribe (listener: (e: AnyEvent<E>) => void): () => void {
    this.ee.on('event', listener)
    return () => { this.ee.off('event', listener) }
  }
}
