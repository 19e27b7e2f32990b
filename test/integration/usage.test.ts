// `greenlight usage`: every attempt of a billable step counts, and a job counts however it ended (its worker, `waits
// complete`, `/fail`, its timeout); waits, approvals, inputs and sleeps never count.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const KEY = randomBytes(32)
const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

/** Mid-month, so the 31 minutes the timeout test moves the clock never cross into the next month. */
function drivenClock(start: string) {
  const base = Date.parse(start) - Date.now()
  let offset = 0
  return {
    now: () => Date.now() + base + offset,
    advance(ms: number) {
      offset += ms
    },
  }
}

const FLOWS = [
  `slug: us_retry
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { method: POST, url: "{{ inputs.target }}/flaky" }
    retry: { attempts: 3, backoff: 10ms }
`,
  `slug: us_retry_fail
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { method: POST, url: "{{ inputs.target }}/down" }
    retry: { attempts: 2, backoff: 10ms }
`,
  ...['us_job_api', 'us_job_fail', 'us_job_timeout'].map(
    (slug) => `slug: ${slug}
steps:
  - id: lint
    job: { type: ${slug}, timeout: 30m }
`,
  ),
  `slug: us_free
steps:
  - id: agent
    wait: {}
  - id: nap
    sleep: { duration: 10ms }
  - id: ask
    input: { fields: [{ id: why, label: Why }] }
`,
]

describe('usage counts billable executions', () => {
  let server: TestServer
  let target: HttpTarget
  const clock = drivenClock('2026-05-15T12:00:00Z')
  const month = '2026-05'

  async function start(flow: string, inputs: Record<string, unknown> = {}): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run
  }

  async function usageOf(flow: string): Promise<Json> {
    const usage = await api(server, 'GET', `/api/v1/usage?month=${month}`)
    expect(usage.status, JSON.stringify(usage.body)).toBe(200)
    return (usage.body.data as Json).usage.flows.find((f: Json) => f.flow === flow) ?? null
  }

  const completeWait = async (waitId: string, payload: unknown) => {
    const done = await api(server, 'POST', `/api/v1/waits/${waitId}/complete`, { payload })
    expect(done.status, JSON.stringify(done.body)).toBe(202)
  }

  beforeAll(async () => {
    target = await startHttpTarget()
    server = await startTestServer({ GREENLIGHT_SECRET_KEY: KEY.toString('base64') }, { clock })
    for (const flow of FLOWS) await pushRelease(server, flow)
  })
  afterAll(async () => {
    await server?.close()
    await target?.close()
  })

  it('counts each attempt of a retried step, whether the retries end in success or in failure', async () => {
    target.failNext(503, 2)
    const ok = await start('us_retry', { target: target.url })
    expect((await runReaches(server, ok.id, TERMINAL)).run.status).toBe('succeeded')
    expect(await usageOf('us_retry')).toEqual({ flow: 'us_retry', executions: 3, by_kind: { http: 3 } })

    target.failNext(503, 2)
    const failed = await start('us_retry_fail', { target: target.url })
    expect((await runReaches(server, failed.id, TERMINAL)).run.status).toBe('failed')
    expect(await usageOf('us_retry_fail')).toEqual({ flow: 'us_retry_fail', executions: 2, by_kind: { http: 2 } })
  })

  it('bills a job completed by waits complete, failed by /fail, or timed out', async () => {
    const viaApi = await start('us_job_api')
    await completeWait(viaApi.waiting_on.wait_id, { lint: 'clean' })
    await runReaches(server, viaApi.id, TERMINAL)
    expect(await usageOf('us_job_api')).toEqual({ flow: 'us_job_api', executions: 1, by_kind: { job: 1 } })

    const failed = await start('us_job_fail')
    const token = signCallbackToken(KEY, { runId: failed.id, stepId: 'lint', visit: 1 })
    const fail = await fetch(`${server.url}/callbacks/${token}/fail`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'linter crashed' }),
    })
    expect(fail.status, await fail.text()).toBe(202)
    expect((await runReaches(server, failed.id, TERMINAL)).run.status).toBe('failed')
    expect(await usageOf('us_job_fail')).toEqual({ flow: 'us_job_fail', executions: 1, by_kind: { job: 1 } })

    const slow = await start('us_job_timeout')
    clock.advance(31 * 60_000)
    expect((await runReaches(server, slow.id, TERMINAL)).run.status).toBe('timed_out')
    expect(await usageOf('us_job_timeout')).toEqual({ flow: 'us_job_timeout', executions: 1, by_kind: { job: 1 } })
  })

  it('never bills waits, sleeps and inputs', async () => {
    const run = await start('us_free')
    await completeWait(run.waiting_on.wait_id, {})
    const atInput = await runReaches(server, run.id, ['waiting'])
    await eventuallyWaitingOn(atInput.run.id, 'ask')
    const input = (await runReaches(server, run.id, ['waiting'])).run.waiting_on
    await completeWait(input.wait_id, { why: 'because' })
    expect((await runReaches(server, run.id, TERMINAL)).run.status).toBe('succeeded')
    expect(await usageOf('us_free')).toBeNull()
  })

  async function eventuallyWaitingOn(runId: string, step: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const shown = await api(server, 'GET', `/api/v1/runs/${runId}`)
      if ((shown.body.data as Json).run.waiting_on?.step === step) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`run ${runId} never waited on ${step}`)
  }
})
