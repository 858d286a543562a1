/**
 * A FIFO shared/exclusive lock. Adds and pins hold it shared from their first block write until their pin lands;
 * garbage collection holds it exclusive, so it can never delete the still-unpinned blocks of an add in progress.
 */
interface Waiter { exclusive: boolean, grant: () => void }

/** The lock described above; `shared` and `exclusive` resolve to a release function. */
export class SharedLock {
  private readers = 0
  private writer = false
  private readonly queue: Waiter[] = []

  /** Wait for a shared hold; call the returned function to release it. */
  async shared (signal?: AbortSignal): Promise<() => void> { return await this.acquire(false, signal) }

  /** Wait for the exclusive hold; call the returned function to release it. */
  async exclusive (signal?: AbortSignal): Promise<() => void> { return await this.acquire(true, signal) }

  private async acquire (exclusive: boolean, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    if (this.queue.length === 0 && this.compatible(exclusive)) {
      this.take(exclusive)
      return this.releaser(exclusive)
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { exclusive, grant: () => { signal?.removeEventListener('abort', onAbort); resolve() } }
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter)
        if (i >= 0) this.queue.splice(i, 1)
        reject(signal?.reason)
        this.drain()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(waiter)
    })
    return this.releaser(exclusive)
  }

  private compatible (exclusive: boolean): boolean {
    return exclusive ? !this.writer && this.readers === 0 : !this.writer
  }

  private take (exclusive: boolean): void {
    if (exclusive) this.writer = true
    else this.readers++
  }

  private releaser (exclusive: boolean): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      if (exclusive) this.writer = false
      else this.readers--
      this.drain()
    }
  }

  private drain (): void {
    while (this.queue.length > 0 && this.compatible(this.queue[0].exclusive)) {
      const w = this.queue.shift() as Waiter
      this.take(w.exclusive)
      w.grant()
    }
  }
}
