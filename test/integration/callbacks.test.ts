// POST/GET /callbacks/:token against a real server: the whole status matrix of SPEC §6, early callbacks, heartbeats,
// agent-reported failures, and large payloads that travel as res:// resources.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { isTerminal } from '../../src/core/run-status.ts'
import { shiftedClock } from '../support/clock.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const KEY = randomBytes(32)
const HOUR = 3_600_000 + 1_000
// Timeouts and sleeps are an hour long and fall due when a test moves this clock, not after real seconds.
const clock = shiftedClock()

const AGENT_FLOW = `slug: cb_agent
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait:
      timeout: 30m
      schema:
        type: object
        required: [diff, summary]
        properties:
          diff: { type: string }
          summary: { type: string }
  - id: finish
    transform: "{{ steps.agent.output.summary }}"
`

const TIMEOUT_FLOW = `slug: cb_timeout
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: { timeout: 1h }
`

const EARLY_FLOW = `slug: cb_early
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: nap
    sleep: { duration: 1h }
  - id: agent
    wait:
      timeout: 30m
      schema: { type: object, required: [summary] }
  - id: finish
    transform: "{{ steps.agent.output.summary }}"
`

const OPEN_FLOW = `slug: cb_open
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: {}
  - id: finish
    transform: "{{ steps.agent.output.summary }}"
`

const ROUTES_FLOW = `slug: cb_routes
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: { timeout: 30m }
    on_error: continue
  - id: idle
    wait: { timeout: 1h, on_timeout: continue, default: { fallback: true } }
  - id: finish
    transform: "{{ { 'agent': steps.agent.output.error.code, 'idle': steps.idle.output } }}"
`

const TIMEOUT_ROUTES_FLOW = `slug: cb_timeout_routes
steps:
  - id: agent
    wait: { timeout: 1h }
    on_error: { goto: recover }
  - id: skipped
    transform: "'not here'"
  - id: recover
    transform: "{{ steps.agent.output.error.code }}"
`

// The step-level timeout of a step that parks bounds its wait.
const STEP_TIMEOUT_FLOW = `slug: cb_step_timeout
steps:
  - id: agent
    timeout: 1h
    wait: {}
  - id: after
    transform: "'not here'"
`

// A wait's schema is data, never a template: text in it that looks like one is kept as written.
const LITERAL_SCHEMA_FLOW = `slug: cb_literal_schema
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait:
      schema:
        type: object
        required: [tag]
        properties:
          tag: { type: string, description: "a tag such as {{ or {{ inputs.x }}" }
`

// A job's callback URL completes it too, so a body sent before the job opens must complete it when it does.
const EARLY_JOB_FLOW = `slug: cb_early_job
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: nap
    sleep: { duration: 1h }
  - id: agent
    job: { type: lint, timeout: 30m }
`

async function startRun(server: TestServer, flow: string): Promise<Json> {
  const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  return (started.body.data as Json).run
}

/** The token of the callback URL the run's `hand_out` step computed (its host is the configured PUBLIC_URL). */
async function callbackToken(server: TestServer, runId: string): Promise<string> {
  const shown = await showRun(server, runId)
  const handOut = shown.steps.find((s: Json) => s.step === 'hand_out')
  expect(handOut?.output, 'hand_out output').toMatch(/\/callbacks\/[^/]+$/)
  return String(handOut.output).split('/callbacks/')[1] as string
}

interface Answer {
  status: number
  body: Json
  text: string
}

async function send(
  server: TestServer,
  method: string,
  path: string,
  body?: string | Buffer,
  contentType = 'application/json',
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : new Uint8Array(body instanceof Buffer ? body : Buffer.from(body)),
  })
  const text = await response.text()
  let parsed: Json
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, body: parsed, text }
}

const post = (server: TestServer, token: string, value: unknown, suffix = '') =>
  send(server, 'POST', `/callbacks/${token}${suffix}`, JSON.stringify(value))

