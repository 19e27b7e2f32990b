// What an agent (or an attacker holding a callback URL) can send: bodies are counted while they stream and cut at
// the limit, bytes that are not UTF-8 and JSON nested too deeply are refused with a 4xx, and nothing sent makes the
// server answer 5xx or stop answering. The API and webhook routes share the reader and are held to the same.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../../src/core/json-depth.ts'
import { createRandom, fuzzRuns, fuzzSeed } from '../support/fuzz-env.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: bodies
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: {}
`

// Random bodies never carry this field, so the wait stays open and every body goes through parsing and the schema.
const STRICT_FLOW = `slug: bodies_strict
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: { schema: { type: object, required: [never_sent] } }
`

const HOOK_FLOW = `slug: bodies_hook
triggers:
  webhook: { auth: bearer, secret: bodies_hook_token }
steps:
  - id: hello
    transform: "hi"
`

const LIMIT = 256 * 1024
const MiB = 1024 * 1024

interface Answer {
  status: number
  code: string | undefined
  /** MiB the client had handed to its socket when the answer came. */
  sentMiB: number
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as Json).error?.code
  } catch {
    return undefined
  }
}

/**
 * Sends `totalMiB` of spaces, chunked or under a declared length, and stops writing as soon as the server answers.
 * `declared` sends that content-length instead of chunking (the body sent is still at most `totalMiB`).
 */
function upload(
  url: string,
  totalMiB: number,
  options: { headers?: Record<string, string>; declared?: number } = {},
): Promise<Answer> {
  const chunk = Buffer.alloc(MiB, 0x20)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  if (options.declared !== undefined) headers['content-length'] = String(options.declared)
  return new Promise((resolve, reject) => {
    let sentMiB = 0
    let answered = false
    const req = request(url, { method: 'POST', headers }, (res) => {
      answered = true
      let text = ''
      const done = () => {
        resolve({ status: res.statusCode ?? 0, code: errorCode(text), sentMiB })
        req.destroy()
      }
      res.setEncoding('utf8')
      res.on('data', (part: string) => {
        text += part
      })
      res.on('end', done)
      res.on('error', done)
    })
    req.on('error', (error) => {
      // Once answered, the server closing the connection under our writes is the point.
      if (!answered) reject(error)
    })
    const pump = () => {
      while (!answered && sentMiB < totalMiB) {
        sentMiB++
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      // A declared length is never reached: the answer must come without the rest of the body.
      if (!answered && options.declared === undefined) req.end()
    }
    pump()
  })
}

const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`

