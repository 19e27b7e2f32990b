// A body that is not JSON is told what is wrong and where (415, the parser's message, its position), on the callback,
// /heartbeat and /fail alike; JSON is read as JSON whatever its content type, on callbacks and on the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Json, pushRelease, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: cb_errors
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: { timeout: 1h }
`

describe('callback body errors', () => {
  let server: TestServer

  const post = async (path: string, body: string, contentType = 'application/json') => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    })
    const text = await res.text()
    return { status: res.status, text, body: JSON.parse(text) as Json }
  }
  const openWait = async (): Promise<{ runId: string; url: string }> => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'cb_errors' })
    const runId = (started.body.data as Json).run.id
    await runReaches(server, runId, ['waiting'])
    const handOut = (await showRun(server, runId)).steps.find((s: Json) => s.step === 'hand_out')
    return { runId, url: new URL(String(handOut.output)).pathname }
  }

  beforeAll(async () => {
    server = await startTestServer()
    await pushRelease(server, FLOW)
  })
  afterAll(async () => server.close())

  it("answers 415 with the parser's message and where it stopped, never advice about the content type", async () => {
    const { url } = await openWait()
    const cases: [string, string, { position: number; line: number; column: number }][] = [
      [url, 'diff: yes', { position: 0, line: 1, column: 1 }],
      [url, '{"diff": "a",\n "summary": x}', { position: 26, line: 2, column: 13 }],
      [url, '{"diff": "a", "summ', { position: 19, line: 1, column: 20 }],
      [`${url}/heartbeat`, '{"progress": ', { position: 13, line: 1, column: 14 }],
      [`${url}/heartbeat`, 'alive!', { position: 0, line: 1, column: 1 }],
      [`${url}/fail`, 'reason: broken', { position: 0, line: 1, column: 1 }],
    ]
    for (const [path, body, at] of cases) {
      const res = await post(path, body)
      const label = `${path.replace(url, 'callback')} ${JSON.stringify(body)} → ${res.text}`
      expect(res.status, label).toBe(415)
      expect(res.body.error.code, label).toBe('unsupported_media_type')
      expect(res.body.error.message, label).toMatch(/JSON/)
      expect(res.body.error.message, label).toContain(`line ${at.line}, column ${at.column}`)
      expect(res.body.error.details, label).toMatchObject(at)
      expect(`${res.body.error.message} ${res.body.error.hint ?? ''}`, label).not.toMatch(/send .*content-type/i)
    }
  })

  it('reads JSON whatever its content type, as curl -d sends it', async () => {
    const beat = await openWait()
    const form = 'application/x-www-form-urlencoded'
    expect((await post(`${beat.url}/heartbeat`, '{"progress": "half way"}', form)).status).toBe(200)
    const res = await post(beat.url, '{"done": true}', form)
    expect(res.status, res.text).toBe(202)
    const failed = await openWait()
    expect((await post(`${failed.url}/fail`, '{"reason": "disk full"}', 'text/plain')).status).toBe(202)
  })

  it('reads API bodies as JSON whatever their content type, and says where JSON that is not breaks', async () => {
    const headers = { authorization: `Bearer ${server.token}` }
    for (const type of ['application/x-www-form-urlencoded', 'Application/JSON; charset=UTF-8', 'text/plain']) {
      const res = await fetch(`${server.url}/api/v1/runs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': type },
        body: '{"flow": "cb_errors"}',
      })
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(201)
    }
    const broken = await fetch(`${server.url}/api/v1/runs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"flow": cb_errors}',
    })
    const body = (await broken.json()) as Json
    expect(broken.status).toBe(400)
    expect(body.error.code).toBe('invalid_json')
    expect(body.error.message).toContain('line 1, column 10')
    expect(body.error.message).not.toMatch(/content-type/i)
  })
})