const state = async (server: TestServer, token: string): Promise<Json> => {
  const res = await send(server, 'GET', `/callbacks/${token}`)
  expect(res.status, res.text).toBe(200)
  return res.body.data.wait
}

describe('callbacks: the status matrix', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_SECRET_KEY: KEY.toString('base64') }, { clock })
    for (const flow of [
      AGENT_FLOW,
      TIMEOUT_FLOW,
      EARLY_FLOW,
      OPEN_FLOW,
      ROUTES_FLOW,
      TIMEOUT_ROUTES_FLOW,
      STEP_TIMEOUT_FLOW,
      LITERAL_SCHEMA_FLOW,
      EARLY_JOB_FLOW,
    ])
      await pushRelease(server, flow)
  })
  afterAll(async () => server.close())

  it('202 resumes the run; the same body again is 200; a different body after completion is 409', async () => {
    const run = await startRun(server, 'cb_agent')
    expect(run.status).toBe('waiting')
    expect(run.waiting_on).toMatchObject({ step: 'agent', kind: 'wait' })
    const token = await callbackToken(server, run.id)
    const payload = { diff: '--- a\n+++ b\n@@\n-x\n+y\n', summary: 'fixed the bug' }

    const first = await post(server, token, payload)
    expect(first.status, first.text).toBe(202)
    expect(first.body).toMatchObject({ ok: true, data: { status: 'accepted', run_id: run.id, step: 'agent' } })
    expect(first.body.data.early).toBe(false)
    // The transform after the wait ran in the callback's own commit: the answer already reports the ended run.
    expect(first.body.data.run).toEqual({ id: run.id, status: 'succeeded' })

    const done = await runReaches(server, run.id, ['succeeded', 'failed', 'timed_out', 'canceled'])
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('fixed the bug')
    expect(done.steps.find((s: Json) => s.step === 'agent').output).toEqual(payload)

    const repeat = await post(server, token, payload)
    expect(repeat.status, repeat.text).toBe(200)
    expect(repeat.body.data).toMatchObject({ status: 'duplicate', run_id: run.id, step: 'agent' })

    const different = await post(server, token, { ...payload, summary: 'something else' })
    expect(different.status, different.text).toBe(409)
    expect(different.body.error.code).toBe('already_completed')

    // Neither answer touched the finished run.
    const after = await showRun(server, run.id)
    expect(after.run.output).toBe('fixed the bug')
    expect(after.steps.find((s: Json) => s.step === 'agent').output).toEqual(payload)
  })

  it('answers unknown and forged tokens with identical 404 bodies, on every callback route', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const [payloadPart, mac] = token.split('.') as [string, string]
    const forgedMac = Buffer.from(mac, 'base64url')
    forgedMac[0] = (forgedMac[0] ?? 0) ^ 0xff
    const candidates = {
      random: randomBytes(24).toString('base64url'),
      random_dotted: `${randomBytes(20).toString('base64url')}.${randomBytes(24).toString('base64url')}`,
      wrong_signature: `${payloadPart}.${forgedMac.toString('base64url')}`,
      truncated_signature: `${payloadPart}.${mac.slice(0, -4)}`,
      no_signature: payloadPart,
      other_key: signCallbackToken(randomBytes(32), { runId: run.id, stepId: 'agent', visit: 1 }),
      // Genuinely signed, but for steps that take no callbacks or do not exist, and for a run that does not exist.
      signed_for_transform_step: signCallbackToken(KEY, { runId: run.id, stepId: 'hand_out', visit: 1 }),
      signed_for_missing_step: signCallbackToken(KEY, { runId: run.id, stepId: 'ghost', visit: 1 }),
      signed_for_missing_run: signCallbackToken(KEY, {
        runId: `run_${'0'.repeat(10)}${'Z'.repeat(16)}`,
        stepId: 'agent',
        visit: 1,
      }),
    }
    const valid = JSON.stringify({ diff: 'd', summary: 's' })
    const answers: Record<string, Answer> = {}
    for (const [name, candidate] of Object.entries(candidates)) {
      answers[`${name} POST`] = await send(server, 'POST', `/callbacks/${candidate}`, valid)
      answers[`${name} heartbeat`] = await send(server, 'POST', `/callbacks/${candidate}/heartbeat`, '{"progress":"x"}')
      answers[`${name} fail`] = await send(server, 'POST', `/callbacks/${candidate}/fail`, '{"reason":"x"}')
      answers[`${name} GET`] = await send(server, 'GET', `/callbacks/${candidate}`)
    }
    const reference = answers['random POST'] as Answer
    expect(reference.status).toBe(404)
    expect(reference.body.error.code).toBe('not_found')
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.status, name).toBe(404)
      expect(answer.text, name).toBe(reference.text)
    }
    // None of them touched the run: it still waits, and the real token still works.
    expect((await state(server, token)).status).toBe('open')
    expect((await post(server, token, { diff: 'd', summary: 's' })).status).toBe(202)
  })

  it('410 for a wait that timed out, and for callbacks after the run ended', async () => {
    const timedOut = await startRun(server, 'cb_timeout')
    const timedOutToken = await callbackToken(server, timedOut.id)
    clock.advance(HOUR)
    const ended = await runReaches(server, timedOut.id, ['timed_out', 'failed', 'succeeded'], 10_000)
    expect(ended.run.status).toBe('timed_out')
    const late = await post(server, timedOutToken, { anything: true })
    expect(late.status, late.text).toBe(410)
    expect(late.body.error.code).toBe('expired')
    expect((await state(server, timedOutToken)).status).toBe('timed_out')

    // A run canceled while its wait is open.
    const canceled = await startRun(server, 'cb_agent')
    const canceledToken = await callbackToken(server, canceled.id)
    expect((await api(server, 'POST', `/api/v1/runs/${canceled.id}/cancel`)).status).toBe(200)
    const afterCancel = await post(server, canceledToken, { diff: 'd', summary: 's' })
    expect(afterCancel.status, afterCancel.text).toBe(410)
    expect(afterCancel.body.error.code).toBe('expired')

    // A run that ended before its wait ever opened (canceled during the sleep before it).
    const early = await startRun(server, 'cb_early')
    expect(early.waiting_on).toMatchObject({ step: 'nap', kind: 'sleep' })
    const earlyToken = await callbackToken(server, early.id)
    expect((await api(server, 'POST', `/api/v1/runs/${early.id}/cancel`)).status).toBe(200)
    const neverOpened = await post(server, earlyToken, { summary: 'too late' })
    expect(neverOpened.status, neverOpened.text).toBe(410)
    expect((await showRun(server, early.id)).run.status).toBe('canceled')
  })

  it('415 for a body that is not JSON, 422 with details for a schema mismatch; the wait stays open', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const before = (await runEvents(server, run.id)).length

    const text = await send(server, 'POST', `/callbacks/${token}`, 'diff: yes, summary: no', 'text/plain')
    expect(text.status, text.text).toBe(415)
    expect(text.body.error.code).toBe('unsupported_media_type')
    const truncated = await send(server, 'POST', `/callbacks/${token}`, '{"diff": "a", "summ')
    expect(truncated.status, truncated.text).toBe(415)
    const empty = await send(server, 'POST', `/callbacks/${token}`, '')
    expect(empty.status, empty.text).toBe(415)

    const mismatch = await post(server, token, { summary: 42 })
    expect(mismatch.status, mismatch.text).toBe(422)
    expect(mismatch.body.error.code).toBe('invalid_payload')
    const problems: Json[] = mismatch.body.error.details.problems
    expect(problems.length).toBeGreaterThan(0)
    expect(JSON.stringify(problems)).toContain('diff')
    expect(JSON.stringify(problems)).toContain('summary')
    const notAnObject = await post(server, token, ['diff', 'summary'])
    expect(notAnObject.status, notAnObject.text).toBe(422)

    expect((await state(server, token)).status).toBe('open')
    expect((await showRun(server, run.id)).run.status).toBe('waiting')
    expect((await runEvents(server, run.id)).length).toBe(before)

    const good = await post(server, token, { diff: '+ok', summary: 'second try' })
    expect(good.status, good.text).toBe(202)
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.output).toBe('second try')
  })

  it('keeps an early callback and consumes it when the wait starts', async () => {
    const run = await startRun(server, 'cb_early')
    expect(run.status).toBe('waiting')
    expect(run.waiting_on).toMatchObject({ step: 'nap', kind: 'sleep' })
    const token = await callbackToken(server, run.id)

    const before = await state(server, token)
    expect(before).toMatchObject({ run_id: run.id, step: 'agent', visit: 1, status: 'not_started' })

    const payload = { summary: 'done before you asked', extra: [1, 2, 3] }
    const early = await post(server, token, payload)
    expect(early.status, early.text).toBe(202)
    expect(early.body.data).toMatchObject({ status: 'accepted', early: true, run_id: run.id, step: 'agent' })
    expect(early.body.data.run).toEqual({ id: run.id, status: 'waiting' })
    expect((await state(server, token)).status).toBe('received_early')
    // Still asleep: the callback did not cut the sleep short.
    expect((await showRun(server, run.id)).run.waiting_on).toMatchObject({ step: 'nap' })

    const repeat = await post(server, token, payload)
    expect(repeat.status, repeat.text).toBe(200)
    const other = await post(server, token, { summary: 'a different answer' })
    expect(other.status, other.text).toBe(409)

    clock.advance(HOUR)
    const done = await runReaches(server, run.id, ['succeeded', 'failed', 'timed_out'], 15_000)
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('done before you asked')
    expect(done.steps.find((s: Json) => s.step === 'agent').output).toEqual(payload)
    const types = (await runEvents(server, run.id)).map((e: Json) => e.type)
    expect(types).toContain('callback.early')
    expect(types.indexOf('sleep.ended')).toBeLessThan(types.lastIndexOf('wait.completed'))
  })

  it('an early callback that does not match the schema is refused at once, not accepted and then dropped', async () => {
    const run = await startRun(server, 'cb_early')
    const token = await callbackToken(server, run.id)
    // The schema is never templated, so it is known before the wait starts.
    const early = await post(server, token, { not_a_summary: true })
    clock.advance(HOUR)
    // Whatever the answer, the wait must open normally after the sleep and take a valid body.
    // Between the sleep and the wait the run is briefly `running`: wait for it to park on the wait, or to end.
    const parked = await eventually(async () => {
      const shown = await showRun(server, run.id)
      return shown.run.waiting_on?.step === 'agent' || isTerminal(shown.run.status) ? shown : undefined
    }, 'the run to reach its wait')
    expect(parked.run.status).toBe('waiting')
    expect((await state(server, token)).status).toBe('open')
    const good = await post(server, token, { summary: 'valid, on time' })
    expect(good.status, good.text).toBe(202)
    expect((await runReaches(server, run.id, ['succeeded', 'failed'])).run.output).toBe('valid, on time')
    // An agent told 202 believes it delivered; the body was dropped when the wait opened.
    expect(early.status, `early mismatching callback answered ${early.status} ${early.text}`).toBe(422)
  })

  it('/fail routes through on_error, and on_timeout: continue goes on with the default', async () => {
    const run = await startRun(server, 'cb_routes')
    const token = await callbackToken(server, run.id)
    const failed = await post(server, token, { reason: 'gave up' }, '/fail')
    expect(failed.status, failed.text).toBe(202)
    await eventually(async () => {
      const shown = await showRun(server, run.id)
      return shown.run.waiting_on?.step === 'idle' ? true : undefined
    }, 'the run to park on its idle wait')
    clock.advance(HOUR)
    const done = await runReaches(server, run.id, ['succeeded', 'failed', 'timed_out'], 10_000)
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.run.output).toEqual({ agent: 'agent_failed', idle: { fallback: true } })
    expect(done.steps.find((s: Json) => s.step === 'agent')).toMatchObject({ status: 'failed' })
    const types = (await runEvents(server, run.id)).map((e: Json) => e.type)
    expect(types).toContain('wait.timed_out')
  })

  it('a wait that times out fails its step through on_error, like /fail does', async () => {
    const run = await startRun(server, 'cb_timeout_routes')
    clock.advance(HOUR)
    const done = await runReaches(server, run.id, ['succeeded', 'failed', 'timed_out'], 10_000)
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.run.output).toBe('wait_timed_out')
    expect(done.steps.find((s: Json) => s.step === 'agent')).toMatchObject({ status: 'failed' })
    expect(done.steps.some((s: Json) => s.step === 'skipped')).toBe(false)

    // A step timeout on a wait with none of its own is the wait's timeout.
    const bounded = await startRun(server, 'cb_step_timeout')
    expect(bounded.status).toBe('waiting')
    clock.advance(HOUR)
    const ended = await runReaches(server, bounded.id, ['succeeded', 'failed', 'timed_out'], 10_000)
    expect(ended.run.status).toBe('timed_out')
    expect(ended.run.error).toMatchObject({ code: 'wait_timed_out', step: 'agent' })
  })

  it('text in a wait schema that looks like a template is kept as written, not evaluated', async () => {
    const run = await startRun(server, 'cb_literal_schema')
    expect(run.status).toBe('waiting')
    const token = await callbackToken(server, run.id)
    expect((await post(server, token, { nope: 1 })).status).toBe(422)
    const accepted = await post(server, token, { tag: 'v1' })
    expect(accepted.status, accepted.text).toBe(202)
    expect((await runReaches(server, run.id, ['succeeded', 'failed'])).run.output).toEqual({ tag: 'v1' })
  })

  it('keeps an early callback for a job step and completes the job with it when it opens', async () => {
    const run = await startRun(server, 'cb_early_job')
    expect(run.waiting_on).toMatchObject({ step: 'nap', kind: 'sleep' })
    const token = await callbackToken(server, run.id)
    const early = await post(server, token, { lint: 'clean' })
    expect(early.status, early.text).toBe(202)
    expect(early.body.data.early).toBe(true)
    clock.advance(HOUR)
    const done = await runReaches(server, run.id, ['succeeded', 'failed', 'timed_out'], 10_000)
    expect(done.run).toMatchObject({ status: 'succeeded', output: { lint: 'clean' } })
  })

  it('heartbeats extend the deadline and record the progress', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const initial = await state(server, token)
    const initialDeadline = Date.parse(initial.deadline_at)
    expect(initialDeadline).toBeGreaterThan(Date.now() + 25 * 60_000)

    const sentAt = Date.now()
    const beat = await post(server, token, { progress: 'compiling 3/10', extend: '1h' }, '/heartbeat')
    expect(beat.status, beat.text).toBe(200)
    expect(beat.body.data.status).toBe('alive')
    const moved = Date.parse(beat.body.data.deadline_at)
    expect(moved).toBeGreaterThan(initialDeadline)
    expect(moved).toBeGreaterThanOrEqual(sentAt + 3_600_000 - 1_000)
    expect(Date.parse((await state(server, token)).deadline_at)).toBe(moved)

    const events = await runEvents(server, run.id)
    const heartbeat = events.find((e: Json) => e.type === 'wait.heartbeat')
    expect(heartbeat).toMatchObject({ step: 'agent', data: { progress: 'compiling 3/10' } })

    // A malformed extend is refused, not ignored, and changes nothing.
    for (const extend of [1800, 'banana', '-5h', '100000d']) {
      const bad = await post(server, token, { progress: 'x', extend }, '/heartbeat')
      expect(bad.status, bad.text).toBe(422)
      expect(bad.body.error.code).toBe('invalid_extend')
    }
    expect(Date.parse((await state(server, token)).deadline_at)).toBe(moved)

    const bare = await send(server, 'POST', `/callbacks/${token}/heartbeat`, '')
    expect(bare.status, bare.text).toBe(200)
    expect((await showRun(server, run.id)).run.status).toBe('waiting')
    const garbage = await send(server, 'POST', `/callbacks/${token}/heartbeat`, 'alive!', 'text/plain')
    expect(garbage.status, garbage.text).toBe(415)

    expect((await post(server, token, { diff: '', summary: 'ok' })).status).toBe(202)
    await runReaches(server, run.id, ['succeeded'])
    const afterEnd = await post(server, token, { progress: 'late' }, '/heartbeat')
    expect(afterEnd.status, afterEnd.text).toBe(409)
    expect(afterEnd.body.error.code).toBe('wait_ended')
  })

  it('a heartbeat on a wait without a timeout never leaves it expired while the run keeps waiting', async () => {
    const run = await startRun(server, 'cb_open')
    const token = await callbackToken(server, run.id)
    expect((await state(server, token)).deadline_at).toBeNull()
    const beat = await post(server, token, { progress: 'still here', extend: '1s' }, '/heartbeat')
    expect(beat.status, beat.text).toBe(200)
    clock.advance(2_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    // Either the extension was a no-op and the wait still takes callbacks, or it became a real timeout that ended
    // the wait. What must not happen: a wait that says it is open, a run that waits forever, and callbacks that 410.
    const answer = await post(server, token, { summary: 'finished' })
    const now = await state(server, token)
    if (answer.status !== 202) {
      expect(now.status, `callback answered ${answer.status} ${answer.text}`).not.toBe('open')
      expect(now.run_status).not.toBe('waiting')
    } else {
      expect((await runReaches(server, run.id, ['succeeded'])).run.output).toBe('finished')
    }
  })

  it('/fail fails the waiting step with the reason', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const failed = await post(server, token, { reason: 'agent crashed: out of memory' }, '/fail')
    expect(failed.status, failed.text).toBe(202)
    const done = await runReaches(server, run.id, ['failed', 'succeeded'])
    expect(done.run.status).toBe('failed')
    expect(done.run.error).toMatchObject({ code: 'agent_failed', step: 'agent' })
    expect(done.run.error.message).toContain('agent crashed: out of memory')
    expect(done.steps.some((s: Json) => s.step === 'finish')).toBe(false)
    const types = (await runEvents(server, run.id)).map((e: Json) => e.type)
    expect(types).toContain('wait.failed')
    expect(types.at(-1)).toBe('run.failed')

    const late = await post(server, token, { diff: 'd', summary: 's' })
    expect(late.status, late.text).toBe(410)
    // The wait is over: a second /fail answers 409 like any heartbeat or /fail after the wait ended.
    expect((await post(server, token, { reason: 'again' }, '/fail')).status).toBe(409)
    expect((await state(server, token)).status).toBe('failed')
  })

  it('GET /callbacks/:token shows the state and never changes it', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const before = await showRun(server, run.id)
    const eventsBefore = await runEvents(server, run.id)
    for (let i = 0; i < 5; i++) {
      const wait = await state(server, token)
      expect(wait).toMatchObject({ run_id: run.id, step: 'agent', visit: 1, status: 'open', run_status: 'waiting' })
      expect(wait.deadline_at).toEqual(expect.any(String))
    }
    const head = await fetch(`${server.url}/callbacks/${token}`, { method: 'HEAD' })
    expect(head.status).toBeLessThan(500)
    const after = await showRun(server, run.id)
    expect(after).toEqual(before)
    expect(await runEvents(server, run.id)).toEqual(eventsBefore)
    // The GETs did not complete, extend or close anything: the first real callback is still accepted.
    expect((await post(server, token, { diff: 'd', summary: 'after GETs' })).status).toBe(202)
    await runReaches(server, run.id, ['succeeded'])
    expect((await state(server, token)).status).toBe('completed')
  })

  it('a 2 MiB payload round-trips as a resource with the exact bytes', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const unit = 'diff line ø æ 🚀 <>&"\\\n'
    const diff = unit.repeat(Math.ceil((2 * 1024 * 1024) / Buffer.byteLength(unit)))
    const raw = Buffer.from(JSON.stringify({ summary: 'big one', diff, files: ['a.ts', 'b.ts'] }))
    expect(raw.length).toBeGreaterThan(2 * 1024 * 1024)
    const sha = createHash('sha256').update(raw).digest('hex')

    const sent = await send(server, 'POST', `/callbacks/${token}`, raw)
    expect(sent.status, sent.text).toBe(202)
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('big one')

    const listed = await api(server, 'GET', `/api/v1/resources?run=${run.id}`)
    expect(listed.status).toBe(200)
    const resources: Json[] = (listed.body.data as Json).resources
    const whole = resources.find((r) => r.ref === `res://${sha}`)
    expect(whole, JSON.stringify(resources)).toMatchObject({ size: raw.length, run_id: run.id })

    const fetched = await fetch(`${server.url}/api/v1/resources/${sha}`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    expect(fetched.status).toBe(200)
    const bytes = Buffer.from(await fetched.arrayBuffer())
    expect(bytes.length).toBe(raw.length)
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha)
    expect(fetched.headers.get('x-greenlight-sha256')).toBe(sha)
    const byRef = await fetch(`${server.url}/api/v1/resources/${encodeURIComponent(`res://${sha}`)}`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    expect(byRef.status).toBe(200)
    expect(Buffer.from(await byRef.arrayBuffer()).equals(raw)).toBe(true)

    const output = done.steps.find((s: Json) => s.step === 'agent').output
    expect(JSON.stringify(output)).toMatch(/res:\/\/[0-9a-f]{64}/)
    expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(256 * 1024)
    const diffRef = String(output.diff)
    expect(diffRef).toMatch(/^res:\/\/[0-9a-f]{64}$/)
    const diffRes = await fetch(`${server.url}/api/v1/resources/${diffRef.slice('res://'.length)}`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    expect(Buffer.from(await diffRes.arrayBuffer()).toString('utf8')).toBe(diff)
  })

  it('a refused large body leaves nothing behind (no orphan resources): 422, 409 and 410', async () => {
    const resourcesOf = async (runId: string): Promise<string[]> => {
      const listed = await api(server, 'GET', `/api/v1/resources?run=${runId}`)
      return ((listed.body.data as Json).resources as Json[]).map((r) => r.ref)
    }
    // Over the 256 KiB resource threshold, and missing `diff`.
    const big = (tag: string) => ({ summary: `${tag}:${'x'.repeat(300 * 1024)}` })

    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const rejected = await post(server, token, big('mismatch'))
    expect(rejected.status, rejected.text.slice(0, 300)).toBe(422)
    expect(await resourcesOf(run.id), 'resources written for a 422 callback').toEqual([])

    expect((await post(server, token, { diff: 'd', summary: 'small' })).status).toBe(202)
    await runReaches(server, run.id, ['succeeded'])
    const conflicting = await post(server, token, { ...big('conflict'), diff: 'd' })
    expect(conflicting.status, conflicting.text.slice(0, 300)).toBe(409)
    expect(await resourcesOf(run.id), 'resources written for a 409 callback').toEqual([])

    const timedOut = await startRun(server, 'cb_timeout')
    const timedOutToken = await callbackToken(server, timedOut.id)
    clock.advance(HOUR)
    await runReaches(server, timedOut.id, ['timed_out', 'failed'], 10_000)
    const expired = await post(server, timedOutToken, big('expired'))
    expect(expired.status, expired.text.slice(0, 300)).toBe(410)
    expect(await resourcesOf(timedOut.id), 'resources written for a 410 callback').toEqual([])
  })

  it('accepts only the exact token it handed out, not other spellings of its signature', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const [payloadPart, mac] = token.split('.') as [string, string]
    // Base64url decoders skip what they cannot read and ignore bits past the last whole byte, so each of these
    // decodes to the same signature bytes; a strict verifier must still treat them as unknown tokens.
    const respellings = [
      `${token}A`,
      `${token}AA`,
      `${token}=`,
      `${token}~`,
      `${payloadPart}.${mac.slice(0, 16)}~${mac.slice(16)}`,
      `${payloadPart}.${mac.replaceAll('-', '+')}`,
    ].filter((t) => t !== token)
    const notFound = await send(server, 'POST', `/callbacks/${randomBytes(24).toString('base64url')}/heartbeat`, '{}')
    for (const respelled of respellings) {
      const beat = await post(server, respelled, { progress: 'respelled', extend: '2h' }, '/heartbeat')
      expect(beat.status, `${respelled}: ${beat.text}`).toBe(404)
      expect(beat.text).toBe(notFound.text)
    }
    const events = await runEvents(server, run.id)
    expect(events.filter((e: Json) => e.type === 'wait.heartbeat')).toEqual([])
    expect((await post(server, token, { diff: 'd', summary: 'exact token' })).status).toBe(202)
  })

  it('is still healthy after all of this', async () => {
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ ok: true })
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  })
})

