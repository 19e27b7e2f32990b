// Greenlight on a real libSQL server (sqld over HTTP, as several machines would share it): a run parks on a wait,
// resumes from its callback exactly once, passes an approval quorum, uses kv and the FTS5 search index, and its audit
// chain verifies; a server restarted on the same sqld sees it all.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'
import { startSqld, type TestSqld } from '../support/sqld.ts'

const FLOW = `slug: sqld_roundtrip
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait:
      timeout: 1h
      schema: { type: object, required: [summary] }
  - id: count
    kv: { op: incr, key: "sqld-count" }
  - id: review
    approval:
      message: "Ship {{ steps.agent.output.summary }}?"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
  - id: find
    search: { query: "zebracorn", in: [runs] }
  - id: finish
    transform: "{{ { 'decision': steps.review.output.decision, 'hits': $count(steps.find.output.hits), 'count': steps.count.output.value } }}"
`

// Hrana over HTTP (http://, https://) and over WebSockets (ws://, and libsql:// by default) are both supported.
describe.each(['http', 'ws'])('Greenlight on sqld over %s', (scheme) => {
  let sqld: TestSqld
  let server: TestServer
  const env = (): Record<string, string> => ({
    DATABASE_URL: `${scheme}://127.0.0.1:${sqld.port}`,
    GREENLIGHT_SECRET_KEY: KEY.toString('base64'),
  })
  const KEY = randomBytes(32)
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    sqld = await startSqld()
    server = await startTestServer(env())
    await pushRelease(server, FLOW)
    tokens.ann = (await mintToken(server, 'ann', ['approvals:decide'], 'U0ANN')).secret
    tokens.bob = (await mintToken(server, 'bob', ['approvals:decide'], 'U0BOB')).secret
  })
  afterAll(async () => {
    await server?.close()
    await sqld?.stop()
  })

  it('is ready on sqld: migrations applied through the server', async () => {
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
  })

  it('parks a run, resumes it from its callback exactly once, and finishes after a quorum of two', async () => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'sqld_roundtrip', wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const id = (started.body.data as Json).run.id as string
    const parked = await runReaches(server, id, ['waiting'])
    expect(parked.run.waiting_on).toMatchObject({ step: 'agent', kind: 'wait' })
    const handOut = (await showRun(server, id)).steps.find((s: Json) => s.step === 'hand_out')
    const token = String(handOut?.output).split('/callbacks/')[1]
    const post = (body: unknown) =>
      fetch(`${server.url}/callbacks/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })

    // A payload that misses the schema leaves the wait open; the right one resumes it; a repeat is the same result.
    expect((await post({ nope: 1 })).status).toBe(422)
    const [first, repeat] = await Promise.all([post({ summary: 'zebracorn fix' }), post({ summary: 'zebracorn fix' })])
    expect([first.status, repeat.status].sort()).toEqual([200, 202])
    expect((await post({ summary: 'other' })).status).toBe(409)

    const waitId = await eventually(async () => {
      const shown = await showRun(server, id)
      return shown.run.waiting_on?.kind === 'approval' ? (shown.run.waiting_on.wait_id as string) : undefined
    }, 'the run to park on its approval')
    const vote = (token: string) => api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, token)
    expect(((await vote(tokens.ann as string)).body.data as Json).vote).toMatchObject({ recorded: true })
    expect(((await vote(tokens.ann as string)).body.data as Json).vote).toMatchObject({ recorded: false })
    expect(((await vote(tokens.bob as string)).body.data as Json).vote).toMatchObject({ outcome: 'approved' })

    const done = await runReaches(server, id, ['succeeded', 'failed'])
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.run.output).toMatchObject({ decision: 'approved', count: 1 })
    expect(done.run.output.hits).toBeGreaterThanOrEqual(1)
    const events = await runEvents(server, id)
    expect(events.filter((e: Json) => e.type === 'step.succeeded' && e.step === 'agent')).toHaveLength(1)
    expect(events.filter((e: Json) => e.type === 'run.succeeded')).toHaveLength(1)
    const audit = await api(server, 'GET', `/api/v1/runs/${id}/audit`)
    expect((audit.body.data as Json).audit.ok).toBe(true)
  })

  it('waits out an outage of sqld: not ready while it is down, and a parked run resumes once it is back', async () => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'sqld_roundtrip', wait: true })
    const id = (started.body.data as Json).run.id as string
    await runReaches(server, id, ['waiting'])
    const token = String((await showRun(server, id)).steps.find((s: Json) => s.step === 'hand_out')?.output).split(
      '/callbacks/',
    )[1]
    const post = (summary: string) =>
      fetch(`${server.url}/callbacks/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ summary }),
      })
    await sqld.kill()
    await eventually(async () => ((await fetch(`${server.url}/readyz`)).status === 503 ? true : undefined), 'not ready')
    // A callback while the database is gone is refused, not half-taken: the agent retries it.
    const during = await post('during the outage')
    expect(during.status).toBeGreaterThanOrEqual(500)
    await sqld.restart()
    await eventually(async () => ((await fetch(`${server.url}/readyz`)).status === 200 ? true : undefined), 'ready')
    expect((await post('after the outage')).status).toBe(202)
    const shown = await eventually(async () => {
      const run = await showRun(server, id)
      return run.run.waiting_on?.kind === 'approval' ? run : undefined
    }, 'the run to reach its approval after the outage')
    expect(shown.steps.find((s: Json) => s.step === 'agent')?.output).toEqual({ summary: 'after the outage' })
    expect(((await api(server, 'POST', `/api/v1/runs/${id}/cancel`, {})).body.data as Json).run.status).toBe('canceled')
  })

  it('keeps everything on the server: a new instance on the same sqld finds the run and verifies it', async () => {
    const listed = await api(server, 'GET', '/api/v1/runs?flow=sqld_roundtrip&status=succeeded')
    const id = ((listed.body.data as Json).runs as Json[])[0]?.id as string
    expect(id).toMatch(/^run_/)
    await server.close()
    server = await startTestServer(env())
    const shown = await showRun(server, id)
    expect(shown.run.status).toBe('succeeded')
    const audit = await api(server, 'GET', `/api/v1/runs/${id}/audit`)
    expect((audit.body.data as Json).audit.ok).toBe(true)
  })
})
