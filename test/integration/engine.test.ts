// The durable engine through the API of a real server: retries and idempotency keys, error routes, `if`, goto loops,
// kv, transforms, concurrency, cancel/retry, the audit chain, usage, and durable timers across a hard restart.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'
import { startHttpTarget } from '../support/http-target.ts'
import { type ApiServer, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

async function start(
  server: ApiServer,
  flow: string,
  inputs: Record<string, unknown> = {},
  wait = true,
): Promise<Json> {
  const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs, wait })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  return (started.body.data as Json).run
}

const stepOf = (shown: Json, id: string, visit?: number): Json =>
  shown.steps.filter((s: Json) => s.step === id && (visit === undefined || s.visit === visit)).at(-1)

const FLOWS = {
  retry: `slug: en_retry
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { method: POST, url: "{{ inputs.target }}/retry", json: { hello: world } }
    retry: { attempts: 3, backoff: 100ms }
`,
  onErrorContinue: `slug: en_continue
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { url: "{{ inputs.target }}/bad" }
    retry: { attempts: 3, backoff: 100ms }
    on_error: continue
  - id: after
    transform: "{{ steps.call.output.error.code }}"
`,
  onErrorFail: `slug: en_fail
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { url: "{{ inputs.target }}/bad" }
    retry: { attempts: 3, backoff: 100ms }
    on_error: fail
  - id: after
    transform: "never"
`,
  conditional: `slug: en_if
inputs:
  target: { type: string, required: true }
  go: { type: boolean, default: false }
steps:
  - id: maybe
    if: "{{ inputs.go }}"
    http: { url: "{{ inputs.target }}/maybe" }
  - id: after
    transform: "{{ $exists(steps.maybe.output.status) ? 'ran' : 'skipped' }}"
`,
  loop: `slug: en_loop
inputs: { target: { type: string, required: true } }
steps:
  - id: poke
    http: { url: "{{ inputs.target }}/loop" }
    on_error: { goto: poke }
    max_visits: 3
  - id: after
    transform: "unreachable"
`,
  kv: `slug: en_kv
steps:
  - id: bump
    kv: { op: incr, key: en_kv_counter, value: 2 }
  - id: read
    kv: { op: get, key: en_kv_counter }
`,
  transform: `slug: en_transform
inputs: { nums: { type: array, required: true } }
steps:
  - id: sum
    transform: { expr: "$sum(inputs.nums)" }
  - id: shape
    transform: "{{ { 'total': steps.sum.output, 'count': $count(inputs.nums), 'who': run.initiator } }}"
`,
  queue: `slug: en_queue
inputs: { repo: { type: string, required: true } }
concurrency: { key: "{{ inputs.repo }}@v{{ run.version }}", limit: 1, on_conflict: queue }
steps:
  - id: hold
    wait: {}
  - id: done
    transform: "{{ steps.hold.output.n }}"
`,
  skip: `slug: en_skip
concurrency: { limit: 1, on_conflict: skip }
steps:
  - id: hold
    wait: {}
`,
  replace: `slug: en_replace
concurrency: { limit: 1, on_conflict: cancel_running }
steps:
  - id: hold
    wait: { timeout: 1h }
`,
  retryFrom: `slug: en_retry_from
inputs: { target: { type: string, required: true } }
steps:
  - id: first
    kv: { op: incr, key: "first:{{ run.id }}" }
  - id: second
    # A retry starts a fresh max_visits budget: the retried visit is this step's second, and it may still run.
    max_visits: 1
    http: { method: POST, url: "{{ inputs.target }}/second" }
  - id: third
    transform: "{{ steps.first.output.value }}"
`,
  usage: `slug: en_usage
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { url: "{{ inputs.target }}/usage" }
  - id: shape
    transform: "{{ steps.call.output.status }}"
  - id: count
    kv: { op: incr, key: en_usage_count }
  - id: tell
    notify: { text: "status {{ steps.shape.output }}" }
  - id: agent
    wait: {}
  - id: review
    approval: { message: "ok?" }
  - id: nap
    sleep: { duration: 200ms }
`,
}

