// The chat-completions protocol of an llm step: the request body it sends, and what an answer means (output or error).
import { toText } from '../core/flow/index.ts'
import { checkPayload } from '../engine/payload-schema.ts'
import { RetryableError, TerminalError } from '../errors.ts'

/** The step's configuration once its templates are evaluated. */
export interface LlmConfig {
  connection: string
  model: unknown
  system?: unknown
  prompt?: unknown
  messages?: { role: string; content: unknown }[]
  temperature?: number
  max_tokens?: number
  json_schema?: Record<string, unknown>
}

export interface ChatMessage {
  role: string
  content: string
}

export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  temperature?: number
  max_tokens?: number
  response_format?: {
    type: 'json_schema'
    json_schema: { name: string; schema: Record<string, unknown>; strict: true }
  }
}

export interface TokenUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface LlmOutput {
  text: string
  json: unknown
  model: string
  finish_reason: string | null
  usage: TokenUsage
}

/** How much of a reply an error's details keep: enough to see what went wrong, not a whole essay in every event. */
const EXCERPT_CHARS = 2000

const excerpt = (text: string, max = EXCERPT_CHARS) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * The body of `POST <base>/chat/completions`. `system` goes first; `prompt` is one user message. The schema is named
 * after the step (its id fits OpenAI's name pattern) and sent strict, so a model that supports it can only answer in
 * that shape; the reply is checked all the same, since not every compatible server enforces it.
 */
export function chatRequest(c: LlmConfig, stepId: string): ChatRequest {
  const model = toText(c.model).trim()
  if (model === '') throw new TerminalError('llm_invalid_request', 'The model is empty after its template ran.')
  const messages: ChatMessage[] = []
  if (c.system !== undefined && c.system !== null) messages.push({ role: 'system', content: toText(c.system) })
  if (c.messages !== undefined) {
    for (const m of c.messages) messages.push({ role: m.role, content: toText(m.content) })
  } else messages.push({ role: 'user', content: toText(c.prompt) })
  return {
    model,
    messages,
    ...(c.temperature === undefined ? {} : { temperature: c.temperature }),
    ...(c.max_tokens === undefined ? {} : { max_tokens: c.max_tokens }),
    ...(c.json_schema === undefined
      ? {}
      : {
          response_format: { type: 'json_schema', json_schema: { name: stepId, schema: c.json_schema, strict: true } },
        }),
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0)

/** The API's token counts; a server that reports none counts 0, so usage never guesses. */
export function usageOf(body: unknown): TokenUsage {
  const u = isRecord(body) && isRecord(body.usage) ? body.usage : {}
  const prompt = count(u.prompt_tokens)
  const completion = count(u.completion_tokens)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: count(u.total_tokens) || prompt + completion,
  }
}

/** The OpenAI error object (`{error: {message, type, param, code}}`), or what a looser server said instead. */
export function apiErrorOf(text: string): { message: string; type?: string; param?: string; code?: string } {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return { message: excerpt(text.trim(), 300) || 'no message' }
  }
  const error = isRecord(body) ? body.error : undefined
  if (isRecord(error)) {
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
    const found = { message: str(error.message) ?? 'no message' }
    const [type, param, code] = [str(error.type), str(error.param), str(error.code)]
    return { ...found, ...(type ? { type } : {}), ...(param ? { param } : {}), ...(code ? { code } : {}) }
  }
  if (typeof error === 'string') return { message: error }
  return { message: excerpt(text.trim(), 300) || 'no message' }
}

/**
 * The error for an answer that is not 2xx: 429 and 5xx (and 408, 409) are retryable within the step's `retry`, not
 * before `retryAfterMs`; an exhausted quota, bad credentials and other 4xx fail at once, since asking again changes
 * nothing. `scrub` removes the API key from whatever the API echoed.
 */
