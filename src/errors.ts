// Errors with a stable string `code` that every transport (HTTP, CLI, Slack) shows as is.

export type ErrorDetails = Record<string, unknown>

export interface AppErrorOptions {
  hint?: string
  details?: ErrorDetails
  cause?: unknown
  /** HTTP status the API answers with; transports other than HTTP ignore it. */
  status?: number
}

/** An error the user can act on: stable `code`, a sentence of `message`, an optional `hint` on what to do next. */
export class AppError extends Error {
  readonly code: string
  readonly hint: string | undefined
  readonly details: ErrorDetails
  readonly status: number

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.hint = options.hint
    this.details = options.details ?? {}
    this.status = options.status ?? 400
  }

  toJSON(): { code: string; message: string; hint?: string; details: ErrorDetails } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      details: this.details,
    }
  }
}

/** A failure that retrying will not fix (bad input, 4xx answers, schema violations). */
export class TerminalError extends AppError {
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(code, message, options)
    this.name = 'TerminalError'
  }
}

/** A failure worth retrying, optionally not before `retryAfterMs`. */
export class RetryableError extends AppError {
  readonly retryAfterMs: number | undefined

  constructor(code: string, message: string, options: AppErrorOptions & { retryAfterMs?: number } = {}) {
    super(code, message, { status: 503, ...options })
    this.name = 'RetryableError'
    this.retryAfterMs = options.retryAfterMs
  }
}

export const notFound = (code: string, message: string, options: Omit<AppErrorOptions, 'status'> = {}): AppError =>
  new AppError(code, message, { ...options, status: 404 })

export const conflict = (code: string, message: string, options: Omit<AppErrorOptions, 'status'> = {}): AppError =>
  new AppError(code, message, { ...options, status: 409 })

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
