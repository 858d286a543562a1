/**
 * Bounds the heavy work API requests may start at once (building, hashing and storing a large model): beyond the bound
 * a request is refused at once with ERR_BUSY (HTTP 429) instead of queueing more CPU and memory behind the others.
 */
import { TrainingError } from '../errors.js'

export class HeavyGate {
  private running = 0

  constructor (readonly max: number) {}

  /** Run `work` in a free slot; ERR_BUSY when all `max` are taken. */
  async run<T> (what: string, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      throw new TrainingError('ERR_BUSY', `this node is already ${what} (at most ${this.max} at a time); try again shortly`)
    }
    this.running++
    try {
      return await work()
    } finally {
      this.running--
    }
  }
}
