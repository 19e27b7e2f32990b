// http: one request with an Idempotency-Key; 5xx, 429 and network errors are retryable, other failures terminal.
import type { StepRunner } from '../engine/step-runner.ts'
import { RetryableError, TerminalError } from '../errors.ts'

export interface HttpConnection {
  baseUrl: string
  headers: Record<string, string>
}

export interface HttpRunnerDeps {
  /** Resolves a named http connection to its base URL and auth headers (secrets decrypted). */
  connection(name: string): Promise<HttpConnection>
}

const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

function buildUrl(base: string, query: Record<string, unknown> | undefined): string {
  const url = new URL(base)
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v))
  return url.toString()
}

async function readBody(response: Response): Promise<unknown> {
  const buffer = Buffer.from(await response.arrayBuffer())
  if (buffer.length > MAX_RESPONSE_BYTES)
    throw new TerminalError('response_too_large', `The response is over ${MAX_RESPONSE_BYTES} bytes.`)
  const text = buffer.toString('utf8')
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
  return {
    kind: 'http',
    billable: true,
    async run(ctx) {
      const c = ctx.config as {
        method?: string
        url?: string
        connection?: string
        path?: string
        headers?: Record<string, unknown>
        query?: Record<string, unknown>
        json?: unknown
        body?: string
        expect_status?: number | number[]
      }
      let target = c.url ?? ''
      const headers: Record<string, string> = {}
      if (c.connection !== undefined) {
        const connection = await deps.connection(c.connection)
        target = `${connection.baseUrl.replace(/\/+$/, '')}${c.path ?? ''}`
        Object.assign(headers, connection.headers)
      }
      for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = String(v)
      headers['idempotency-key'] = ctx.idempotencyKey
      let body: string | undefined
      if (c.json !== undefined) {
        body = JSON.stringify(c.json)
        headers['content-type'] ??= 'application/json'
      } else if (c.body !== undefined) body = String(c.body)

      let url: string
      try {
        url = buildUrl(target, c.query)
      } catch {
        throw new TerminalError('invalid_url', `'${target}' is not a valid URL.`)
      }
      const method = c.method ?? 'GET'
      let response: Response
      try {
        response = await fetch(url, { method, headers, body, signal: ctx.signal, redirect: 'follow' })
      } catch (error) {
        if (ctx.signal.aborted) throw error
        const cause =
          error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)
        throw new RetryableError('http_unreachable', `${method} ${new URL(url).origin} failed: ${cause}`)
      }
      const output = {
        status: response.status,
        headers: Object.fromEntries(response.headers.entries()),
        body: await readBody(response),
      }
      if (!expectedStatus(c.expect_status, response.status)) {
        const retryable = response.status >= 500 || response.status === 429 || response.status === 408
        const message = `${method} ${new URL(url).pathname} answered ${response.status}.`
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
