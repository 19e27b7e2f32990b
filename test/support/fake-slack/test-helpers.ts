// Small helpers for the fake's own tests: a silent client logger and a section block.

import { type Logger, LogLevel } from '@slack/web-api'

const ignore = (): void => undefined

/** Keeps the clients' expected-error logging (e.g. invalid_blocks) out of the test output. */
export const quietLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  setLevel: ignore,
  getLevel: () => LogLevel.ERROR,
  setName: ignore,
}

export const section = (text: string) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } })
