// A callback URL's heartbeat and /fail over the wait's whole life: before the wait opens they answer the same
// `not_started` that GET shows, and after the wait ended (whichever way it ended) both answer 409; none changes a thing.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const KEY = randomBytes(32)
const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

const LATER_FLOW = `slug: lc_later
steps:
  - id: nap
    sleep: { duration: 1h }
  - id: agent
    wait: { timeout: 30m }
`

const AGENT_FLOW = `slug: lc_agent
steps:
  - id: agent
    wait: { timeout: 30m }
    on_error: continue
  - id: finish
    transform: "'done'"
`

const JOB_FLOW = `slug: lc_job
steps:
  - id: agent
    job: { type: lc_lint, timeout: 30m }
`

/** A clock the test moves: a wait's timeout fires without sleeping through it. */
function drivenClock() {
  let offset = 0
  return {
    now: () => Date.now() + offset,
    advance(ms: number) {
      offset += ms
    },
  }
}

async function request(server: TestServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : undefined, text }
}

describe('callback lifecycle: heartbeat and /fail', () => {
  let server: TestServer
  const clock = drivenClock()
  const tokenOf = (runId: string, stepId = 'agent', visit = 1) => signCallbackToken(KEY, { runId, stepId, visit })

  async function start(flow: string): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run
  }

  /** Heartbeat and /fail against an ended wait: both 409 `wait_ended`, naming how it ended; nothing changes. */
  async function expectEnded(runId: string, how: string): Promise<void> {
    const token = tokenOf(runId)
    const before = await runEvents(server, runId)
    const beat = await request(server, 'POST', `/callbacks/${token}/heartbeat`, { progress: 'late', extend: '1h' })
    const fail = await request(server, 'POST', `/callbacks/${token}/fail`, { reason: 'late' })
    for (const [name, answer] of [
      ['heartbeat', beat],
      ['fail', fail],
    ] as const) {
      expect(answer.status, `${name} after ${how}: ${answer.text}`).toBe(409)
      expect(answer.body.error, `${name} after ${how}`).toMatchObject({ code: 'wait_ended', details: { status: how } })
    }
    expect((await request(server, 'GET', `/callbacks/${token}`)).body.data.wait.status).toBe(how)
    expect(await runEvents(server, runId)).toHaveLength(before.length)
  }

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_SECRET_KEY: KEY.toString('base64') }, { clock })
    for (const flow of [LATER_FLOW, AGENT_FLOW, JOB_FLOW]) await pushRelease(server, flow)
  })
  afterAll(async () => server?.close())

  it('before the wait opens: heartbeat and /fail answer 409 not_started, as GET shows, and change nothing', async () => {
    const run = await start('lc_later')
    expect(run.waiting_on).toMatchObject({ step: 'nap', kind: 'sleep' })
    const token = tokenOf(run.id)
    const shown = await request(server, 'GET', `/callbacks/${token}`)
    expect(shown.status).toBe(200)
    expect(shown.body.data.wait.status).toBe('not_started')
    const before = await runEvents(server, run.id)

    const beat = await request(server, 'POST', `/callbacks/${token}/heartbeat`, { progress: 'booting' })
    const fail = await request(server, 'POST', `/callbacks/${token}/fail`, { reason: 'no disk' })
    for (const answer of [beat, fail]) {
      expect(answer.status, answer.text).toBe(409)
      expect(answer.body.error).toMatchObject({ code: 'not_started' })
    }
    expect(await runEvents(server, run.id)).toHaveLength(before.length)
    expect((await showRun(server, run.id)).run).toMatchObject({ status: 'waiting', waiting_on: { step: 'nap' } })
    expect((await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`)).status).toBe(200)
  })

  it('after a callback completed the wait', async () => {
    const run = await start('lc_agent')
    expect((await request(server, 'POST', `/callbacks/${tokenOf(run.id)}`, { ok: true })).status).toBe(202)
    await runReaches(server, run.id, TERMINAL)
    await expectEnded(run.id, 'completed')
  })

  it('after waits complete completed it through the API', async () => {
    const run = await start('lc_agent')
    const done = await api(server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/complete`, { payload: {} })
    expect(done.status, JSON.stringify(done.body)).toBe(202)
    await runReaches(server, run.id, TERMINAL)
    await expectEnded(run.id, 'completed')
  })

  it('after a job was completed through waits complete', async () => {
    const run = await start('lc_job')
    const done = await api(server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/complete`, { payload: {} })
    expect(done.status, JSON.stringify(done.body)).toBe(202)
    await runReaches(server, run.id, TERMINAL)
    await expectEnded(run.id, 'completed')
  })

  it('after /fail failed it (the run goes on through on_error)', async () => {
    const run = await start('lc_agent')
    expect((await request(server, 'POST', `/callbacks/${tokenOf(run.id)}/fail`, { reason: 'x' })).status).toBe(202)
    expect((await runReaches(server, run.id, TERMINAL)).run.status).toBe('succeeded')
    await expectEnded(run.id, 'failed')
  })

  it('after it timed out', async () => {
    const run = await start('lc_agent')
    clock.advance(31 * 60_000)
    expect((await runReaches(server, run.id, TERMINAL)).run.status).toBe('succeeded')
    await expectEnded(run.id, 'timed_out')
  })

  it('after its run was canceled', async () => {
    const run = await start('lc_agent')
    expect((await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`)).status).toBe(200)
    await expectEnded(run.id, 'canceled')
  })
})