export function statusError(
  status: number,
  text: string,
  where: string,
  retryAfterMs: number | undefined,
  scrub: (text: string) => string,
): TerminalError | RetryableError {
  const error = apiErrorOf(scrub(text))
  const said = `${error.code ? ` (${error.code})` : ''}: ${error.message}`
  const details = { status, error }
  if (status === 401 || status === 403) {
    return new TerminalError('llm_auth_failed', `${where} answered ${status}${said}`, {
      hint: "Check the API key: 'greenlight connections list' shows the secret the connection's auth names; set it again with 'greenlight secrets set <name>'.",
      details,
    })
  }
  if (status === 429 && (error.code === 'insufficient_quota' || error.type === 'insufficient_quota')) {
    return new TerminalError('llm_quota_exceeded', `${where} answered 429${said}`, {
      hint: "The API account's quota is used up; waiting does not help. Check its billing.",
      details,
    })
  }
  if (status === 429) {
    return new RetryableError('llm_rate_limited', `${where} answered 429${said}`, {
      hint: 'Give the step a retry (e.g. retry: { attempts: 4, backoff: 5s }); Retry-After is honoured.',
      details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    })
  }
  if (status >= 500 || status === 408 || status === 409) {
    return new RetryableError('llm_api_error', `${where} answered ${status}${said}`, {
      details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    })
  }
  return new TerminalError('llm_api_error', `${where} answered ${status}${said}`, {
    hint:
      status === 404
        ? "Check the model name and the connection's base URL: it is the API root (e.g. https://api.openai.com/v1), and the step adds /chat/completions."
        : 'The API refused the request; its message says why.',
    details,
  })
}

function badResponse(message: string): TerminalError {
  return new TerminalError('llm_bad_response', message, {
    hint: "Check that the connection's base URL is an OpenAI-compatible API root (…/v1), not a proxy or a web page.",
  })
}

/** A 2xx answer as the step's output; a reply that breaks the json_schema fails with `llm_output_invalid`. */
export function parseCompletion(text: string, c: LlmConfig, requestedModel: string): LlmOutput {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw badResponse(`The API answered with something that is not JSON: ${JSON.stringify(excerpt(text, 120))}.`)
  }
  const choice = isRecord(body) && Array.isArray(body.choices) ? body.choices[0] : undefined
  const message = isRecord(choice) ? choice.message : undefined
  if (!isRecord(message)) throw badResponse('The API answered without choices[0].message.')
  const usage = usageOf(body)
  const finishReason = isRecord(choice) && typeof choice.finish_reason === 'string' ? choice.finish_reason : null
  const model = isRecord(body) && typeof body.model === 'string' && body.model !== '' ? body.model : requestedModel
  if (typeof message.refusal === 'string' && message.refusal !== '') {
    throw new TerminalError('llm_refused', `The model refused: ${excerpt(message.refusal, 300)}`, {
      details: { refusal: excerpt(message.refusal), finish_reason: finishReason, usage },
    })
  }
  const reply = typeof message.content === 'string' ? message.content : ''
  const output = { text: reply, json: null as unknown, model, finish_reason: finishReason, usage }
  if (c.json_schema !== undefined) output.json = structured(reply, c.json_schema, finishReason, usage)
  return output
}

/** The reply parsed as JSON and checked against the step's schema; every problem is named. */
function structured(reply: string, schema: Record<string, unknown>, finishReason: string | null, usage: TokenUsage) {
  const cut = finishReason === 'length'
  const fail = (message: string, problems: { path: string; message: string }[]) =>
    new TerminalError('llm_output_invalid', message, {
      hint: cut
        ? 'The reply was cut off at max_tokens; raise max_tokens.'
        : 'Say more about the expected shape in the prompt, or loosen json_schema; on_error: { goto: <this step> } asks again.',
      details: { problems, text: excerpt(reply), finish_reason: finishReason, usage },
    })
  let value: unknown
  try {
    value = JSON.parse(reply)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    throw fail(`The reply is not JSON (${why})${cut ? '; it was cut off at max_tokens' : ''}.`, [
      { path: '/', message: `not JSON: ${why}` },
    ])
  }
  const problems = checkPayload(schema, value)
  if (problems.length > 0) {
    const named = problems.map((p) => `${p.path} ${p.message}`)
    throw fail(`The reply does not match json_schema: ${named.slice(0, 5).join('; ')}.`, problems)
  }
  return value
}
