// Pure steps after a wait run inside the callback's own transaction (src/engine/inline-steps.ts): the run ends in
// that one write, with every step result and event as if the scheduler had run them; anything else still goes through
// the scheduler. The server's write counter (/metrics) tells which path a run took.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TERMINAL_STATUSES } from '../../src/core/run-status.ts'
import { type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

/** A flow that hands out the `agent` wait's callback URL, parks on it, then runs `after` (steps in YAML). */
const agentFlow = (slug: string, after: string, head = '') => `slug: ${slug}
${head}steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: {}
${after}`

const FLOWS = [
  agentFlow(
    'in_chain',
    `  - id: shape
    transform: "{{ { 'summary': steps.agent.output.summary, 'run': run.id } }}"
  - id: finish
    transform: "{{ steps.shape.output.summary & '!' }}"
`,
  ),
  // A transform that fails must reach on_error through the scheduler, like any other step failure.
  agentFlow(
    'in_error',
    `  - id: broken
    transform: "{{ $error('no summary') }}"
    on_error: continue
  - id: finish
    transform: "{{ steps.broken.output.error.code }}"
`,
  ),
  // A step with a timeout, or a condition, is left to the scheduler too.
  agentFlow(
    'in_timeout',
    `  - id: finish
    transform: "{{ steps.agent.output.summary }}"
    timeout: 5s
`,
  ),
  agentFlow(
    'in_then_http',
    `  - id: shape
    transform: "{{ steps.agent.output.summary }}"
  - id: call
    if: "{{ false }}"
    http: { url: "{{ inputs.target }}" }
  - id: finish
    transform: "{{ steps.shape.output & '.' }}"
`,
    'inputs: { target: { type: string, default: "http://127.0.0.1:9/unreachable" } }\n',
  ),
  `slug: in_approval
steps:
  - id: review
    approval: { message: "Ship it?", approvers: { users: [U0ANN] } }
  - id: finish
    transform: "{{ steps.review.output.decision & ' by ' & steps.review.output.votes[0].user }}"
`,
]

async function writes(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('greenlight_db_write_transactions '))
  expect(line, 'write counter in /metrics').toBeDefined()
  return Number(line?.split(' ')[1])
}

/**
 * Parks a run of `flow` on its wait, then completes the wait; returns the ended run, the writes that took, and the
 * run status the callback's `202` reported.
 */
async function callBack(
  server: TestServer,
  flow: string,
  summary: string,
): Promise<{ shown: Json; writes: number; answered: string }> {
  const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  const run = (started.body.data as Json).run
  expect(run.status).toBe('waiting')
  const url = (await showRun(server, run.id)).steps.find((s: Json) => s.step === 'hand_out').output as string
  const before = await writes(server)
  const answer = await fetch(url.replace(/^.*\/callbacks\//, `${server.url}/callbacks/`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ summary }),
  })
  expect(answer.status).toBe(202)
  const body = (await answer.json()) as Json
  expect(body.data.run.id).toBe(run.id)
  const shown = await runReaches(server, run.id, [...TERMINAL_STATUSES])
  return { shown, writes: (await writes(server)) - before, answered: body.data.run.status }
}

describe('pure steps after a callback', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({
      GREENLIGHT_SECRET_KEY: randomBytes(32).toString('base64'),
      PUBLIC_URL: 'http://greenlight.invalid',
    })
    for (const flow of FLOWS) await pushRelease(server, flow)
    // The first API call records the token's use; let that write happen before anything is counted.
    await api(server, 'GET', '/api/v1/runs?limit=1')
  })
  afterAll(async () => server.close())

  it('run in the callback transaction: the run ends in that one write, recorded step by step', async () => {
    const { shown, writes: count, answered } = await callBack(server, 'in_chain', 'fixed it')
    expect(count).toBe(1)
    // The callback's answer already says the run ended: it was committed before the 202.
    expect(answered).toBe('succeeded')
    expect(shown.run.status).toBe('succeeded')
    expect(shown.run.output).toBe('fixed it!')
    const step = (id: string) => shown.steps.find((s: Json) => s.step === id)
    expect(step('shape')).toMatchObject({ status: 'succeeded', output: { summary: 'fixed it', run: shown.run.id } })
    expect(step('finish')).toMatchObject({ status: 'succeeded', output: 'fixed it!' })

    const types = (await runEvents(server, shown.run.id)).map((e: Json) => `${e.type}:${e.step ?? e.step_id ?? ''}`)
    expect(types.slice(-5)).toEqual([
      'wait.completed:agent',
      'step.succeeded:agent',
      'step.succeeded:shape',
      'step.succeeded:finish',
      'run.succeeded:',
    ])
    const audit = await api(server, 'GET', `/api/v1/runs/${shown.run.id}/audit`)
    expect((audit.body.data as Json).audit).toMatchObject({ ok: true, problems: [] })
    // Inline transforms are billable executions like any other.
    const month = new Date().toISOString().slice(0, 7)
    const usage = ((await api(server, 'GET', `/api/v1/usage?month=${month}`)).body.data as Json).usage
    expect(usage.flows.find((f: Json) => f.flow === 'in_chain')).toEqual({
      flow: 'in_chain',
      executions: 3,
      by_kind: { transform: 3 },
    })
  })

  it('run in the transaction of the vote that decides an approval', async () => {
    const ann = (await mintToken(server, 'ann', ['approvals:decide'], 'U0ANN')).secret
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'in_approval', inputs: {}, wait: true })
    const run = (started.body.data as Json).run
    expect(run.waiting_on).toMatchObject({ kind: 'approval' })
    await api(server, 'GET', '/api/v1/runs?limit=1', undefined, ann)
    const before = await writes(server)
    const voted = await api(server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/approve`, {}, ann)
    expect(voted.status, JSON.stringify(voted.body)).toBe(201)
    const shown = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect((await writes(server)) - before).toBe(1)
    expect(shown.run).toMatchObject({ status: 'succeeded', output: 'approved by U0ANN' })
  })

  it('a failing transform goes to the scheduler, which routes it by on_error', async () => {
    const { shown, writes: count, answered } = await callBack(server, 'in_error', 'x')
    expect(count).toBeGreaterThan(1)
    expect(answered).toBe('running')
    expect(shown.run.status).toBe('succeeded')
    expect(shown.steps.find((s: Json) => s.step === 'broken')).toMatchObject({ status: 'failed' })
    expect(shown.run.output).toBe(shown.steps.find((s: Json) => s.step === 'broken').error.code)
  })

  it('a transform with a timeout, or a step with a condition, is left to the scheduler', async () => {
    const timed = await callBack(server, 'in_timeout', 'on time')
    expect(timed.writes).toBeGreaterThan(1)
    expect(timed.answered).toBe('running')
    expect(timed.shown.run).toMatchObject({ status: 'succeeded', output: 'on time' })

    const mixed = await callBack(server, 'in_then_http', 'shaped')
    expect(mixed.writes).toBeGreaterThan(1)
    expect(mixed.shown.run).toMatchObject({ status: 'succeeded', output: 'shaped.' })
    const shape = mixed.shown.steps.find((s: Json) => s.step === 'shape')
    const call = mixed.shown.steps.find((s: Json) => s.step === 'call')
    expect(shape).toMatchObject({ status: 'succeeded', output: 'shaped' })
    expect(call).toMatchObject({ status: 'skipped' })
  })
})