describe('callback bodies', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_MAX_BODY_BYTES: String(LIMIT) })
    for (const flow of [FLOW, STRICT_FLOW, HOOK_FLOW]) await pushRelease(server, flow)
    const secret = await api(server, 'PUT', '/api/v1/secrets/bodies_hook_token', { value: 'a-long-hook-token' })
    expect(secret.status, JSON.stringify(secret.body)).toBeLessThan(300)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** A fresh run parked on its wait, with the wait's callback URL and id. */
  async function parked(flow = 'bodies'): Promise<{ runId: string; url: string; waitId: string }> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {} })
    const runId = (started.body.data as Json).run.id
    const shown = await runReaches(server, runId, ['waiting'])
    const url = shown.steps.find((s: Json) => s.step === 'hand_out').output as string
    return { runId, url, waitId: shown.run.waiting_on.wait_id }
  }

  const post = (url: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  const auth = () => ({ authorization: `Bearer ${server.token}` })
  const runCount = async () => ((await api(server, 'GET', '/api/v1/runs?limit=500')).body.data as Json).runs.length

  async function expectRefused(response: Response, status: number, code: string, label: string) {
    const text = await response.text()
    expect(response.status, `${label}: ${text}`).toBe(status)
    expect(errorCode(text), label).toBe(code)
  }

  it('stops reading a chunked body at the limit and answers 413 without holding it', async () => {
    const { url, runId } = await parked()
    const rssBefore = process.memoryUsage().rss
    const answer = await upload(url, 400)
    expect(answer).toMatchObject({ status: 413, code: 'payload_too_large' })
    expect(answer.sentMiB).toBeLessThan(400) // answered long before the body ended
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MiB)
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting') // changed nothing
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })

  it('cuts chunked bodies at the limit on heartbeat, fail, the API and webhooks too', async () => {
    const { url, waitId, runId } = await parked()
    const before = await runCount()
    const rssBefore = process.memoryUsage().rss
    for (const [label, target, headers] of [
      ['heartbeat', `${url}/heartbeat`, {}],
      ['fail', `${url}/fail`, {}],
      ['runs start', `${server.url}/api/v1/runs`, auth()],
      ['waits complete', `${server.url}/api/v1/waits/${waitId}/complete`, auth()],
      ['webhook', `${server.url}/hooks/bodies_hook`, {}],
    ] as const) {
      const answer = await upload(target, 200, { headers })
      expect(answer, label).toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(answer.sentMiB, label).toBeLessThan(200)
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MiB)
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting')
    expect(await runCount()).toBe(before)
  })

  it('refuses a declared length over the limit before reading the body', async () => {
    const { url, waitId } = await parked()
    // 10 GiB declared, 1 MiB sent and the request left open: only an answer from the headers alone can arrive.
    for (const [label, target, headers] of [
      ['callback', url, {}],
      ['heartbeat', `${url}/heartbeat`, {}],
      ['waits complete', `${server.url}/api/v1/waits/${waitId}/complete`, auth()],
      ['webhook', `${server.url}/hooks/bodies_hook`, {}],
    ] as const) {
      const answer = await upload(target, 1, { headers, declared: 10 * 1024 * MiB })
      expect(answer, label).toMatchObject({ status: 413, code: 'payload_too_large', sentMiB: 1 })
    }
  })

  it('answers 400 json_too_deep for JSON nested 100,000 deep, in a callback and in waits complete', async () => {
    const { url, waitId, runId } = await parked()
    const before = await runCount()
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    await expectRefused(await post(url, deep), 400, 'json_too_deep', 'callback')
    // Heartbeat and fail bodies are capped at 64 KiB: as deep as fits.
    const small = `${'['.repeat(30_000)}${']'.repeat(30_000)}`
    await expectRefused(await post(`${url}/heartbeat`, `{"progress":${small}}`), 400, 'json_too_deep', 'heartbeat')
    await expectRefused(await post(`${url}/fail`, `{"reason":${small}}`), 400, 'json_too_deep', 'fail')
    const complete = `${server.url}/api/v1/waits/${waitId}/complete`
    await expectRefused(await post(complete, `{"payload": ${deep}}`, auth()), 400, 'json_too_deep', 'waits complete')
    const start = `{"flow":"bodies","inputs":{"x":${deep}}}`
    await expectRefused(await post(`${server.url}/api/v1/runs`, start, auth()), 400, 'json_too_deep', 'runs start')
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting')
    expect(await runCount()).toBe(before)
  })

  it(`accepts JSON nested ${MAX_JSON_DEPTH} deep and carries it through the run; one level more is refused`, async () => {
    const { url, runId } = await parked()
    await expectRefused(await post(url, nested(MAX_JSON_DEPTH + 1)), 400, 'json_too_deep', 'one level over')
    const accepted = await post(url, nested(MAX_JSON_DEPTH, '"bottom"'))
    expect(accepted.status, await accepted.text()).toBe(202)
    // Storage, redaction, hashing and the views walk the payload: at the limit none of them may overflow the stack.
    const shown = await runReaches(server, runId, ['succeeded'])
    let output = shown.steps.find((s: Json) => s.step === 'agent').output
    for (let level = 0; level < MAX_JSON_DEPTH; level++) output = output.a
    expect(output).toBe('bottom')
    expect((await api(server, 'GET', `/api/v1/runs/${runId}/events`)).status).toBe(200)
    const audit = await api(server, 'GET', `/api/v1/runs/${runId}/audit`)
    expect(audit.status, JSON.stringify(audit.body)).toBe(200)
  })

  it('answers 400 invalid_encoding for bytes that are not UTF-8, and stores nothing', async () => {
    const { url, runId } = await parked()
    const before = await runCount()
    const bad = [
      [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d], // {"a":"\xff\xfe"}
      [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d], // an overlong '/'
      [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d], // a UTF-16 surrogate
      [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe6, 0xbc, 0x22, 0x7d], // a sequence cut short
    ].map((bytes) => Buffer.from(bytes))
    for (const body of bad) {
      const label = body.toString('hex')
      await expectRefused(await post(url, body), 400, 'invalid_encoding', `callback ${label}`)
      await expectRefused(await post(`${url}/heartbeat`, body), 400, 'invalid_encoding', `heartbeat ${label}`)
      await expectRefused(await post(`${url}/fail`, body), 400, 'invalid_encoding', `fail ${label}`)
      const start = Buffer.concat([Buffer.from('{"flow":"bodies","inputs":{},"x":'), body, Buffer.from('}')])
      await expectRefused(await post(`${server.url}/api/v1/runs`, start, auth()), 400, 'invalid_encoding', 'runs')
    }
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting')
    expect(await runCount()).toBe(before)
    // Valid multi-byte text still goes through, byte for byte.
    const accepted = await post(url, JSON.stringify({ summary: 'é漢🚀' }))
    expect(accepted.status, await accepted.text()).toBe(202)
    const shown = await runReaches(server, runId, ['succeeded'])
    expect(shown.steps.find((s: Json) => s.step === 'agent').output).toEqual({ summary: 'é漢🚀' })
  })

  it('never answers 5xx to random bytes, random nesting and truncated JSON, and stays healthy', async () => {
    const seed = fuzzSeed(Date.now() % 1_000_000)
    const random = createRandom(seed)
    const { url, waitId } = await parked('bodies_strict')
    /** Arrays and objects mixed, up to 200,000 deep (log-uniform, so shallow and deep both come up often). */
    const randomNesting = () => {
      const depth = Math.floor(2 ** (random.next() * 17.6))
      const opens: string[] = []
      for (let i = 0; i < depth; i++) opens.push(random.chance(0.5) ? '[' : `{${JSON.stringify(random.string(2))}:`)
      const closes = opens.map((open) => (open === '[' ? ']' : '}')).reverse()
      return { depth, text: `${opens.join('')}${JSON.stringify(random.string(3))}${closes.join('')}` }
    }
    type Body = { body: Buffer | string; depth?: number }
    const shapes: Array<[string, () => Body]> = [
      ['bytes', () => ({ body: random.bytes(random.int(128)) })],
      ['nesting', () => (({ depth, text }) => ({ body: text, depth }))(randomNesting())],
      ['truncated nesting', () => (({ text }) => ({ body: text.slice(0, random.int(text.length)) }))(randomNesting())],
      [
        'truncated json',
        () => {
          const text = JSON.stringify({ summary: random.string(random.int(200)), n: random.next(), list: [1, [2]] })
          return { body: text.slice(0, random.int(text.length + 1)) }
        },
      ],
      [
        'json with a byte changed',
        () => {
          const bytes = Buffer.from(JSON.stringify({ summary: random.string(random.int(50)) }))
          bytes[random.int(bytes.length)] = random.int(256)
          return { body: bytes }
        },
      ],
    ]
    const targets = [url, `${url}/heartbeat`, `${url}/fail`, `${server.url}/api/v1/waits/${waitId}/complete`]
    const runs = fuzzRuns(150)
    let tooDeep = 0
    for (let i = 0; i < runs; i++) {
      const [shape, make] = random.pick(shapes)
      const { body, depth } = make()
      const target = random.pick(targets)
      const isApi = target.includes('/api/')
      const sent = isApi ? Buffer.concat([Buffer.from('{"payload":'), Buffer.from(body), Buffer.from('}')]) : body
      const answer = await post(target, sent, isApi ? auth() : {})
      const text = await answer.text()
      const label = `FUZZ_SEED=${seed} #${i} ${shape} → ${target.split('/').slice(-2).join('/')}: ${text.slice(0, 200)}`
      expect(answer.status, label).toBeLessThan(500)
      const limit = /\/(heartbeat|fail)$/.test(target) ? 64 * 1024 : LIMIT
      if (Buffer.byteLength(sent) > limit)
        expect([answer.status, errorCode(text)], label).toEqual([413, 'payload_too_large'])
      else if (depth !== undefined && depth + (isApi ? 1 : 0) > MAX_JSON_DEPTH) {
        tooDeep++
        expect([answer.status, errorCode(text)], label).toEqual([400, 'json_too_deep'])
      }
    }
    expect(tooDeep, `FUZZ_SEED=${seed}: some bodies nest past the limit`).toBeGreaterThan(0)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })
})
