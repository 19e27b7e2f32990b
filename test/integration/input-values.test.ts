// `waits complete` on an input step checks the values against its fields: 422 naming each field, nothing changes and
// the input stays open; values that fit complete it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: iv_ask
steps:
  - id: ask
    input:
      fields:
        - { id: reason, label: Reason, required: true }
        - { id: count, label: Count, type: number }
        - { id: env, label: Environment, type: select, options: [staging, prod] }
        - { id: owner, label: Owner, type: user }
  - id: echo
    transform: "{{ steps.ask.output.values }}"
`

describe('input values through the API', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer()
    await pushRelease(server, FLOW)
  })
  afterAll(async () => server?.close())

  it('refuses values that do not fit the fields with 422 naming each one; the input stays open', async () => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'iv_ask', inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const run = (started.body.data as Json).run
    expect(run.waiting_on).toMatchObject({ step: 'ask', kind: 'input' })
    const waitId = run.waiting_on.wait_id
    const before = await runEvents(server, run.id)

    const bad = await api(server, 'POST', `/api/v1/waits/${waitId}/complete`, {
      payload: { count: 'three', env: 'dev', owner: 'bob', colour: 'red' },
    })
    expect(bad.status, JSON.stringify(bad.body)).toBe(422)
    expect(bad.body.error).toMatchObject({ code: 'invalid_input_values' })
    const problems = (bad.body.error as Json).details.problems
    expect(problems.map((p: Json) => [p.field, p.code])).toEqual([
      ['reason', 'required'],
      ['count', 'invalid_type'],
      ['env', 'not_an_option'],
      ['owner', 'invalid_user'],
      ['colour', 'unknown_field'],
    ])
    expect(bad.body.error?.message).toContain('reason')

    // Nothing changed: no event, the input is still open, the run still waits on it.
    expect(await runEvents(server, run.id)).toHaveLength(before.length)
    const waits = ((await api(server, 'GET', `/api/v1/waits?run=${run.id}&status=all`)).body.data as Json).waits
    expect(waits.map((w: Json) => w.status)).toEqual(['open'])
    expect((await showRun(server, run.id)).run.status).toBe('waiting')

    const notObject = await api(server, 'POST', `/api/v1/waits/${waitId}/complete`, { payload: ['audit'] })
    expect(notObject.status).toBe(422)

    const good = await api(server, 'POST', `/api/v1/waits/${waitId}/complete`, {
      payload: { reason: 'audit', count: 3, env: 'prod', owner: 'U0ANN' },
    })
    expect(good.status, JSON.stringify(good.body)).toBe(202)
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run).toMatchObject({
      status: 'succeeded',
      output: { reason: 'audit', count: 3, env: 'prod', owner: 'U0ANN' },
    })
  })
})
