// JSON logs on stderr (pino), so stdout stays free for the CLI's one JSON document.
import pino, { type Logger } from 'pino'
import type { LogLevel } from './config.ts'

export function createLogger(level: LogLevel, base: Record<string, unknown> = {}): Logger {
  return pino(
    { level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: false }),
  )
}
