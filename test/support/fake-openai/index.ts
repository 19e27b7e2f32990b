// A loopback OpenAI-compatible chat API for tests: real request and response shapes, scripted replies, recorded calls.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ApiError {
  message: string
  type: string
  param: string | null
  code: string | null
}

/**
 * What the fake answers one request with:
 * - `{ content }` or `{ json }` (content = JSON.stringify(json)): a completion; `finish_reason` (default `stop`),
 *   `model` (default the requested one), `usage` (default: about 4 characters a token) and `refusal` may be set;
 * - `{ status, error?, retryAfter?, headers? }`: an error answer, OpenAI-shaped, with `Retry-After` when given;
 * - `{ raw, status?, contentType?, headers? }`: these exact bytes (a proxy's HTML page, a redirect, a cut body).
 */
export type Reply =
  | {
      content?: string
      json?: unknown
      finish_reason?: string
      model?: string
      refusal?: string
      usage?: Partial<Usage>
    }
  | { status: number; error?: Partial<ApiError>; retryAfter?: number | string; headers?: Record<string, string> }
  | { raw: string; status?: number; contentType?: string; headers?: Record<string, string> }

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface ChatBody {
  model: string
  messages: { role: string; content: string }[]
  temperature?: number
  max_tokens?: number
  response_format?: { type: string; json_schema?: { name: string; schema: Record<string, unknown>; strict?: boolean } }
  [key: string]: unknown
}

export interface RecordedRequest {
  /** Date.now() when the request arrived. */
  at: number
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** The parsed JSON body (undefined when it was not JSON). */
  body: ChatBody | undefined
  raw: string
  /** The status the fake answered with. */
  status: number
}

export interface FakeOpenAI {
  /** The API root, as an http connection's base URL: http://127.0.0.1:PORT/v1 */
  url: string
  apiKey: string
  requests: RecordedRequest[]
  /** Queues replies for the next authorized chat requests, in order. */
  reply(...replies: Reply[]): void
  /** Answers chat requests with `handler` when the queue is empty (default: an echo of the last message). */
  handle(handler: (body: ChatBody, request: RecordedRequest) => Reply): void
  /** Models the API knows; any other answers 404 model_not_found. Default: any model. */
  models(names: string[] | undefined): void
  reset(): void
  close(): Promise<void>
}