describe('engine', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer()
    for (const source of Object.values(FLOWS)) await pushRelease(server, source)
  })
  afterAll(async () => server.close())

  it('retries a 503 with backoff, sending the same Idempotency-Key each time', async () => {
    const target = await startHttpTarget()
    try {
      target.failNext(503, 2)
      const run = await start(server, 'en_retry', { target: target.url })
      const done = await runReaches(server, run.id, TERMINAL)
      expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
      expect(target.requests.map((r) => r.path)).toEqual(['/retry', '/retry', '/retry'])
      expect(target.requests.map((r) => r.idempotencyKey)).toEqual(Array(3).fill(`${run.id}:call:1`))
      expect(target.requests.every((r) => JSON.parse(r.body).hello === 'world')).toBe(true)
      expect(stepOf(done, 'call')).toMatchObject({ status: 'succeeded', attempt: 3, output: { status: 200 } })
      const retrying = (await runEvents(server, run.id)).filter((e) => e.type === 'step.retrying')
      expect(retrying.map((e) => e.data.attempt)).toEqual([1, 2])
      expect(retrying.map((e) => e.data.delay_ms)).toEqual([100, 200])
    } finally {
      await target.close()
    }
  })

  it('does not retry a 400; on_error continue goes on with {error}, on_error fail fails the run', async () => {
    const target = await startHttpTarget()
    try {
      target.failNext(400, 1)
      const cont = await start(server, 'en_continue', { target: target.url })
      const contDone = await runReaches(server, cont.id, TERMINAL)
      expect(contDone.run.status).toBe('succeeded')
      expect(contDone.run.output).toBe('http_status')
      expect(stepOf(contDone, 'call')).toMatchObject({ status: 'failed', attempt: 1 })
      expect(stepOf(contDone, 'call').output.error).toMatchObject({ code: 'http_status', step: 'call' })
      expect(target.requests).toHaveLength(1)

      target.failNext(400, 1)
      const fail = await start(server, 'en_fail', { target: target.url })
      const failDone = await runReaches(server, fail.id, TERMINAL)
      expect(failDone.run.status).toBe('failed')
      expect(failDone.run.error).toMatchObject({ code: 'http_status', step: 'call' })
      expect(stepOf(failDone, 'after')).toBeUndefined()
      expect(target.requests).toHaveLength(2)
      expect(target.requests[1]?.idempotencyKey).toBe(`${fail.id}:call:1`)
    } finally {
      await target.close()
    }
  })

  it('skips a step whose `if` is falsy', async () => {
    const target = await startHttpTarget()
    try {
      const skipped = await start(server, 'en_if', { target: target.url })
      const skippedDone = await runReaches(server, skipped.id, TERMINAL)
      expect(skippedDone.run).toMatchObject({ status: 'succeeded', output: 'skipped' })
      expect(stepOf(skippedDone, 'maybe')).toMatchObject({ status: 'skipped', output: null })
      expect(target.requests).toHaveLength(0)

      const ran = await start(server, 'en_if', { target: target.url, go: true })
      expect((await runReaches(server, ran.id, TERMINAL)).run).toMatchObject({ status: 'succeeded', output: 'ran' })
      expect(target.requests.map((r) => r.path)).toEqual(['/maybe'])
    } finally {
      await target.close()
    }
  })

  it('bounds a goto loop by max_visits, with one idempotency key per visit', async () => {
    const target = await startHttpTarget()
    try {
      target.failNext(400, 10)
      const run = await start(server, 'en_loop', { target: target.url })
      const done = await runReaches(server, run.id, TERMINAL)
      expect(done.run.status).toBe('failed')
      expect(done.run.error).toMatchObject({ code: 'max_visits_exceeded', step: 'poke' })
      expect(target.requests.map((r) => r.idempotencyKey)).toEqual([
        `${run.id}:poke:1`,
        `${run.id}:poke:2`,
        `${run.id}:poke:3`,
      ])
      expect(stepOf(done, 'after')).toBeUndefined()
    } finally {
      await target.close()
    }
  })

  it('kv incr persists across runs', async () => {
    const first = await start(server, 'en_kv')
    const firstDone = await runReaches(server, first.id, TERMINAL)
    expect(stepOf(firstDone, 'bump').output).toMatchObject({ key: 'en_kv_counter', value: 2, existed: false })
    expect(firstDone.run.output).toMatchObject({ value: 2, existed: true })
    const second = await start(server, 'en_kv')
    const secondDone = await runReaches(server, second.id, TERMINAL)
    expect(stepOf(secondDone, 'bump').output).toMatchObject({ value: 4, existed: true })
    expect(secondDone.run.output).toMatchObject({ key: 'en_kv_counter', value: 4 })
  })

  it('a transform computes its output from inputs, earlier steps and run facts', async () => {
    const run = await start(server, 'en_transform', { nums: [1, 2, 3.5] })
    const done = await runReaches(server, run.id, TERMINAL)
    expect(stepOf(done, 'sum').output).toBe(6.5)
    expect(done.run).toMatchObject({
      status: 'succeeded',
      output: { total: 6.5, count: 3, who: 'token:local-admin' },
    })
  })

  it('concurrency queue: the second run of a key waits its turn; other keys run at once', async () => {
    const first = await start(server, 'en_queue', { repo: 'acme/api' })
    expect(first.status).toBe('waiting')
    // The key sees the same `run` as the steps, version included.
    expect((await showRun(server, first.id)).run.concurrency_key).toBe('acme/api@v1')
    const second = await start(server, 'en_queue', { repo: 'acme/api' }, false)
    expect(second.status).toBe('queued')
    const otherKey = await start(server, 'en_queue', { repo: 'acme/web' })
    expect(otherKey.status).toBe('waiting')
    // Still queued a moment later: nothing starts it while the first holds the slot.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await showRun(server, second.id)).run.status).toBe('queued')
    expect((await showRun(server, second.id)).steps).toEqual([])

    const complete = await api(server, 'POST', `/api/v1/waits/${first.waiting_on.wait_id}/complete`, {
      payload: { n: 1 },
    })
    expect(complete.status, JSON.stringify(complete.body)).toBe(202)
    const firstDone = await runReaches(server, first.id, TERMINAL)
    expect(firstDone.run).toMatchObject({ status: 'succeeded', output: 1 })
    const secondParked = await runReaches(server, second.id, ['waiting', ...TERMINAL])
    expect(secondParked.run.status).toBe('waiting')
    expect(Date.parse(secondParked.run.started_at)).toBeGreaterThanOrEqual(Date.parse(firstDone.run.ended_at))
    const types = (await runEvents(server, second.id)).map((e) => e.type)
    expect(types.slice(0, 3)).toEqual(['run.started', 'run.queued', 'run.dequeued'])

    for (const run of [second, otherKey]) {
      const canceled = await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`)
      expect(canceled.status).toBe(200)
    }
  })

  it('concurrency skip: a second start is refused with 409 and creates nothing', async () => {
    const first = await start(server, 'en_skip')
    expect(first.status).toBe('waiting')
    const before = (await api(server, 'GET', '/api/v1/runs?flow=en_skip&limit=200')).body.data as Json
    const refused = await api(server, 'POST', '/api/v1/runs', { flow: 'en_skip', inputs: {}, wait: true })
    expect(refused.status, JSON.stringify(refused.body)).toBe(409)
    expect(refused.body.error?.code).toBe('concurrency_limit')
    const after = (await api(server, 'GET', '/api/v1/runs?flow=en_skip&limit=200')).body.data as Json
    expect(after.runs.map((r: Json) => r.id)).toEqual(before.runs.map((r: Json) => r.id))
    expect(after.runs).toHaveLength(1)

    const canceled = await api(server, 'POST', `/api/v1/runs/${first.id}/cancel`)
    expect(canceled.status).toBe(200)
    expect((canceled.body.data as Json).run.status).toBe('canceled')
    const events = await runEvents(server, first.id)
    expect(events.at(-1)).toMatchObject({ type: 'run.canceled', actor: 'token:local-admin' })
    const again = await api(server, 'POST', `/api/v1/runs/${first.id}/cancel`)
    expect(again.status).toBe(200)
    expect((again.body.data as Json).run.status).toBe('canceled')
    expect(await runEvents(server, first.id)).toHaveLength(events.length)
    // The wait died with the run, and the slot is free again.
    const waits = (await api(server, 'GET', `/api/v1/waits?run=${first.id}&status=all`)).body.data as Json
    expect(waits.waits.map((w: Json) => w.status)).toEqual(['canceled'])
    const next = await start(server, 'en_skip')
    expect(next.status).toBe('waiting')
    expect((await api(server, 'POST', `/api/v1/runs/${next.id}/cancel`)).status).toBe(200)
  })

  it('concurrency queue: a queued run canceled before its turn never starts', async () => {
    const first = await start(server, 'en_queue', { repo: 'acme/cancel' })
    const second = await start(server, 'en_queue', { repo: 'acme/cancel' }, false)
    const third = await start(server, 'en_queue', { repo: 'acme/cancel' }, false)
    expect([second.status, third.status]).toEqual(['queued', 'queued'])
    const canceled = await api(server, 'POST', `/api/v1/runs/${second.id}/cancel`)
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200)
    expect((canceled.body.data as Json).run.status).toBe('canceled')
    expect((await showRun(server, third.id)).run.status).toBe('queued')

    const complete = await api(server, 'POST', `/api/v1/waits/${first.waiting_on.wait_id}/complete`, {
      payload: { n: 7 },
    })
    expect(complete.status).toBe(202)
    const thirdParked = await runReaches(server, third.id, ['waiting', ...TERMINAL])
    expect(thirdParked.run.status).toBe('waiting')
    const secondAfter = await showRun(server, second.id)
    expect(secondAfter.run.status).toBe('canceled')
    expect(secondAfter.steps).toEqual([])
    expect((await api(server, 'POST', `/api/v1/runs/${third.id}/cancel`)).status).toBe(200)
  })

  it('concurrency cancel_running: a new run replaces the active one, whose wait closes', async () => {
    const first = await start(server, 'en_replace')
    expect(first.status).toBe('waiting')
    const second = await start(server, 'en_replace')
    expect(second.status).toBe('waiting')
    const firstAfter = await showRun(server, first.id)
    expect(firstAfter.run.status).toBe('canceled')
    const waits = ((await api(server, 'GET', `/api/v1/waits?run=${first.id}&status=all`)).body.data as Json).waits
    expect(waits.map((w: Json) => w.status)).toEqual(['canceled'])
    const late = await api(server, 'POST', `/api/v1/waits/${first.waiting_on.wait_id}/complete`, { payload: {} })
    expect(late.status).toBe(409)
    expect((await api(server, 'GET', `/api/v1/runs/${first.id}/audit`)).body.data).toMatchObject({
      audit: { ok: true },
    })
    expect((await api(server, 'POST', `/api/v1/runs/${second.id}/cancel`)).status).toBe(200)
  })

  it('runs retry resumes from the failed step, or from the step named with from', async () => {
    const target = await startHttpTarget()
    try {
      target.failNext(400, 1)
      const run = await start(server, 'en_retry_from', { target: target.url })
      const failed = await runReaches(server, run.id, TERMINAL)
      expect(failed.run).toMatchObject({ status: 'failed', error: { step: 'second' } })

      const notRetryable = await api(server, 'POST', `/api/v1/runs/${run.id}/retry`, { from: 'nope' })
      expect(notRetryable.status).toBe(400)
      expect(notRetryable.body.error?.code).toBe('unknown_step')

      const retried = await api(server, 'POST', `/api/v1/runs/${run.id}/retry`, {})
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      const done = await runReaches(server, run.id, TERMINAL)
      expect(done.run).toMatchObject({ status: 'succeeded', output: 1 })
      // `first` kept its output and did not run again (the counter is still 1).
      expect(done.steps.filter((s: Json) => s.step === 'first')).toHaveLength(1)
      expect(target.requests.map((r) => r.idempotencyKey)).toEqual([`${run.id}:second:1`, `${run.id}:second:2`])
      const types = (await runEvents(server, run.id)).map((e) => e.type)
      expect(types).toContain('run.retried')
      expect(types.at(-1)).toBe('run.succeeded')

      const succeeded = await api(server, 'POST', `/api/v1/runs/${run.id}/retry`, {})
      expect(succeeded.status).toBe(409)
      expect(succeeded.body.error?.code).toBe('run_not_retryable')

      target.failNext(400, 1)
      const again = await start(server, 'en_retry_from', { target: target.url })
      expect((await runReaches(server, again.id, TERMINAL)).run.status).toBe('failed')
      const fromFirst = await api(server, 'POST', `/api/v1/runs/${again.id}/retry`, { from: 'first' })
      expect(fromFirst.status, JSON.stringify(fromFirst.body)).toBe(200)
      const againDone = await runReaches(server, again.id, TERMINAL)
      expect(againDone.run).toMatchObject({ status: 'succeeded', output: 2 })
      expect(stepOf(againDone, 'first', 2)).toMatchObject({ status: 'succeeded', output: { value: 2 } })
    } finally {
      await target.close()
    }
  })

  it('audit verifies a finished run and detects a changed or a deleted event', async () => {
    const changed = await start(server, 'en_transform', { nums: [1] })
    await runReaches(server, changed.id, TERMINAL)
    const deleted = await start(server, 'en_transform', { nums: [2] })
    await runReaches(server, deleted.id, TERMINAL)
    for (const run of [changed, deleted]) {
      const audit = await api(server, 'GET', `/api/v1/runs/${run.id}/audit`)
      expect(audit.status).toBe(200)
      expect((audit.body.data as Json).audit).toMatchObject({ run_id: run.id, ok: true, problems: [] })
      expect((audit.body.data as Json).audit.events).toBeGreaterThanOrEqual(3)
    }

    const db = createClient({ url: `file:${join(server.dataDir, 'greenlight.db')}` })
    try {
      await db.execute({
        sql: `UPDATE run_events SET data = '{"x":1}' WHERE run_id = ? AND seq = 2`,
        args: [changed.id],
      })
      await db.execute({ sql: 'DELETE FROM run_events WHERE run_id = ? AND seq = 2', args: [deleted.id] })
    } finally {
      db.close()
    }

    const changedAudit = ((await api(server, 'GET', `/api/v1/runs/${changed.id}/audit`)).body.data as Json).audit
    expect(changedAudit.ok).toBe(false)
    expect(changedAudit.problems).toContainEqual(expect.objectContaining({ seq: 2, problem: 'hash_mismatch' }))
    const deletedAudit = ((await api(server, 'GET', `/api/v1/runs/${deleted.id}/audit`)).body.data as Json).audit
    expect(deletedAudit.ok).toBe(false)
    expect(deletedAudit.problems).toContainEqual(expect.objectContaining({ seq: 2, problem: 'missing_event' }))
  })

  it('usage counts http, transform, kv and notify, not waits, approvals or sleeps', async () => {
    const target = await startHttpTarget()
    const voter = await api(server, 'POST', '/api/v1/tokens', { name: 'usage-voter', scopes: ['approvals:decide'] })
    const voterToken: string = (voter.body.data as Json).token.secret
    try {
      const month = new Date().toISOString().slice(0, 7)
      const run = await start(server, 'en_usage', { target: target.url })
      expect(run.waiting_on).toMatchObject({ step: 'agent', kind: 'wait' })
      const completed = await api(server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/complete`, {
        payload: { ok: true },
      })
      expect(completed.status, JSON.stringify(completed.body)).toBe(202)
      const atApproval = await runReaches(server, run.id, ['waiting', ...TERMINAL])
      expect(atApproval.run.waiting_on).toMatchObject({ step: 'review', kind: 'approval' })
      const approved = await api(
        server,
        'POST',
        `/api/v1/waits/${atApproval.run.waiting_on.wait_id}/approve`,
        {},
        voterToken,
      )
      expect(approved.status, JSON.stringify(approved.body)).toBe(201)
      const done = await runReaches(server, run.id, TERMINAL)
      expect(done.run.status).toBe('succeeded')

      const usage = await api(server, 'GET', `/api/v1/usage?month=${month}`)
      expect(usage.status).toBe(200)
      const flow = (usage.body.data as Json).usage.flows.find((f: Json) => f.flow === 'en_usage')
      expect(flow).toEqual({ flow: 'en_usage', executions: 4, by_kind: { http: 1, transform: 1, kv: 1, notify: 1 } })
      const bad = await api(server, 'GET', '/api/v1/usage?month=2026-13')
      expect(bad.status).toBe(400)
      expect(bad.body.error?.code).toBe('invalid_month')
    } finally {
      await target.close()
    }
  })
})

