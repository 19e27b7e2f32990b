// JSON logs on stderr (pino), so stdout stays free for the CLI's one JSON document. Known secret values are masked.
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config.ts'
import { processRedactor, type Redactor } from './core/redact.ts'

/** Masks secrets in each serialized line, so nothing a log call is handed (errors, bodies, messages) can leak one. */
function redactingStream(target: DestinationStream, redactor: Redactor): DestinationStream {
  return { write: (line: string) => target.write(redactor.text(line)) }
}

export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  redactor: Redactor = processRedactor,
): Logger {
  return pino(
    { level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime },
    redactingStream(pino.destination({ fd: 2, sync: false }), redactor),
  )
}
