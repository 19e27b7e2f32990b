// Template results in text fields follow one rule (toText): a missing optional query parameter or header is left
// out instead of sent as "undefined", an object body goes out as JSON, and a number works as a kv key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

describe('typed values in text fields', () => {
  let server: TestServer
  let target: HttpTarget

  const run = async (flow: string, inputs: Record<string, unknown> = {}): Promise<Json> => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return runReaches(server, (started.body.data as Json).run.id, TERMINAL)
  }
  const outputOf = (shown: Json, step: string): Json => shown.steps.find((s: Json) => s.step === step)?.output

  beforeAll(async () => {
    server = await startTestServer()
    target = await startHttpTarget()
  })
  afterAll(async () => {
    await target.close()
    await server.close()
  })

  it('leaves out a query parameter and a header whose template found nothing, and keeps the others', async () => {
    await pushRelease(
      server,
      `slug: tt_query
inputs:
  q: { type: string, required: false }
  page: { type: integer, default: 2 }
  trace: { type: string, required: false }
steps:
  - id: call
    http:
      url: "${target.url}/search"
      query: { q: "{{ inputs.q }}", page: "{{ inputs.page }}", flag: true, both: "a{{ inputs.q }}b" }
      headers: { x-trace: "{{ inputs.trace }}", x-page: "{{ inputs.page }}" }
`,
    )
    const before = target.requests.length
    const shown = await run('tt_query')
    expect(shown.run.status, JSON.stringify(shown.run.error)).toBe('succeeded')
    const sent = target.requests[before]
    expect(sent?.path).toBe('/search?page=2&flag=true&both=ab')
    expect(sent?.headers['x-trace']).toBeUndefined()
    expect(sent?.headers['x-page']).toBe('2')
  })

  it('sends an object body as JSON with content-type application/json, and a number as its digits', async () => {
    await pushRelease(
      server,
      `slug: tt_body
steps:
  - id: make
    transform: '{{ {"issue": 42, "labels": ["bug"]} }}'
  - id: post_object
    http: { method: POST, url: "${target.url}/object", body: "{{ steps.make.output }}" }
  - id: post_number
    http: { method: POST, url: "${target.url}/number", body: "{{ steps.make.output.issue }}" }
  - id: post_typed
    http:
      method: POST
      url: "${target.url}/typed"
      headers: { content-type: text/plain }
      body: "{{ steps.make.output }}"
`,
    )
    const before = target.requests.length
    const shown = await run('tt_body')
    expect(shown.run.status, JSON.stringify(shown.run.error)).toBe('succeeded')
    const [object, number, typed] = target.requests.slice(before)
    expect(object?.body).toBe('{"issue":42,"labels":["bug"]}')
    expect(object?.headers['content-type']).toBe('application/json')
    expect(number?.body).toBe('42')
    // A content type the flow chose is kept.
    expect(typed?.headers['content-type']).toBe('text/plain')
    expect(typed?.body).toBe('{"issue":42,"labels":["bug"]}')
  })

  it('takes a number as a kv key, from a template or written as a YAML integer', async () => {
    await pushRelease(
      server,
      `slug: tt_kv
inputs:
  n: { type: integer, default: 7 }
steps:
  - id: count
    kv: { op: incr, key: "{{ inputs.n }}" }
  - id: literal
    kv: { op: incr, key: 7 }
  - id: read
    kv: { op: get, key: "7" }
`,
    )
    const shown = await run('tt_kv')
    expect(shown.run.status, JSON.stringify(shown.run.error)).toBe('succeeded')
    expect(outputOf(shown, 'count')).toMatchObject({ key: '7', value: 1 })
    expect(outputOf(shown, 'literal')).toMatchObject({ key: '7', value: 2 })
    expect(outputOf(shown, 'read')).toMatchObject({ key: '7', value: 2 })
  })

  it('says which text field a template left empty where the field needs text', async () => {
    await pushRelease(
      server,
      `slug: tt_empty_key
inputs:
  name: { type: string, required: false }
steps:
  - id: count
    kv: { op: incr, key: "{{ inputs.name }}" }
`,
    )
    const shown = await run('tt_empty_key')
    expect(shown.run.status).toBe('failed')
    expect(shown.run.error).toMatchObject({ code: 'invalid_key' })
  })
})