const DEFAULT_ERRORS: Record<number, Omit<ApiError, 'message'> & { message: string }> = {
  400: { message: 'Bad request.', type: 'invalid_request_error', param: null, code: null },
  401: { message: 'Invalid authentication.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
  404: { message: 'Not found.', type: 'invalid_request_error', param: null, code: null },
  429: {
    message: 'Rate limit reached for requests. Please try again later.',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  },
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

/** A value that fits `schema` (the fake's default structured reply): required keys, first enum values, zeros. */
export function exampleOf(schema: unknown): unknown {
  const s = (typeof schema === 'object' && schema !== null ? schema : {}) as Record<string, unknown>
  if (Array.isArray(s.enum)) return s.enum[0]
  if ('const' in s) return s.const
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  if (type === 'object' || (type === undefined && typeof s.properties === 'object')) {
    const properties = (s.properties ?? {}) as Record<string, unknown>
    const required = Array.isArray(s.required) ? (s.required as string[]) : Object.keys(properties)
    return Object.fromEntries(required.map((key) => [key, exampleOf(properties[key])]))
  }
  if (type === 'array') return []
  if (type === 'integer' || type === 'number') return typeof s.minimum === 'number' ? s.minimum : 0
  if (type === 'boolean') return false
  if (type === 'null') return null
  return 'x'
}

/** Checks the request as the real API would, naming the parameter; undefined when it is a valid request. */
function invalidRequest(body: unknown): ApiError | undefined {
  const bad = (message: string, param: string | null): ApiError => ({
    message,
    type: 'invalid_request_error',
    param,
    code: null,
  })
  if (typeof body !== 'object' || body === null) return bad('We could not parse the JSON body of your request.', null)
  const b = body as Record<string, unknown>
  if (typeof b.model !== 'string' || b.model === '') return bad('you must provide a model parameter', 'model')
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    return bad("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages')
  for (const [index, m] of b.messages.entries()) {
    const message = m as Record<string, unknown>
    if (!['system', 'developer', 'user', 'assistant'].includes(String(message?.role)))
      return bad(`Invalid value for 'messages[${index}].role'.`, `messages[${index}].role`)
    if (typeof message.content !== 'string')
      return bad(`Invalid type for 'messages[${index}].content'.`, `messages[${index}].content`)
  }
  if (b.temperature !== undefined && !(typeof b.temperature === 'number' && b.temperature >= 0 && b.temperature <= 2))
    return bad("Invalid 'temperature': decimal above maximum value.", 'temperature')
  if (b.max_tokens !== undefined && !(Number.isInteger(b.max_tokens) && (b.max_tokens as number) > 0))
    return bad("Invalid 'max_tokens': integer below minimum value.", 'max_tokens')
  const format = b.response_format as Record<string, unknown> | undefined
  if (format !== undefined) {
    if (format.type !== 'json_schema' && format.type !== 'json_object' && format.type !== 'text')
      return bad("Invalid value for 'response_format.type'.", 'response_format.type')
    if (format.type === 'json_schema') {
      const js = format.json_schema as Record<string, unknown> | undefined
      if (typeof js?.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(js.name))
        return bad("Invalid 'response_format.json_schema.name'.", 'response_format.json_schema.name')
      if (typeof js.schema !== 'object' || js.schema === null || Array.isArray(js.schema))
        return bad("Invalid type for 'response_format.json_schema.schema'.", 'response_format.json_schema.schema')
    }
  }
  return undefined
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
  return status
}

function errorReply(res: ServerResponse, status: number, error: Partial<ApiError> = {}, headers = {}): number {
  const base = DEFAULT_ERRORS[status] ?? DEFAULT_ERRORS[status >= 500 ? 500 : 400]
  return send(res, status, { error: { ...base, ...error } }, headers)
}

export async function startFakeOpenAI(options: { apiKey?: string } = {}): Promise<FakeOpenAI> {
  const apiKey = options.apiKey ?? 'sk-fake-0123456789abcdef'
  const requests: RecordedRequest[] = []
  let queue: Reply[] = []
  let known: string[] | undefined
  const echo = (body: ChatBody): Reply => {
    const schema = body.response_format?.json_schema?.schema
    if (schema !== undefined) return { json: exampleOf(schema) }
    return { content: `echo: ${body.messages.at(-1)?.content ?? ''}` }
  }
  let handler: (body: ChatBody, request: RecordedRequest) => Reply = echo
  let sequence = 0

  function answer(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): number {
    const path = (req.url ?? '').split('?')[0]
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return errorReply(res, 404, { message: `Invalid URL (${req.method} ${path})` })
    }
    const auth = req.headers.authorization
    if (auth === undefined) {
      return errorReply(res, 401, {
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code: null,
      })
    }
    if (auth !== `Bearer ${apiKey}`) {
      // The real API masks most of the key; the fake echoes it whole, so tests prove Greenlight masks it.
      return errorReply(res, 401, { message: `Incorrect API key provided: ${auth.replace(/^Bearer\s+/i, '')}.` })
    }
    const invalid = invalidRequest(record.body)
    if (invalid) return send(res, 400, { error: invalid })
    const body = record.body as ChatBody
    if (known !== undefined && !known.includes(body.model)) {
      return errorReply(res, 404, {
        message: `The model \`${body.model}\` does not exist or you do not have access to it.`,
        code: 'model_not_found',
      })
    }
    const reply = queue.shift() ?? handler(body, record)
    if ('raw' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/html', ...reply.headers })
      res.end(reply.raw)
      return reply.status ?? 200
    }
    if ('status' in reply) {
      const headers: Record<string, string> = { ...reply.headers }
      if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter)
      return errorReply(res, reply.status, reply.error, headers)
    }
    const content = reply.refusal !== undefined ? null : (reply.content ?? JSON.stringify(reply.json ?? null))
    const prompt = tokens(body.messages.map((m) => m.content).join('\n'))
    const completion = tokens(content ?? reply.refusal ?? '')
    const usage = {
      prompt_tokens: reply.usage?.prompt_tokens ?? prompt,
      completion_tokens: reply.usage?.completion_tokens ?? completion,
    }
    sequence += 1
    return send(res, 200, {
      id: `chatcmpl-fake${String(sequence).padStart(6, '0')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: reply.model ?? body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: reply.refusal ?? null },
          logprobs: null,
          finish_reason: reply.finish_reason ?? 'stop',
        },
      ],
      usage: { ...usage, total_tokens: reply.usage?.total_tokens ?? usage.prompt_tokens + usage.completion_tokens },
      system_fingerprint: 'fp_fake',
    })
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: ChatBody | undefined
      try {
        body = JSON.parse(raw) as ChatBody
      } catch {
        body = undefined
      }
      const record: RecordedRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        raw,
        status: 0,
      }
      requests.push(record)
      record.status = answer(req, res, record)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    reply(...replies) {
      queue.push(...replies)
    },
    handle(next) {
      handler = next
    },
    models(names) {
      known = names
    },
    reset() {
      requests.length = 0
      queue = []
      handler = echo
      known = undefined
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
