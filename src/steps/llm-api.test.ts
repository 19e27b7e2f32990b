// The llm step's protocol without a server: the request body it builds, and how each kind of answer reads.
import { describe, expect, it } from 'vitest'
import { AppError, RetryableError, TerminalError } from '../errors.ts'
import { retryAfterMs } from './http-egress.ts'
import { apiErrorOf, chatRequest, type LlmConfig, parseCompletion, statusError } from './llm-api.ts'

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    ...extra,
  })

const SCHEMA = {
  type: 'object',
  required: ['title', 'status'],
  properties: { title: { type: 'string' }, status: { enum: ['open', 'closed'] } },
}

function thrown(work: () => unknown): AppError {
  try {
    work()
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected an error')
}

describe('chatRequest', () => {
  it('sends system first, then the prompt as one user message, with the sampling fields given', () => {
    const c: LlmConfig = { connection: 'ai', model: 'gpt-4o-mini', system: 'Be brief.', prompt: 'Hi', temperature: 0 }
    expect(chatRequest(c, 'ask')).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0,
    })
  })

  it('sends messages in order, their typed template results as text, and json_schema as a strict response_format', () => {
    const c: LlmConfig = {
      connection: 'ai',
      model: 'm',
      messages: [
        { role: 'user', content: { ticket: 42 } },
        { role: 'assistant', content: 7 },
        { role: 'user', content: null },
      ],
      max_tokens: 50,
      json_schema: SCHEMA,
    }
    expect(chatRequest(c, 'draft_reply')).toEqual({
      model: 'm',
      messages: [
        { role: 'user', content: '{"ticket":42}' },
        { role: 'assistant', content: '7' },
        { role: 'user', content: '' },
      ],
      max_tokens: 50,
      response_format: { type: 'json_schema', json_schema: { name: 'draft_reply', schema: SCHEMA, strict: true } },
    })
  })

  it('refuses a model that is empty once its template ran', () => {
    const error = thrown(() => chatRequest({ connection: 'ai', model: '  ', prompt: 'x' }, 'a'))
    expect([error instanceof TerminalError, error.code]).toEqual([true, 'llm_invalid_request'])
  })
})

describe('parseCompletion', () => {
  const plain: LlmConfig = { connection: 'ai', model: 'gpt-4o-mini', prompt: 'x' }

  it('reads text, the served model, finish_reason and usage; json is null without a schema', () => {
    expect(parseCompletion(completion({ content: 'Hello' }), plain, 'gpt-4o-mini')).toEqual({
      text: 'Hello',
      json: null,
      model: 'gpt-4o-mini-2024-07-18',
      finish_reason: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    })
  })

  it('counts 0 tokens when the server reports none, and totals what it reports in part', () => {
    const none = parseCompletion(completion({ content: 'a' }, { usage: undefined, model: '' }), plain, 'asked')
    expect([none.model, none.usage]).toEqual(['asked', { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }])
    const part = parseCompletion(
      completion({ content: 'a' }, { usage: { prompt_tokens: 3, completion_tokens: 4 } }),
      plain,
      'm',
    )
    expect(part.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 })
  })

  it('parses a reply that fits json_schema', () => {
    const c = { ...plain, json_schema: SCHEMA }
    const out = parseCompletion(completion({ content: '{"title":"Down","status":"open"}' }), c, 'm')
    expect(out.json).toEqual({ title: 'Down', status: 'open' })
    expect(out.text).toBe('{"title":"Down","status":"open"}')
  })

  it('fails with llm_output_invalid naming every problem of a reply that breaks the schema', () => {
    const c = { ...plain, json_schema: SCHEMA }
    const error = thrown(() => parseCompletion(completion({ content: '{"title":5,"status":"lost"}' }), c, 'm'))
    expect([error instanceof TerminalError, error.code]).toEqual([true, 'llm_output_invalid'])
    expect(error.message).toContain('/title must be string')
    expect(error.message).toContain('/status must be equal to one of the allowed values')
    expect(error.details).toMatchObject({
      problems: [{ path: '/title' }, { path: '/status' }],
      text: '{"title":5,"status":"lost"}',
      usage: { total_tokens: 17 },
    })
  })

  it('fails with llm_output_invalid on a reply that is not JSON, and blames max_tokens when it was cut off', () => {
    const c = { ...plain, json_schema: SCHEMA }
    const cut = JSON.stringify({
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: '{"title":"Do' }, finish_reason: 'length' }],
    })
    const error = thrown(() => parseCompletion(cut, c, 'm'))
    expect(error.code).toBe('llm_output_invalid')
    expect(error.message).toMatch(/^The reply is not JSON \(.+\); it was cut off at max_tokens\.$/)
    expect(error.hint).toMatch(/raise max_tokens/)
  })

  it('fails with llm_refused on a refusal, and llm_bad_response on an answer that is not a completion', () => {
    expect(thrown(() => parseCompletion(completion({ content: null, refusal: 'No.' }), plain, 'm')).code).toBe(
      'llm_refused',
    )
    expect(thrown(() => parseCompletion('<html>proxy</html>', plain, 'm')).code).toBe('llm_bad_response')
    expect(thrown(() => parseCompletion('{"choices":[]}', plain, 'm')).code).toBe('llm_bad_response')
  })
})