describe('callbacks: body limit', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_MAX_BODY_BYTES: '4096', GREENLIGHT_SECRET_KEY: KEY.toString('base64') })
    await pushRelease(server, AGENT_FLOW)
  })
  afterAll(async () => server.close())

  it('413 for a body over GREENLIGHT_MAX_BODY_BYTES, declared or streamed; the wait stays open', async () => {
    const run = await startRun(server, 'cb_agent')
    const token = await callbackToken(server, run.id)
    const tooBig = JSON.stringify({ diff: 'x'.repeat(5000), summary: 'big' })

    const declared = await send(server, 'POST', `/callbacks/${token}`, tooBig)
    expect(declared.status, declared.text).toBe(413)
    expect(declared.body.error.code).toBe('payload_too_large')

    // No content-length: the limit must hold for a chunked body too.
    const chunks = [Buffer.from(tooBig.slice(0, 2000)), Buffer.from(tooBig.slice(2000))]
    const streamed = await fetch(`${server.url}/callbacks/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(streamed.status).toBe(413)

    const beat = await send(
      server,
      'POST',
      `/callbacks/${token}/heartbeat`,
      JSON.stringify({ progress: 'p'.repeat(9000) }),
    )
    expect(beat.status, beat.text).toBeLessThan(500)

    expect((await state(server, token)).status).toBe('open')
    const fits = await post(server, token, { diff: 'x'.repeat(3000), summary: 'fits' })
    expect(fits.status, fits.text).toBe(202)
    expect((await runReaches(server, run.id, ['succeeded', 'failed'])).run.output).toBe('fits')
  })

  it('413 from the API for a body over the limit, declared or chunked; a GET passes; nothing is started', async () => {
    const runsBefore = await api(server, 'GET', '/api/v1/runs?limit=200')
    const body = JSON.stringify({ flow: 'cb_agent', inputs: { note: 'x'.repeat(5000) } })
    const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }
    const declared = await fetch(`${server.url}/api/v1/runs`, { method: 'POST', headers, body })
    expect(declared.status).toBe(413)
    expect(((await declared.json()) as Json).error.code).toBe('payload_too_large')
    const chunked = await fetch(`${server.url}/api/v1/runs`, {
      method: 'POST',
      headers,
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(body.slice(0, 3000)))
          controller.enqueue(new TextEncoder().encode(body.slice(3000)))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    const small = new TextEncoder().encode(JSON.stringify({ flow: 'cb_agent', inputs: {} }))
    const chunkedSmall = await fetch(`${server.url}/api/v1/runs`, {
      method: 'POST',
      headers,
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(small)
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(chunkedSmall.status, await chunkedSmall.clone().text()).toBe(201)
    const runsAfter = await api(server, 'GET', '/api/v1/runs?limit=200')
    expect(runsAfter.status).toBe(200)
    const count = (r: typeof runsBefore) => (r.body.data as { runs: unknown[] }).runs.length
    expect(count(runsAfter)).toBe(count(runsBefore) + 1)
  })
})
