// Failure injection: make the next N calls (or all calls for a while) to a method fail like Slack does.

/**
 * - `{ status: 429, retryAfter }`: HTTP 429, `Retry-After: <seconds>` (default 1), body `{ ok: false, error: 'ratelimited' }`
 * - `{ status: 500 }` (or any other non-200): that HTTP status, `{ ok: false, error: 'internal_error' }`
 * - `{ error: 'ratelimited' }`: HTTP 200 with `{ ok: false, error, ...extra }` (a platform error)
 * - `{ delayMs }`: answer normally, but only after the delay (a slow Slack)
 */
export type Failure =
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503 | 504; error?: string }
  | { error: string; extra?: Record<string, unknown> }
  | { delayMs: number }

/** Method name, `'*'` for every method, or the pseudo-methods `files.upload_url` / `response_url`. */
export type FailureTarget = string

interface Rule {
  method: FailureTarget
  failure: Failure
  remaining: number | undefined
  until: number | undefined
}

export class FailureBook {
  private rules: Rule[] = []

  failNext(method: FailureTarget, failure: Failure, count: number): void {
    this.rules.push({ method, failure, remaining: count, until: undefined })
  }

  failFor(method: FailureTarget, until: number, failure: Failure): void {
    this.rules.push({ method, failure, remaining: undefined, until })
  }

  /** The failure to apply to this call, consuming one use of a counted rule. */
  take(method: string, now: number): Failure | undefined {
    this.rules = this.rules.filter((r) => (r.remaining === undefined || r.remaining > 0) && (r.until ?? now) >= now)
    const rule = this.rules.find((r) => r.method === method || r.method === '*')
    if (!rule) return undefined
    if (rule.remaining !== undefined) rule.remaining -= 1
    return rule.failure
  }

  clear(): void {
    this.rules = []
  }
}

export interface FailureReply {
  status: number
  headers: Record<string, string>
  body: Record<string, unknown>
}

/** The HTTP answer for a failure, or undefined for `delayMs` (which only slows the call down). */
export function failureReply(failure: Failure): FailureReply | undefined {
  if ('delayMs' in failure) return undefined
  if ('status' in failure && failure.status === 429) {
    const retryAfter = failure.retryAfter ?? 1
    return { status: 429, headers: { 'retry-after': String(retryAfter) }, body: { ok: false, error: 'ratelimited' } }
  }
  if ('status' in failure) {
    return { status: failure.status, headers: {}, body: { ok: false, error: failure.error ?? 'internal_error' } }
  }
  return { status: 200, headers: {}, body: { ok: false, error: failure.error, ...failure.extra } }
}
