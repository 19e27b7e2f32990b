// The llm step through a real server and a fake OpenAI-compatible API: prompts and messages, structured output and
// its refusal, Retry-After within retry, failures that are not retried, the key never shown, and tokens in usage.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai/index.ts'
import { type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const API_KEY = 'sk-greenlight-llm-test-4f2a9c81'
const WRONG_KEY = 'sk-greenlight-revoked-key-77d1e0'
const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

const SCHEMA = `{ type: object, additionalProperties: false, required: [title, status], properties: { title: { type: string }, status: { enum: [open, closed] } } }`

const FLOWS = [
  `slug: llm_plain
inputs: { topic: { type: string, required: true } }
requires: { connections: [openai] }
steps:
  - id: ask
    llm: { connection: openai, model: gpt-4o-mini, prompt: "Say hello about {{ inputs.topic }}" }
`,
  `slug: llm_messages
inputs: { who: { type: string, required: true } }
requires: { connections: [openai] }
steps:
  - id: chat
    llm:
      connection: openai
      model: "{{ 'gpt-4o' & '-mini' }}"
      system: You answer in one line.
      temperature: 0.2
      max_tokens: 64
      messages:
        - { role: user, content: "I am {{ inputs.who }}." }
        - { role: assistant, content: "Hello {{ inputs.who }}." }
        - { role: user, content: "Count: {{ 1 + 2 }}" }
`,
  `slug: llm_structured
requires: { connections: [openai] }
steps:
  - id: summarize
    llm: { connection: openai, model: gpt-4o-mini, prompt: "Summarize the incident", json_schema: ${SCHEMA} }
  - id: title
    transform: "steps.summarize.output.json.title & ' (' & steps.summarize.output.json.status & ')'"
`,
  `slug: llm_retried
requires: { connections: [openai] }
steps:
  - id: ask
    llm: { connection: openai, model: gpt-4o-mini, prompt: "hi" }
    retry: { attempts: 3, backoff: 10ms }
`,
  `slug: llm_revoked
requires: { connections: [openai_revoked] }
steps:
  - id: ask
    llm: { connection: openai_revoked, model: gpt-4o-mini, prompt: "hi" }
    retry: { attempts: 3, backoff: 10ms }
`,
  `slug: llm_wrong_type
requires: { connections: [build_vm] }
steps:
  - id: ask
    llm: { connection: build_vm, model: gpt-4o-mini, prompt: "hi" }
    retry: { attempts: 3, backoff: 10ms }
`,
  `slug: llm_usage
requires: { connections: [openai] }
steps:
  - id: ask
    llm: { connection: openai, model: gpt-4o-mini, prompt: "hi", json_schema: ${SCHEMA} }
    retry: { attempts: 2, backoff: 10ms }
`,
]

describe('the llm step', () => {
  let server: TestServer
  let fake: FakeOpenAI
  const runIds: string[] = []

  async function run(flow: string, inputs: Record<string, unknown> = {}): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const id = (started.body.data as Json).run.id
    runIds.push(id)
    return (await runReaches(server, id, TERMINAL)).run
  }

  async function stepOf(runId: string, step: string): Promise<Json> {
    const detail = await showRun(server, runId)
    return detail.steps.find((s: Json) => s.step === step)
  }

  const chats = () => fake.requests.filter((r) => r.path === '/v1/chat/completions')

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY })
    server = await startTestServer()
    const put = async (path: string, body: unknown) => {
      const res = await api(server, 'PUT', path, body)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }
    await put('/api/v1/secrets/openai_key', { value: API_KEY })
    await put('/api/v1/secrets/revoked_key', { value: WRONG_KEY })
    await put('/api/v1/secrets/vm_password', { value: 'vm-password-not-used' })
    const http = (secret: string) => ({ type: 'http', base_url: fake.url, auth: { type: 'bearer', secret } })
    await put('/api/v1/connections/openai', http('openai_key'))
    await put('/api/v1/connections/openai_revoked', http('revoked_key'))
    await put('/api/v1/connections/build_vm', {
      type: 'ssh',
      host: '127.0.0.1',
      user: 'agent',
      password_secret: 'vm_password',
    })
    for (const flow of FLOWS) await pushRelease(server, flow)
  })
  beforeEach(() => fake.reset())
  afterAll(async () => {
    await server?.close()
    await fake?.close()
  })

  it('sends a prompt as one user message to <base>/chat/completions with the bearer key, and outputs the reply', async () => {
    const done = await run('llm_plain', { topic: 'durable runs' })
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded')
    const [request] = chats()
    expect(chats()).toHaveLength(1)
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(request?.headers['content-type']).toBe('application/json')
    expect(request?.headers['idempotency-key']).toBe(`${done.id}:ask:1`)
    expect(request?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello about durable runs' }],
    })
    const step = await stepOf(done.id, 'ask')
    expect(step.output).toEqual({
      text: 'echo: Say hello about durable runs',
      json: null,
      model: 'gpt-4o-mini',
      finish_reason: 'stop',
      usage: { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 },
    })
  })

  it('sends system first, then the messages with their templates evaluated, temperature and max_tokens', async () => {
    fake.reply({ content: 'Three.', model: 'gpt-4o-mini-2024-07-18', finish_reason: 'length' })
    const done = await run('llm_messages', { who: 'Ada' })
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded')
    expect(chats()[0]?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You answer in one line.' },
        { role: 'user', content: 'I am Ada.' },
        { role: 'assistant', content: 'Hello Ada.' },
        { role: 'user', content: 'Count: 3' },
      ],
      temperature: 0.2,
      max_tokens: 64,
    })
    const step = await stepOf(done.id, 'chat')
    expect(step.output).toMatchObject({ text: 'Three.', model: 'gpt-4o-mini-2024-07-18', finish_reason: 'length' })
  })

  it('sends json_schema as a strict response_format and outputs the parsed reply for later steps', async () => {
    fake.reply({ json: { title: 'Checkout is down', status: 'open' } })
    const done = await run('llm_structured')
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded')
    expect(chats()[0]?.body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'summarize',
        strict: true,
        schema: {
          type: 'object',
          additionalProperties: false,
          required: ['title', 'status'],
          properties: { title: { type: 'string' }, status: { enum: ['open', 'closed'] } },
        },
      },
    })
    expect((await stepOf(done.id, 'summarize')).output.json).toEqual({ title: 'Checkout is down', status: 'open' })
    expect(done.output).toBe('Checkout is down (open)')
  })

  it('fails with llm_output_invalid, naming the problems, when the reply breaks json_schema', async () => {
    fake.reply({ content: '{"title": 42, "status": "lost"}' })
    const done = await run('llm_structured')
    expect(done.status).toBe('failed')
    expect(done.error.code).toBe('llm_output_invalid')
    expect(done.error.message).toContain('/title must be string')
    expect(done.error.message).toContain('/status must be equal to one of the allowed values')
    expect(done.error.details.problems.map((p: Json) => p.path)).toEqual(['/title', '/status'])
    expect(done.error.details.text).toBe('{"title": 42, "status": "lost"}')

    fake.reply({ content: 'Sure! Here is the summary: …' })
    const prose = await run('llm_structured')
    expect([prose.status, prose.error.code]).toEqual(['failed', 'llm_output_invalid'])
    expect(prose.error.message).toMatch(/^The reply is not JSON/)
  })

  it('waits at least Retry-After after a 429, then succeeds within retry', async () => {
    fake.reply({ status: 429, retryAfter: 1 }, { content: 'finally' })
    const done = await run('llm_retried')
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded')
    const [first, second] = chats()
    expect(chats().map((r) => r.status)).toEqual([429, 200])
    // The backoff is 10ms; only the Retry-After can have held the second attempt back this long.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000)
    const retrying = (await runEvents(server, done.id)).filter((e: Json) => e.type === 'step.retrying')
    expect(retrying.map((e: Json) => [e.data.attempt, e.data.delay_ms, e.data.error.code])).toEqual([
      [1, 1000, 'llm_rate_limited'],
    ])
    expect((await stepOf(done.id, 'ask')).attempt).toBe(2)
  })

  it('retries a 500 and succeeds', async () => {
    fake.reply({ status: 500 }, { content: 'recovered' })
    const done = await run('llm_retried')
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded')
    expect(chats().map((r) => r.status)).toEqual([500, 200])
    const retrying = (await runEvents(server, done.id)).filter((e: Json) => e.type === 'step.retrying')
    expect(retrying.map((e: Json) => e.data.error.code)).toEqual(['llm_api_error'])
    expect((await stepOf(done.id, 'ask')).output.text).toBe('recovered')
  })

  it('fails a 401 at once with llm_auth_failed, without retrying, and masks the key the API echoed', async () => {
    const done = await run('llm_revoked')
    expect(done.status).toBe('failed')
    expect(done.error.code).toBe('llm_auth_failed')
    expect(done.error.message).toMatch(/^POST \/v1\/chat\/completions answered 401 \(invalid_api_key\): /)
    expect(done.error.message).toContain('Incorrect API key provided: ***')
    expect(chats().map((r) => r.status)).toEqual([401])
    expect((await runEvents(server, done.id)).filter((e: Json) => e.type === 'step.retrying')).toEqual([])
  })

  it('fails at once when the connection is not an http connection', async () => {
    const done = await run('llm_wrong_type')
    expect([done.status, done.error.code]).toEqual(['failed', 'connection_not_found'])
    expect(done.error.message).toBe("The llm step needs an http connection named 'build_vm'.")
    expect(chats()).toEqual([])
  })

  it("keeps to the connection's origin: a redirect elsewhere fails the step and the other host gets nothing", async () => {
    const elsewhere = await startFakeOpenAI({ apiKey: API_KEY })
    try {
      fake.reply({ raw: '', status: 307, headers: { location: `${elsewhere.url}/chat/completions` } })
      const done = await run('llm_plain', { topic: 'redirects' })
      expect([done.status, done.error.code]).toEqual(['failed', 'connection_origin_mismatch'])
      expect(chats().map((r) => r.status)).toEqual([307])
      expect(elsewhere.requests).toEqual([])
    } finally {
      await elsewhere.close()
    }
  })

  it('counts the tokens of every llm execution per flow in usage, beside the executions', async () => {
    fake.reply(
      { status: 429, retryAfter: '0' },
      { json: { title: 'a', status: 'open' }, usage: { prompt_tokens: 11, completion_tokens: 7 } },
      { content: '{"title": 1}', usage: { prompt_tokens: 5, completion_tokens: 3 } },
    )
    expect((await run('llm_usage')).status).toBe('succeeded')
    expect((await run('llm_usage')).status).toBe('failed')
    const month = new Date().toISOString().slice(0, 7)
    const usage = (await api(server, 'GET', `/api/v1/usage?month=${month}`)).body.data as Json
    expect(usage.usage.flows.find((f: Json) => f.flow === 'llm_usage')).toEqual({
      flow: 'llm_usage',
      executions: 3,
      by_kind: { llm: 3 },
      tokens: { prompt: 16, completion: 10, total: 26 },
    })
    const sum = usage.usage.flows.reduce((n: number, f: Json) => n + (f.tokens?.total ?? 0), 0)
    expect(usage.usage.tokens.total).toBe(sum)
    // A flow without llm steps shows no tokens; the CLI prints the same report.
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    const cli = await runCli(['usage', '--month', month], { env })
    expect(cli.code, cli.stdout).toBe(0)
    expect(cli.json.data.usage).toEqual(usage.usage)
  })

  it('never shows an API key in run events, outputs, errors or step results', async () => {
    expect(runIds.length).toBeGreaterThanOrEqual(10)
    for (const id of runIds) {
      const text = JSON.stringify([await showRun(server, id), await runEvents(server, id)])
      expect(text).not.toContain(API_KEY)
      expect(text).not.toContain(WRONG_KEY)
    }
  })
})
