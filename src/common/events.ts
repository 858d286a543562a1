import { EventEmitter } from 'node:events'

/** One event on the node's bus, streamed to operators through `/v1/events` (SSE). */
export interface NodeEvent {
  type: string
  at: number
  data: Record<string, unknown>
}

/**
 * The in-process event bus shared by services. Subsystems `emit`; the admin API subscribes.
 * Listeners are isolated: one throwing listener never breaks the emitter.
 */
export class EventBus {
  private readonly ee = new EventEmitter()
  constructor () { this.ee.setMaxListeners(1000) }

  emit (type: string, data: Record<string, unknown> = {}): void {
    const ev: NodeEvent = { type, at: Date.now(), data }
    for (const l of this.ee.listeners('event')) {
      try { (l as (e: NodeEvent) => void)(ev) } catch { /* a listener's failure is its own */ }
    }
  }

  subscribe (listener: (e: NodeEvent) => void): () => void {
    this.ee.on('event', listener)
    return () => { this.ee.off('event', listener) }
  }
}
