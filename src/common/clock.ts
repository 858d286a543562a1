/** Time and randomness are injected so pure cores stay deterministic under test. */
export interface Clock { now: () => number }

/** The wall clock in milliseconds since the epoch. */
export const systemClock: Clock = { now: () => Date.now() }

/** A settable clock for tests and simulations. */
export class ManualClock implements Clock {
  constructor (private t = 0) {}
  now (): number { return this.t }
  set (t: number): void { this.t = t }
  advance (ms: number): void { this.t += ms }
}
