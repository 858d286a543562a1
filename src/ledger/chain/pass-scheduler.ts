/**
 * When the chain client's next pass runs, on one timer: `pollMs` after a pass while an intent is on its way, else
 * `idlePollMs`. Following the ledger's head watch, an idle client instead waits for a new head (and passes at most
 * every `idlePollMs`: a chain with fast blocks), with a heartbeat every `heartbeatMs` for the finality alarm of a
 * stalled chain: an idle node on the embedded chain, whose blocks come only with transactions, makes no pass at all.
 */
import type { HeadWatch } from './head-watch.js'

export interface PassSchedulerInit {
  pollMs: number
  idlePollMs: number
  heartbeatMs: number
  heads?: HeadWatch
}

export class PassScheduler {
  private running = false
  private timer: NodeJS.Timeout | undefined
  private timerAt: number | undefined
  private lastPassAt = 0
  private unwatch: (() => void) | undefined

  /** `pass` never rejects (the client logs its failures); `busy`: whether an intent is on its way. */
  constructor (private readonly pass: () => Promise<void>, private readonly busy: () => boolean, private readonly o: PassSchedulerInit) {}

  start (): void {
    if (this.running) return
    this.running = true
    this.unwatch = this.o.heads?.subscribe(() => { this.onHead() })
    this.at(0)
  }

  stop (): void {
    this.running = false
    this.unwatch?.()
    clearTimeout(this.timer)
  }

  /** A pass as soon as possible (an intent was just submitted). */
  now (): void {
    this.at(0)
  }

  private at (delay: number): void {
    clearTimeout(this.timer)
    this.timerAt = undefined
    if (!this.running) return
    this.timerAt = Date.now() + delay
    this.timer = setTimeout(() => {
      this.timerAt = undefined
      this.lastPassAt = Date.now()
      void this.pass().finally(() => { this.at(this.nextDelay()) })
    }, delay)
  }

  private nextDelay (): number {
    if (this.busy()) return this.o.pollMs
    return this.o.heads !== undefined ? this.o.heartbeatMs : this.o.idlePollMs
  }

  private onHead (): void {
    if (!this.running || this.busy()) return
    const delay = Math.max(0, this.lastPassAt + this.o.idlePollMs - Date.now())
    // never push back a pass already due sooner (a submit's)
    if (this.timerAt === undefined || this.timerAt > Date.now() + delay) this.at(delay)
  }
}
