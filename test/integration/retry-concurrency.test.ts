// `runs retry` and a flow's concurrency: a retried run takes its key's slot like a new start does (queue, skip,
// cancel_running), so it never runs beside the run that holds the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiServer, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

const flow = (slug: string, onConflict: string) => `slug: ${slug}
inputs: { repo: { type: string, required: true } }
concurrency: { key: "{{ inputs.repo }}", limit: 1, on_conflict: ${onConflict} }
steps:
  - id: hold
    wait: {}
  - id: done
    transform: "{{ steps.hold.output.n }}"
`

async function start(server: ApiServer, slug: string, repo: string): Promise<Json> {
  const started = await api(server, 'POST', '/api/v1/runs', { flow: slug, inputs: { repo }, wait: true })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  return (started.body.data as Json).run
}

async function cancel(server: ApiServer, id: string): Promise<void> {
  const canceled = await api(server, 'POST', `/api/v1/runs/${id}/cancel`)
  expect(canceled.status, JSON.stringify(canceled.body)).toBe(200)
}

async function completeHold(server: ApiServer, id: string, n: number): Promise<void> {
  const run = (await showRun(server, id)).run
  const done = await api(server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/complete`, { payload: { n } })
  expect(done.status, JSON.stringify(done.body)).toBe(202)
}

describe('runs retry under concurrency', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer()
    for (const [slug, mode] of [
      ['rc_queue', 'queue'],
      ['rc_skip', 'skip'],
      ['rc_replace', 'cancel_running'],
    ] as const)
      await pushRelease(server, flow(slug, mode))
  })
  afterAll(async () => {
    await server?.close()
  })

  it('queue: a retried run whose key is held waits behind the holder and starts when it ends', async () => {
    const first = await start(server, 'rc_queue', 'acme/api')
    expect(first.status).toBe('waiting')
    await cancel(server, first.id)
    const holder = await start(server, 'rc_queue', 'acme/api')
    expect(holder.status).toBe('waiting')

    const retried = await api(server, 'POST', `/api/v1/runs/${first.id}/retry`, {})
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    expect((retried.body.data as Json).run.status).toBe('queued')
    // Nothing starts it while the holder keeps the slot.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const still = await showRun(server, first.id)
    expect(still.run.status).toBe('queued')
    expect(still.steps.filter((s: Json) => s.step === 'hold')).toHaveLength(0)
    // A run of another key is not held back.
    expect((await start(server, 'rc_queue', 'acme/web')).status).toBe('waiting')

    await completeHold(server, holder.id, 1)
    expect((await runReaches(server, holder.id, TERMINAL)).run.status).toBe('succeeded')
    const resumed = await runReaches(server, first.id, ['waiting', ...TERMINAL])
    expect(resumed.run.status).toBe('waiting')
    const types = (await runEvents(server, first.id)).map((e: Json) => e.type)
    const retriedAt = types.lastIndexOf('run.retried')
    expect(types.slice(retriedAt, retriedAt + 3)).toEqual(['run.retried', 'run.queued', 'run.dequeued'])
    await completeHold(server, first.id, 2)
    expect((await runReaches(server, first.id, TERMINAL)).run).toMatchObject({ status: 'succeeded', output: 2 })
  })

  it('queue: a retry with the key free runs at once', async () => {
    const run = await start(server, 'rc_queue', 'acme/free')
    await cancel(server, run.id)
    const retried = await api(server, 'POST', `/api/v1/runs/${run.id}/retry`, {})
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    expect((await runReaches(server, run.id, ['waiting', ...TERMINAL])).run.status).toBe('waiting')
    await cancel(server, run.id)
  })

  it('skip: a retry while the key is held is refused with 409 concurrency_limit and changes nothing', async () => {
    const first = await start(server, 'rc_skip', 'acme/api')
    await cancel(server, first.id)
    const holder = await start(server, 'rc_skip', 'acme/api')
    const events = (await runEvents(server, first.id)).length
    const refused = await api(server, 'POST', `/api/v1/runs/${first.id}/retry`, {})
    expect(refused.status, JSON.stringify(refused.body)).toBe(409)
    expect(refused.body.error).toMatchObject({ code: 'concurrency_limit' })
    expect((refused.body.error as Json).details.active_runs).toEqual([holder.id])
    expect((await showRun(server, first.id)).run.status).toBe('canceled')
    expect(await runEvents(server, first.id)).toHaveLength(events)
    await cancel(server, holder.id)
  })

  it('cancel_running: a retry replaces the run that holds the key', async () => {
    const first = await start(server, 'rc_replace', 'acme/api')
    await cancel(server, first.id)
    const holder = await start(server, 'rc_replace', 'acme/api')
    const retried = await api(server, 'POST', `/api/v1/runs/${first.id}/retry`, {})
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    const replaced = await showRun(server, holder.id)
    expect(replaced.run.status).toBe('canceled')
    const waits = ((await api(server, 'GET', `/api/v1/waits?run=${holder.id}&status=all`)).body.data as Json).waits
    expect(waits.map((w: Json) => w.status)).toEqual(['canceled'])
    expect((await runEvents(server, holder.id)).at(-1)).toMatchObject({
      type: 'run.canceled',
      data: { reason: 'concurrency', replaced_by: first.id },
    })
    expect((await runReaches(server, first.id, ['waiting', ...TERMINAL])).run.status).toBe('waiting')
    expect((await api(server, 'GET', `/api/v1/runs/${holder.id}/audit`)).body.data).toMatchObject({
      audit: { ok: true },
    })
    await cancel(server, first.id)
  })
})
