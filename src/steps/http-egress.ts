// Where an http or llm step's bytes may go: a connection's URL and redirects stay on its origin, a body is read to a
// limit, and a Retry-After is read the same way for both.
import { readUpTo } from '../core/read-capped.ts'
import { RetryableError, TerminalError } from '../errors.ts'

/** Redirects one request may follow before the step fails with `too_many_redirects`. */
export const MAX_REDIRECTS = 5
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export interface OutgoingRequest {
  url: URL
  method: string
  headers: Record<string, string>
  body: string | undefined
}

const excerpt = (text: string): string => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)

function originMismatch(message: string, details: Record<string, unknown>): TerminalError {
  return new TerminalError('connection_origin_mismatch', message, {
    hint: "A connection's credentials go only to its base URL's scheme, host and port; use a path that starts with /.",
    details,
  })
}

/**
 * The URL of a connection step: base URL + path, refused unless it keeps the base URL's origin. The path is appended
 * as text (as the docs say) and the result parsed, never resolved with `new URL(path, base)`, where //host would win.
 */
export function connectionUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl)
  // Without a leading / the path's first characters join the authority: ":4701/x", ".evil.com/x", "@evil.com".
  if (!path.startsWith('/')) {
    throw originMismatch(`The path ${excerpt(path)} does not start with /, so it could change the host.`, {
      expected_origin: base.origin,
    })
  }
  let url: URL
  try {
    url = new URL(`${baseUrl.replace(/\/+$/, '')}${path}`)
  } catch {
    throw new TerminalError('invalid_url', `The base URL with the path ${excerpt(path)} is not a valid URL.`)
  }
  if (url.origin !== base.origin) {
    throw originMismatch(`The path ${excerpt(path)} leads to ${url.origin}, not the connection's ${base.origin}.`, {
      expected_origin: base.origin,
      origin: url.origin,
    })
  }
  return url
}

/**
 * The request a redirect asks for, or undefined when `response` is not one to follow. `lockedOrigin` (a connection's)
 * refuses any other origin; without it the redirect is followed but only the Idempotency-Key goes along to a new
 * origin, since the step's headers were written for the first.
 */
export function redirectFrom(
  response: Response,
  request: OutgoingRequest,
  lockedOrigin: string | undefined,
): OutgoingRequest | undefined {
  const location = response.headers.get('location')
  if (!REDIRECT_STATUSES.has(response.status) || location === null) return undefined
  let url: URL
  try {
    url = new URL(location, request.url)
  } catch {
    throw new TerminalError('invalid_redirect', `The redirect to ${excerpt(location)} is not a valid URL.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TerminalError('invalid_redirect', `The redirect to ${excerpt(location)} is not an http(s) URL.`)
  if (lockedOrigin !== undefined && url.origin !== lockedOrigin) {
    throw originMismatch(
      `${request.method} was redirected to ${url.origin}, outside the connection's ${lockedOrigin}.`,
      {
        expected_origin: lockedOrigin,
        origin: url.origin,
      },
    )
  }
  // The fetch standard's rewrite: 303 (but HEAD), and 301/302 of a POST, become a GET without a body.
  const toGet =
    (response.status === 303 && request.method !== 'HEAD') ||
    ((response.status === 301 || response.status === 302) && request.method === 'POST')
  const key = request.headers['idempotency-key']
  const kept: Record<string, string> =
    url.origin === request.url.origin ? { ...request.headers } : key === undefined ? {} : { 'idempotency-key': key }
  if (toGet) delete kept['content-type']
  else if (request.body !== undefined && request.headers['content-type'])
    kept['content-type'] = request.headers['content-type']
  return { url, method: toGet ? 'GET' : request.method, headers: kept, body: toGet ? undefined : request.body }
}

function tooLarge(limit: number, request: OutgoingRequest): TerminalError {
  return new TerminalError(
    'response_too_large',
    `The response to ${request.method} ${request.url.pathname} is over the ${limit}-byte limit; it was not read further.`,
    { hint: 'Raise GREENLIGHT_MAX_BODY_BYTES, or ask the API for less.', details: { limit_bytes: limit } },
  )
}

/**
 * Reads the body while counting its bytes; past `limit` it calls `abort` (which closes the connection) and fails,
 * so a huge or endless response costs at most `limit` bytes of memory.
 */
export async function readLimited(
  response: Response,
  limit: number,
  request: OutgoingRequest,
  abort: () => void,
): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) {
    abort()
    throw tooLarge(limit, request)
  }
  const body = await readUpTo(response.body, limit)
  if (body === null) {
    abort()
    throw tooLarge(limit, request)
  }
  return body
}

async function send(request: OutgoingRequest, signal: AbortSignal, stepSignal: AbortSignal): Promise<Response> {
  try {
    const { url, method, headers, body } = request
    // Redirects are followed by hand (redirectFrom), so each hop's destination is checked before it gets a byte.
    return await fetch(url, { method, headers, body, signal, redirect: 'manual' })
  } catch (error) {
    if (stepSignal.aborted) throw error
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)
    throw new RetryableError('http_unreachable', `${request.method} ${request.url.origin} failed: ${cause}`)
  }
}

/**
 * Sends the request and follows up to MAX_REDIRECTS redirects; `lockedOrigin` keeps every hop on one origin. A
 * network failure is retryable (`http_unreachable`), unless the step itself was aborted (its timeout).
 */
export async function exchange(
  first: OutgoingRequest,
  lockedOrigin: string | undefined,
  signal: AbortSignal,
  stepSignal: AbortSignal,
): Promise<{ response: Response; request: OutgoingRequest }> {
  let request = first
  for (let hop = 0; ; hop++) {
    const response = await send(request, signal, stepSignal)
    const next = redirectFrom(response, request, lockedOrigin)
    if (next === undefined) return { response, request }
    await response.body?.cancel().catch(() => undefined)
    if (hop === MAX_REDIRECTS) {
      throw new TerminalError(
        'too_many_redirects',
        `${first.method} ${first.url.pathname} redirected more than ${MAX_REDIRECTS} times.`,
      )
    }
    request = next
  }
}

/**
 * How long a 429 or 503 asks us to wait, in ms, or undefined when it does not say: `retry-after-ms` (OpenAI's), then
 * `Retry-After` as seconds or as an HTTP date. Capped at `capMs`, so a server cannot park a step for a day.
 */
export function retryAfterMs(headers: Headers, now: number, capMs: number): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN)
  const raw = headers.get('retry-after')?.trim() ?? ''
  let wait: number | undefined
  if (Number.isFinite(ms) && ms > 0) wait = ms
  else if (/^\d+(\.\d+)?$/.test(raw)) wait = Number(raw) * 1000
  else if (raw !== '' && Number.isFinite(Date.parse(raw))) wait = Date.parse(raw) - now
  return wait === undefined || wait <= 0 ? undefined : Math.min(Math.ceil(wait), capMs)
}
