// llm: one chat completion from an OpenAI-compatible API, sent through the http step's egress rules (origin, size).
import type { StepRunner } from '../engine/step-runner.ts'
import { AppError, RetryableError, TerminalError } from '../errors.ts'
import type { HttpRunnerDeps } from './http.ts'
import { connectionUrl, exchange, readLimited, retryAfterMs } from './http-egress.ts'
import { chatRequest, type LlmConfig, parseCompletion, statusError } from './llm-api.ts'

const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
/** The longest Retry-After honoured: a longer one is waited this long, and the next attempt asks again. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000

/** Masks every credential the connection adds (a header's value, and a Bearer/Basic token alone) in API text. */
function scrubberOf(headers: Record<string, string>): (text: string) => string {
  const values = Object.values(headers)
    .flatMap((v) => [v, v.replace(/^(Bearer|Basic)\s+/i, '')])
    .filter((v) => v.length >= 6)
    .sort((a, b) => b.length - a.length)
  return (text) => values.reduce((out, v) => out.split(v).join('***'), text)
}

async function httpConnection(deps: HttpRunnerDeps, name: string) {
  try {
    return await deps.connection(name)
  } catch (error) {
    // A missing or wrong-typed connection stays missing on a retry; fail the step at once and say what it needs.
    if (error instanceof AppError && !(error instanceof RetryableError) && error.code === 'connection_not_found') {
      throw new TerminalError('connection_not_found', `The llm step needs an http connection named '${name}'.`, {
        hint: `Create it with 'greenlight connections set ${name} --type http --base-url https://api.openai.com/v1 --bearer-secret <secret>'.`,
        cause: error,
      })
    }
    throw error
  }
}

export function createLlmRunner(deps: HttpRunnerDeps): StepRunner {
  const limit = deps.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  return {
    kind: 'llm',
    billable: true,
    async run(ctx) {
      const c = ctx.config as unknown as LlmConfig
      const body = chatRequest(c, ctx.step.id)
      const connection = await httpConnection(deps, c.connection)
      const url = connectionUrl(connection.baseUrl, '/chat/completions')
      const headers: Record<string, string> = {
        ...connection.headers,
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': ctx.idempotencyKey,
      }
      const scrub = scrubberOf(connection.headers)
      const where = `POST ${url.pathname}`
      const cutoff = new AbortController()
      const signal = AbortSignal.any([ctx.signal, cutoff.signal])
      const request = { url, method: 'POST', headers, body: JSON.stringify(body) }
      const { response, request: sent } = await exchange(request, url.origin, signal, ctx.signal)
      let text: string
      try {
        text = (await readLimited(response, limit, sent, () => cutoff.abort())).toString('utf8')
      } catch (error) {
        if (error instanceof TerminalError || ctx.signal.aborted) throw error
        throw new RetryableError('http_unreachable', `${where} failed while reading the response.`, { cause: error })
      }
      if (response.status < 200 || response.status > 299) {
        const wait = retryAfterMs(response.headers, ctx.now, MAX_RETRY_AFTER_MS)
        throw statusError(response.status, text, where, wait, scrub)
      }
      return { type: 'done', output: parseCompletion(text, c, body.model) }
    },
  }
}
