// http: one request with an Idempotency-Key; 5xx, 429 and network errors are retryable, other failures terminal.
import { toOptionalText, toText } from '../core/flow/index.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { RetryableError, TerminalError } from '../errors.ts'
import { connectionUrl, exchange, readLimited } from './http-egress.ts'

export interface HttpConnection {
  baseUrl: string
  headers: Record<string, string>
}

export interface HttpRunnerDeps {
  /** Resolves a named http connection to its base URL and auth headers (secrets decrypted). */
  connection(name: string): Promise<HttpConnection>
  /** Largest response body a step reads (GREENLIGHT_MAX_BODY_BYTES); reading stops there. */
  maxResponseBytes?: number
}

const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

interface HttpConfig {
  method?: string
  url?: unknown
  connection?: string
  path?: unknown
  headers?: Record<string, unknown>
  query?: Record<string, unknown>
  json?: unknown
  /** Text as written; a template's object or array result is sent as JSON. */
  body?: unknown
  expect_status?: number | number[]
}

/** A parameter whose template found nothing is left out, not sent as "undefined" (toOptionalText). */
function withQuery(url: URL, query: Record<string, unknown> | undefined): URL {
  for (const [k, v] of Object.entries(query ?? {})) {
    const text = toOptionalText(v)
    if (text !== undefined) url.searchParams.set(k, text)
  }
  return url
}

/** The request body: `json` as JSON; `body` as text, or as JSON when its template gave an object or array. */
function requestBody(c: HttpConfig, headers: Record<string, string>): string | undefined {
  const asJson = c.json !== undefined ? c.json : typeof c.body === 'object' && c.body !== null ? c.body : undefined
  if (asJson !== undefined) {
    headers['content-type'] ??= 'application/json'
    return JSON.stringify(asJson)
  }
  return toOptionalText(c.body)
}

function parseAbsolute(target: string): URL {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new TerminalError('invalid_url', `'${target}' is not a valid URL.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TerminalError('invalid_url', `'${target}' is not an http(s) URL.`)
  return url
}

function decodeBody(bytes: Buffer, response: Response): unknown {
  const text = bytes.toString('utf8')
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

function expectedStatus(expect: unknown, status: number): boolean {
  if (expect === undefined) return status >= 200 && status < 300
  return Array.isArray(expect) ? expect.includes(status) : expect === status
}

export function createHttpRunner(deps: HttpRunnerDeps): StepRunner {
  const limit = deps.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  return {
    kind: 'http',
    billable: true,
    async run(ctx) {
      const c = ctx.config as HttpConfig
      const headers: Record<string, string> = {}
      let url: URL
      let lockedOrigin: string | undefined
      if (c.connection !== undefined) {
        const connection = await deps.connection(c.connection)
        url = connectionUrl(connection.baseUrl, toText(c.path))
        lockedOrigin = url.origin
        Object.assign(headers, connection.headers)
      } else url = parseAbsolute(toText(c.url))
      withQuery(url, c.query)
      for (const [k, v] of Object.entries(c.headers ?? {})) {
        const text = toOptionalText(v)
        if (text !== undefined) headers[k.toLowerCase()] = text
      }
      headers['idempotency-key'] = ctx.idempotencyKey
      const body = requestBody(c, headers)

      const method = c.method ?? 'GET'
      // Our own abort, besides the step's: cutting off an oversized body must close the connection, not just stop.
      const cutoff = new AbortController()
      const signal = AbortSignal.any([ctx.signal, cutoff.signal])
      const { response, request } = await exchange({ url, method, headers, body }, lockedOrigin, signal, ctx.signal)
      let bytes: Buffer
      try {
        bytes = await readLimited(response, limit, request, () => cutoff.abort())
      } catch (error) {
        if (error instanceof TerminalError || ctx.signal.aborted) throw error
        throw new RetryableError('http_unreachable', `${method} ${url.origin} failed while reading the response.`, {
          cause: error,
        })
      }
      const output = {
        status: response.status,
        headers: Object.fromEntries(response.headers.entries()),
        body: decodeBody(bytes, response),
      }
      if (!expectedStatus(c.expect_status, response.status)) {
        const retryable = response.status >= 500 || response.status === 429 || response.status === 408
        const message = `${method} ${request.url.pathname} answered ${response.status}.`
        const retryAfter = Number(response.headers.get('retry-after'))
        throw retryable
          ? new RetryableError('http_status', message, {
              details: { response: output },
              ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
            })
          : new TerminalError('http_status', message, { details: { response: output } })
      }
      return { type: 'done', output }
    },
  }
}
