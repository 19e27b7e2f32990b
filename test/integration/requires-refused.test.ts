// A schedule tick or webhook delivery of a flow whose `requires` are not bound (the connection was deleted after the
// release) becomes a failed run, with an error naming what is missing, listed in `runs list` and posted in the flow's
// Slack channel; it never runs a step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const CHANNEL = 'C0REQS'

const flow = (slug: string, triggers: string) => `slug: ${slug}
slack: { channel: ${CHANNEL} }
requires: { connections: [rq_api] }
triggers:
${triggers}
steps:
  - id: call
    transform: "{{ 'ran after the retry' }}"
`

const SCHEDULED = flow('rq_tick', '  schedule: { cron: "0 7 * * *", timezone: UTC }')
const HOOKED = flow('rq_hook', '  webhook: { auth: bearer, secret: rq_token }')

describe('a triggered start whose requires are not bound', () => {
  let t = Date.parse('2026-05-04T12:00:00Z')
  const clock = { now: () => t }
  let fake: FakeSlack
  let server: TestServer

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: [{ id: 'U0OPS', name: 'ops' }],
      channels: { [CHANNEL]: { name: 'reqs', members: ['U0OPS'] } },
    })
    server = await startTestServer(
      { SLACK_BOT_TOKEN: 'xoxb-reqs', SLACK_SIGNING_SECRET: 'reqs-secret', SLACK_API_URL: fake.apiUrl },
      { clock },
    )
    expect((await api(server, 'PUT', '/api/v1/secrets/rq_token', { value: 'rq-token-value' })).status).toBeLessThan(300)
    const connection = await api(server, 'PUT', '/api/v1/connections/rq_api', {
      type: 'http',
      base_url: 'https://api.example',
    })
    expect(connection.status, JSON.stringify(connection.body)).toBeLessThan(300)
    await pushRelease(server, SCHEDULED)
    await pushRelease(server, HOOKED)
    // Released while bound; unbound since.
    expect((await api(server, 'DELETE', '/api/v1/connections/rq_api')).status).toBe(200)
  })

  afterAll(async () => {
    await server?.close()
    await fake?.close()
  })

  async function failedRunOf(slug: string): Promise<Json> {
    return eventually(async () => {
      const listed = await api(server, 'GET', `/api/v1/runs?flow=${slug}&limit=10`)
      const runs = (listed.body.data as Json).runs as Json[]
      return runs.length > 0 ? runs : undefined
    }, `a run of ${slug} in runs list`).then((runs) => {
      expect(runs).toHaveLength(1)
      return runs[0]
    })
  }

  async function expectFailedBeforeFirstStep(run: Json, trigger: string): Promise<void> {
    expect(run).toMatchObject({ status: 'failed', trigger, error: { code: 'requirements_missing' } })
    expect(run.error.message).toContain('rq_api')
    const shown = await api(server, 'GET', `/api/v1/runs/${run.id}`)
    expect((shown.body.data as Json).steps).toEqual([])
    const types = (await runEvents(server, run.id)).map((e: Json) => e.type)
    expect(types).toEqual(['run.started', 'run.failed'])
    // Its card in the flow's channel says it failed and names what is missing.
    const card = await fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => JSON.stringify(m.blocks ?? []).includes(run.id)),
      10_000,
    )
    await fake.waitFor(() => {
      const now = JSON.stringify(fake.message(CHANNEL, card.ts)?.blocks ?? [])
      return now.includes('Failed') && now.includes('requirements_missing') && now.includes('rq_api') ? now : undefined
    }, 10_000)
  }

  it('a schedule tick records a failed run and posts it to the channel', async () => {
    t = Date.parse('2026-05-05T07:00:00.150Z')
    const run = await failedRunOf('rq_tick')
    await expectFailedBeforeFirstStep(run, 'schedule')
    expect(run.initiator).toBe('schedule:rq_tick')
  })

  it('a webhook delivery records a failed run, answers an error naming it, and posts it to the channel', async () => {
    const response = await fetch(`${server.url}/hooks/rq_hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer rq-token-value' },
      body: '{}',
    })
    const body = (await response.json()) as Json
    expect(response.status, JSON.stringify(body)).toBe(422)
    expect(body.error).toMatchObject({ code: 'requirements_missing' })
    const run = await failedRunOf('rq_hook')
    expect(body.error.details).toMatchObject({ run_id: run.id, missing: { connections: ['rq_api'] } })
    await expectFailedBeforeFirstStep(run, 'webhook')

    // Once bound, the failed run is retried from its first step, as the error's hint says.
    expect(body.error.hint).toContain(`greenlight runs retry ${run.id}`)
    const bound = await api(server, 'PUT', '/api/v1/connections/rq_api', {
      type: 'http',
      base_url: 'https://api.example',
    })
    expect(bound.status).toBeLessThan(300)
    expect((await api(server, 'POST', `/api/v1/runs/${run.id}/retry`, {})).status).toBeLessThan(300)
    const done = await runReaches(server, run.id, ['succeeded'])
    expect(done.run.output).toBe('ran after the retry')
  })
})
