/**
 * Byte-stream helpers for artifacts: normalising inputs, enforcing size limits while bytes flow, and an idle timeout
 * that aborts a transfer only when it stops making progress (a 4 GiB download is not limited by a 30 s total timeout).
 */
import { setMaxListeners } from 'node:events'
import { StorageError } from './errors.js'

/** Anything an artifact can be added from. Node readable streams are async iterables of Buffers. */
export type ByteSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/** Yield the source as Uint8Array chunks (a single Uint8Array becomes one chunk). */
export async function * toChunks (source: ByteSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source
    return
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') throw new StorageError('ERR_INVALID_ARGUMENT', 'artifact streams must yield bytes, not strings')
    yield chunk
  }
}

/** The limits `metered` enforces while bytes flow. */
export interface MeterOptions {
  /** Largest artifact accepted: more bytes fail with ERR_TOO_LARGE. */
  maxBytes: number
  /** Bytes the quota still allows: more fail with ERR_QUOTA. */
  freeBytes: () => number
  /** For the error message. */
  quotaBytes: number
  onBytes?: (total: number) => void
  signal?: AbortSignal
}

/**
 * Pass bytes through, counting them, and fail as soon as the artifact grows past `maxBytes` or past the free quota.
 * The free quota is read at start: blocks written by this very stream are then already inside the count.
 */
export async function * metered (source: ByteSource, opts: MeterOptions): AsyncGenerator<Uint8Array> {
  const free = opts.freeBytes()
  let total = 0
  for await (const chunk of toChunks(source)) {
    opts.signal?.throwIfAborted()
    total += chunk.byteLength
    if (total > opts.maxBytes) {
      throw new StorageError('ERR_TOO_LARGE', `artifact exceeds the maximum artifact size of ${opts.maxBytes} bytes (storage.maxArtifactBytes)`)
    }
    if (total > free) {
      throw new StorageError('ERR_QUOTA', `storage quota exceeded: the artifact needs more than the ${free} bytes left of the ${opts.quotaBytes}-byte quota (unpin artifacts and run gc, or raise storage.quotaBytes)`)
    }
    opts.onBytes?.(total)
    yield chunk
  }
}

/** An abort signal that fires after `ms` without `touch()`, or when the parent signal aborts. */
export class IdleTimeout {
  private readonly controller = new AbortController()
  private timer?: NodeJS.Timeout
  private readonly onParentAbort = (): void => { this.controller.abort(this.parent?.reason) }
  /** True once the idle timer (not the parent) fired. */
  timedOut = false

  constructor (private readonly ms: number, private readonly parent?: AbortSignal) {
    // many block requests listen on one signal
    setMaxListeners(Infinity, this.controller.signal)
    if (parent?.aborted === true) this.controller.abort(parent.reason)
    else parent?.addEventListener('abort', this.onParentAbort, { once: true })
    this.touch()
  }

  get signal (): AbortSignal { return this.controller.signal }

  /** Progress was made: restart the idle timer. */
  touch (): void {
    if (this.controller.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timedOut = true
      this.controller.abort(new StorageError('ERR_TIMEOUT', `no progress for ${this.ms} ms`))
    }, this.ms)
    this.timer.unref?.()
  }

  /** Stop the timer and detach from the parent. */
  clear (): void {
    clearTimeout(this.timer)
    this.parent?.removeEventListener('abort', this.onParentAbort)
  }
}
