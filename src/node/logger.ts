/**
 * The node's logger: pino underneath, JSON or pretty. Secrets are redacted by key name as a second line of defence;
 * the first is never passing them to a logger at all.
 */
import { pino } from 'pino'
import type { Logger } from '../common/logger.js'

/** How the root logger writes: level, format and file descriptor. */
export interface LoggerInit {
  level: string
  format: 'json' | 'pretty'
  /** Write to this fd (default stdout); child-process tests read it. */
  destination?: number
}

const REDACT = ['token', 'passphrase', 'password', 'privateKey', 'authorization', 'headers.authorization', '*.token', '*.passphrase', '*.privateKey']

/** Build the root logger. */
export function createLogger (init: LoggerInit): Logger {
  const base = { level: init.level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }
  if (init.format === 'pretty') {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: init.destination ?? 1, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
    })
  }
  return pino(base, pino.destination({ fd: init.destination ?? 1, sync: false }))
}
