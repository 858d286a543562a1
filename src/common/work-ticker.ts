/**
 * A periodic task that runs only while it has work. An idle daemon should not wake up to find nothing to do: a
 * service calls `arm()` after anything that may have given it work, the interval starts if `hasWork()` says so, and
 * it stops itself after a pass that leaves no work. Passes never overlap. `stop()` is final (a later `arm()` does
 * nothing).
 */
export class WorkTicker {
  private timer?: NodeJS.Timeout
  private stopped = false
  private running = false

  /**
   * @param run one pass (its errors are the caller's to handle; a rejection only ends that pass)
   * @param intervalMs time between passes while there is work
   * @param hasWork whether a pass has anything to do (cheap: called after every pass and every `arm()`)
   */
  constructor (private readonly run: () => Promise<void> | void, private readonly intervalMs: number, private readonly hasWork: () => boolean) {}

  /** Start ticking if there is work and no tick runs yet. */
  arm (): void {
    if (this.stopped || this.timer !== undefined || !this.hasWork()) return
    this.timer = setInterval(() => { void this.pass() }, this.intervalMs)
    this.timer.unref()
  }

  /** Whether the interval is running. */
  get ticking (): boolean { return this.timer !== undefined }

  /** Stop for good. */
  stop (): void {
    this.stopped = true
    this.halt()
  }

  /** One pass at a time: a tick that comes while the previous pass still runs is skipped. */
  private async pass (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      await this.run()
    } catch {
      // the pass's own error handling is the caller's; the ticker only decides whether to keep ticking
    } finally {
      this.running = false
      if (!this.hasWork()) this.halt()
    }
  }

  private halt (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
