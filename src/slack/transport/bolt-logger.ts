// Bolt's and the Web API client's Logger interface on top of our pino logger, so Slack logs are JSON like the rest.
import { type Logger as BoltLogger, LogLevel } from '@slack/bolt'
import type { Logger } from 'pino'

type Level = 'debug' | 'info' | 'warn' | 'error'

const toText = (value: unknown): string => {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Bolt calls `setLevel(INFO)` unless told otherwise; the level stays pino's (LOG_LEVEL), so it is ignored. */
export function createBoltLogger(logger: Logger): BoltLogger {
  const write =
    (level: Level) =>
    (...messages: unknown[]): void => {
      const err = messages.find((m) => m instanceof Error)
      const text = messages
        .filter((m) => m !== err)
        .map(toText)
        .join(' ')
      if (err === undefined) logger[level](text)
      else logger[level]({ err }, text || (err as Error).message)
    }
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => undefined,
    setName: () => undefined,
    getLevel: () => {
      if (logger.isLevelEnabled('debug')) return LogLevel.DEBUG
      if (logger.isLevelEnabled('info')) return LogLevel.INFO
      if (logger.isLevelEnabled('warn')) return LogLevel.WARN
      return LogLevel.ERROR
    },
  }
}