describe('statusError', () => {
  const where = 'POST /v1/chat/completions'
  const body = (error: Record<string, unknown>) => JSON.stringify({ error })
  const none = (text: string) => text

  it('fails 401 at once with llm_auth_failed, and masks the key the API echoed', () => {
    const scrub = (text: string) => text.split('sk-live-secret-42').join('***')
    const error = statusError(
      401,
      body({ message: 'Incorrect API key provided: sk-live-secret-42.', code: 'invalid_api_key' }),
      where,
      undefined,
      scrub,
    )
    expect([error instanceof TerminalError, error.code]).toEqual([true, 'llm_auth_failed'])
    expect(error.message).toBe(
      'POST /v1/chat/completions answered 401 (invalid_api_key): Incorrect API key provided: ***.',
    )
    expect(JSON.stringify(error.details)).not.toContain('sk-live-secret-42')
  })

  it('retries 429 not before Retry-After, but not an exhausted quota', () => {
    const limited = statusError(429, body({ message: 'Slow down', code: 'rate_limit_exceeded' }), where, 2000, none)
    expect(limited).toBeInstanceOf(RetryableError)
    expect([limited.code, (limited as RetryableError).retryAfterMs]).toEqual(['llm_rate_limited', 2000])
    const quota = statusError(
      429,
      body({ message: 'Quota', type: 'insufficient_quota', code: 'insufficient_quota' }),
      where,
      2000,
      none,
    )
    expect([quota instanceof TerminalError, quota.code]).toEqual([true, 'llm_quota_exceeded'])
  })

  it('retries 5xx, 408 and 409; fails other 4xx with the API message and a hint for 404', () => {
    for (const status of [500, 502, 503, 408, 409]) {
      const error = statusError(status, body({ message: 'oops' }), where, undefined, none)
      expect([error instanceof RetryableError, error.code], String(status)).toEqual([true, 'llm_api_error'])
    }
    const missing = statusError(
      404,
      body({ message: 'The model `x` does not exist', code: 'model_not_found' }),
      where,
      undefined,
      none,
    )
    expect([missing instanceof TerminalError, missing.hint]).toEqual([true, expect.stringContaining('model name')])
    const bad = statusError(
      400,
      body({ message: "Invalid 'temperature'", param: 'temperature' }),
      where,
      undefined,
      none,
    )
    expect(bad.message).toBe("POST /v1/chat/completions answered 400: Invalid 'temperature'")
    expect(bad.details).toEqual({ status: 400, error: { message: "Invalid 'temperature'", param: 'temperature' } })
  })

  it('reads looser error bodies: a string error, or text', () => {
    expect(apiErrorOf('{"error":"model not loaded"}')).toEqual({ message: 'model not loaded' })
    expect(apiErrorOf('Bad Gateway')).toEqual({ message: 'Bad Gateway' })
    expect(apiErrorOf('')).toEqual({ message: 'no message' })
  })
})

describe('retryAfterMs', () => {
  const now = Date.parse('2026-05-01T12:00:00Z')
  const of = (headers: Record<string, string>, cap = 600_000) => retryAfterMs(new Headers(headers), now, cap)

  it('reads retry-after-ms, then seconds, then an HTTP date, capped; nothing usable is undefined', () => {
    expect(of({ 'retry-after-ms': '1500', 'retry-after': '9' })).toBe(1500)
    expect(of({ 'retry-after': '2' })).toBe(2000)
    expect(of({ 'retry-after': '0.5' })).toBe(500)
    expect(of({ 'retry-after': 'Fri, 01 May 2026 12:00:30 GMT' })).toBe(30_000)
    expect(of({ 'retry-after': '86400' })).toBe(600_000)
    expect(of({ 'retry-after': 'soon' })).toBeUndefined()
    expect(of({ 'retry-after': '0' })).toBeUndefined()
    expect(of({ 'retry-after': 'Fri, 01 May 2026 11:00:00 GMT' })).toBeUndefined()
    expect(of({})).toBeUndefined()
  })
})