describe('durable timers across a hard restart', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'greenlight-restart-'))
  const children: ChildProcess[] = []
  afterAll(async () => {
    for (const child of children) await stopChild(child)
    rmSync(cwd, { recursive: true, force: true })
  })

  it('fires approval reminders once each and the timeout, after the first server is killed', async () => {
    const first = await spawnServe({ cwd, env: { PORT: '0' } })
    children.push(first.child)
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    const one: ApiServer = { url: first.url, token }
    await pushRelease(
      one,
      `slug: en_remind
steps:
  - id: review
    approval:
      message: "Anyone?"
      timeout: 4s
      remind_every: 1s
`,
    )
    const run = await start(one, 'en_remind')
    expect(run).toMatchObject({ status: 'waiting', waiting_on: { step: 'review', kind: 'approval' } })
    await stopChild(first.child, 'SIGKILL')

    const second = await spawnServe({ cwd, env: { PORT: '0' } })
    children.push(second.child)
    const two: ApiServer = { url: second.url, token }
    const done = await runReaches(two, run.id, TERMINAL, 20_000)
    expect(done.run.status).toBe('timed_out')
    expect(done.run.error).toMatchObject({ code: 'approval_timed_out' })

    const events = await runEvents(two, run.id)
    const types = events.map((e) => e.type)
    const reminders = events.filter((e) => e.type === 'approval.reminded').map((e) => e.data.reminder as number)
    expect(reminders.length, types.join(', ')).toBeGreaterThanOrEqual(1)
    expect(new Set(reminders).size, `reminders fired: ${reminders.join(', ')}`).toBe(reminders.length)
    expect(reminders).toEqual([...reminders].sort((a, b) => a - b))
    expect(reminders[0]).toBe(1)
    expect(reminders.length).toBeLessThanOrEqual(4)
    const timedOut = types.indexOf('approval.timed_out')
    expect(timedOut).toBeGreaterThan(types.indexOf('approval.reminded'))
    expect(types.filter((t) => t === 'approval.timed_out')).toHaveLength(1)
    expect(types.at(-1)).toBe('run.timed_out')
    expect(types.slice(timedOut + 1)).not.toContain('approval.reminded')
    const audit = await api(two, 'GET', `/api/v1/runs/${run.id}/audit`)
    expect((audit.body.data as Json).audit).toMatchObject({ ok: true })
  })
})
