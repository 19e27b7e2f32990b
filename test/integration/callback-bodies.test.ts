// What an agent (or an attacker holding a callback URL) can send: bodies are counted while they stream and cut at
// the limit, bytes that are not UTF-8 and JSON nested too deeply are refused with a 4xx, and nothing sent makes the
// server answer 5xx or stop answering.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: bodies
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: {}
`

const LIMIT = 1024 * 1024

describe('callback bodies', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_MAX_BODY_BYTES: String(LIMIT) })
    await pushRelease(server, FLOW)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** A fresh run parked on its wait, with the wait's callback URL and id. */
  async function parked(): Promise<{ runId: string; url: string; waitId: string }> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'bodies', inputs: {} })
    const runId = (started.body.data as Json).run.id
    const shown = await runReaches(server, runId, ['waiting'])
    const url = shown.steps.find((s: Json) => s.step === 'hand_out').output as string
    return { runId, url, waitId: shown.run.waiting_on.wait_id }
  }

  const post = (url: string, body: Uint8Array | string, type = 'application/json') =>
    fetch(url, { method: 'POST', headers: { 'content-type': type }, body })

  it('stops reading a chunked body at the limit and answers 413 without holding it', async () => {
    const { url, runId } = await parked()
    const rssBefore = process.memoryUsage().rss
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    const total = 400 // MiB offered; the server may read at most the limit
    const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0
      let answered = false
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        answered = true
        res.resume()
        resolve({ status: res.statusCode ?? 0, sent })
        req.destroy()
      })
      req.on('error', (error) => {
        if (!answered) reject(error)
      })
      const pump = () => {
        while (!answered && sent < total) {
          sent++
          if (!req.write(chunk)) return void req.once('drain', pump)
        }
        if (!answered) req.end()
      }
      pump()
    })
    expect(status).toBe(413)
    expect(sent).toBeLessThan(total) // answered long before the body ended
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024)
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting') // changed nothing
  })

  it('refuses a declared length over the limit before reading it', async () => {
    const { url } = await parked()
    const answer = await post(url, 'x'.repeat(LIMIT + 1))
    expect(answer.status).toBe(413)
    expect(((await answer.json()) as Json).error.code).toBe('payload_too_large')
  })

  it('answers 400 json_too_deep for JSON nested 100,000 deep, in a callback and in waits complete', async () => {
    const { url, waitId, runId } = await parked()
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const answer = await post(url, deep)
    expect(answer.status).toBe(400)
    expect(((await answer.json()) as Json).error.code).toBe('json_too_deep')
    const response = await fetch(`${server.url}/api/v1/waits/${waitId}/complete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: `{"payload": ${deep}}`,
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as Json).error.code).toBe('json_too_deep')
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting')
  })

  it('answers 400 invalid_encoding for bytes that are not UTF-8, and stores nothing', async () => {
    const { url, runId } = await parked()
    const answer = await post(url, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]))
    expect(answer.status).toBe(400)
    expect(((await answer.json()) as Json).error.code).toBe('invalid_encoding')
    const heartbeat = await post(`${url}/heartbeat`, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))
    expect(heartbeat.status).toBe(400)
    expect((await runReaches(server, runId, ['waiting'])).run.status).toBe('waiting')
  })

  it('never answers 5xx to random bytes, random nesting and truncated JSON, and stays healthy', async () => {
    let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
    const context = `seed ${seed}`
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const { url } = await parked()
    const shapes = [
      () => Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))),
      () => {
        const depth = Math.floor(random() * 2_000)
        return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
      },
      () => {
        const text = JSON.stringify({ summary: 'x'.repeat(Math.floor(random() * 200)), n: random() })
        return text.slice(0, Math.floor(random() * text.length))
      },
      () => `[${'"\\'.repeat(Math.floor(random() * 20))}`,
    ]
    for (let i = 0; i < 120; i++) {
      const body = (shapes[i % shapes.length] as () => Uint8Array | string)()
      const target = [url, `${url}/heartbeat`, `${url}/fail`][i % 3] as string
      const answer = await post(target, body)
      await answer.arrayBuffer()
      expect(answer.status, `${context}: ${target} ${String(body).slice(0, 80)}`).toBeLessThan(500)
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })
})
