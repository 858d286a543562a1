/**
 * Process-wide safety net for the daemon. A socket that a library left without an 'error' listener (seen with
 * @libp2p/tcp when a dial is aborted under load) raises ECONNRESET/EPIPE as an uncaught exception; one dead peer
 * connection must not take the node down. Those are logged and survived; anything else is logged and the process
 * exits 1 so a supervisor restarts it (state is in Level, written atomically).
 */
import type { Logger } from '../common/logger.js'

const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH'])

/** True for errors from a stray network socket, which are safe to survive. */
export function isStraySocketError (err: unknown): boolean {
  const e = err as { code?: unknown, syscall?: unknown }
  return typeof e?.code === 'string' && SOCKET_CODES.has(e.code) && typeof e.syscall === 'string'
}

/** Install the handlers (once per process). */
export function installProcessGuard (log: Logger): void {
  process.on('uncaughtException', (err) => {
    if (isStraySocketError(err)) {
      log.warn({ err: err.message }, 'survived a stray socket error')
      return
    }
    log.error({ err }, 'uncaught exception: exiting')
    // the logger may buffer: make sure the reason reaches stderr before the process goes
    process.stderr.write(`meshnode: uncaught exception: ${err.stack ?? String(err)}\n`)
    process.exitCode = 1
    setTimeout(() => process.exit(1), 100).unref()
  })
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled promise rejection')
  })
}
