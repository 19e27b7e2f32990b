// What an approval leaves behind and how its timers behave, on a real server with a clock the test drives: the
// token behind every change, a rejection that reads as one, errors that name the mistake, the escalation ladder,
// reminders after downtime, and run pinning across a release.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testClock } from '../support/clock.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const HOUR = 3_600_000
const clock = testClock('2026-06-01T09:00:00Z')

const REVIEW = `slug: rec_review
steps:
  - id: review
    approval:
      message: "Ship it?"
      approvers: { users: [U0ANN, U0BOB] }
  - id: after
    transform: "{{ steps.review.output.decision }}"
`

const WAIT = `slug: rec_wait
steps:
  - id: hold
    wait: {}
  - id: fail_now
    transform: "{{ $error('boom') }}"
`

const LADDER = `slug: rec_ladder
steps:
  - id: review
    approval:
      message: "Escalate me"
      approvers: { users: [U0ANN] }
      timeout: 8h
      escalate:
        - { after: 1h, to: { users: [U0LEAD] } }
        - { after: 3h, to: { users: [U0DIR] } }
`

const REMIND = `slug: rec_remind
steps:
  - id: review
    approval:
      message: "Remind me"
      approvers: { users: [U0ANN] }
      remind_every: 1h
`

const pinned = (label: string) => `slug: rec_pinned
steps:
  - id: review
    approval:
      message: "Pinned ${label}"
      approvers: { users: [U0ANN] }
  - id: after
    transform: "'${label}'"
`

type Minted = Awaited<ReturnType<typeof mintToken>>

const mint = mintToken

async function parked(server: TestServer, runId: string): Promise<string> {
  return eventually(
    async () => {
      const shown = await showRun(server, runId)
      return shown.run.status === 'waiting' ? (shown.run.waiting_on.wait_id as string) : undefined
    },
    () => `run ${runId} to park`,
  )
}

describe('approval records and timers', () => {
  let server: TestServer
  let ann: Minted
  let bob: Minted
  let lead: Minted
  let dir: Minted
  let ops: Minted

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    for (const flow of [REVIEW, WAIT, LADDER, REMIND, pinned('v1')]) await pushRelease(server, flow)
    ann = await mint(server, 'ann-laptop', ['approvals:decide'], 'U0ANN')
    bob = await mint(server, 'minted-for-bob', ['approvals:decide'], 'U0BOB')
    lead = await mint(server, 'lead', ['approvals:decide'], 'U0LEAD')
    dir = await mint(server, 'dir', ['approvals:decide'], 'U0DIR')
    ops = await mint(server, 'ops-ci', ['runs:write', 'runs:read'])
  })
  afterAll(async () => server.close())

  async function start(flow: string, token = ops.secret): Promise<string> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {} }, token)
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run.id
  }

  it('names the token behind a vote, a start, a cancel, a retry and a completed wait, under the audit chain', async () => {
    const runId = await start('rec_review')
    const waitId = await parked(server, runId)
    const voted = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, bob.secret)
    expect(voted.status, JSON.stringify(voted.body)).toBe(201)
    await runReaches(server, runId, ['succeeded'])

    const events = await runEvents(server, runId)
    const started = events.find((e) => e.type === 'run.started')
    expect(started.data.token).toEqual({ id: ops.id, name: 'ops-ci' })
    const vote = events.find((e) => e.type === 'approval.voted')
    expect(vote.actor).toBe('U0BOB')
    expect(vote.data.token).toEqual({ id: bob.id, name: 'minted-for-bob' })
    const wait = await api(server, 'GET', `/api/v1/waits/${waitId}`)
    expect((wait.body.data as Json).wait.votes[0]).toMatchObject({
      user: 'U0BOB',
      via: 'api',
      token: { id: bob.id, name: 'minted-for-bob' },
    })
    const audit = await api(server, 'GET', `/api/v1/runs/${runId}/audit`)
    expect((audit.body.data as Json).audit).toMatchObject({ ok: true, problems: [] })

    // Complete a wait, let the run fail, retry it, and cancel it: each change names the token.
    const other = await start('rec_wait')
    const holdId = await parked(server, other)
    const completed = await api(server, 'POST', `/api/v1/waits/${holdId}/complete`, { payload: {} }, ops.secret)
    expect(completed.status, JSON.stringify(completed.body)).toBe(202)
    await runReaches(server, other, ['failed'])
    const retried = await api(server, 'POST', `/api/v1/runs/${other}/retry`, { from: 'hold' }, ops.secret)
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    await parked(server, other)
    const canceled = await api(server, 'POST', `/api/v1/runs/${other}/cancel`, {}, ops.secret)
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200)
    const history = await runEvents(server, other)
    for (const type of ['wait.completed', 'run.retried', 'run.canceled']) {
      expect(history.find((e) => e.type === type)?.data.token, type).toEqual({ id: ops.id, name: 'ops-ci' })
    }
  })

  it('shows a rejected approval step as failed, and refuses a retry past it', async () => {
    const runId = await start('rec_review')
    const waitId = await parked(server, runId)
    const rejected = await api(server, 'POST', `/api/v1/waits/${waitId}/reject`, { comment: 'not now' }, ann.secret)
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(201)
    const done = await runReaches(server, runId, ['failed'])
    const step = done.steps.find((s: Json) => s.step === 'review')
    expect(step.status).toBe('failed')
    expect(step.output.decision).toBe('rejected')
    expect(done.run.error.code).toBe('approval_rejected')
    const retry = await api(server, 'POST', `/api/v1/runs/${runId}/retry`, { from: 'review' }, ops.secret)
    expect(retry.status, JSON.stringify(retry.body)).toBe(409)
  })

  it('says what is wrong: completing an approval, and voting with a digest that was never shown', async () => {
    const runId = await start('rec_review')
    const waitId = await parked(server, runId)
    const complete = await api(server, 'POST', `/api/v1/waits/${waitId}/complete`, { payload: {} }, ops.secret)
    expect(complete.status, JSON.stringify(complete.body)).toBe(409)
    expect(complete.body.error?.code).toBe('is_approval')
    expect(complete.body.error?.hint).toContain(`waits approve ${waitId}`)
    expect(complete.body.error?.hint).toContain('waits reject')

    const wrong = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, { digest: 'f'.repeat(64) }, ann.secret)
    expect(wrong.status, JSON.stringify(wrong.body)).toBe(409)
    expect(wrong.body.error?.code).toBe('digest_mismatch')
    expect(wrong.body.error?.message).toContain('does not match')
    expect(wrong.body.error?.message).not.toContain('newer revision')
    expect((await showRun(server, runId)).run.status).toBe('waiting')
  })

  it('climbs an escalation ladder: each level fires once, adds its voters and is recorded', async () => {
    const runId = await start('rec_ladder')
    const waitId = await parked(server, runId)
    const early = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, dir.secret)
    expect(early.body.error?.code).toBe('not_eligible')

    clock.advance(HOUR + 1000)
    const first = await eventually(async () => {
      const found = (await runEvents(server, runId)).filter((e) => e.type === 'approval.escalated')
      return found.length >= 1 ? found : undefined
    }, 'the first escalation')
    expect(first.map((e) => e.data.level)).toEqual([1])
    expect(first[0].data).toMatchObject({ to: ['U0LEAD'], levels: 2, after: '1h' })
    const stillOut = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, dir.secret)
    expect(stillOut.body.error?.code).toBe('not_eligible')

    clock.advance(2 * HOUR)
    const both = await eventually(async () => {
      const found = (await runEvents(server, runId)).filter((e) => e.type === 'approval.escalated')
      return found.length >= 2 ? found : undefined
    }, 'the second escalation')
    expect(both.map((e) => e.data.level)).toEqual([1, 2])
    const wait = (await api(server, 'GET', `/api/v1/waits/${waitId}`)).body.data as Json
    expect(wait.wait.escalated_to).toEqual(['U0LEAD', 'U0DIR'])
    expect(wait.wait.escalate).toHaveLength(2)
    const byDirector = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, dir.secret)
    expect(byDirector.status, JSON.stringify(byDirector.body)).toBe(201)
    await runReaches(server, runId, ['succeeded'])
    expect(lead.id).not.toBe(dir.id)
  })

  it('refuses a ladder whose levels do not climb', async () => {
    const bad = await api(server, 'POST', '/api/v1/flows', {
      source: LADDER.replace('rec_ladder', 'rec_bad').replace('after: 3h', 'after: 30m'),
    })
    expect(bad.status, JSON.stringify(bad.body)).toBe(422)
    expect(JSON.stringify(bad.body)).toContain('each escalation level must come after the one before it')
  })

  it('after downtime fires one reminder, then continues an interval from now', async () => {
    const runId = await start('rec_remind')
    await parked(server, runId)
    const reminders = async () => (await runEvents(server, runId)).filter((e) => e.type === 'approval.reminded')
    // Five intervals pass at once, as when the server was down: one reminder, not five.
    clock.advance(5 * HOUR + 1000)
    await eventually(async () => ((await reminders()).length >= 1 ? true : undefined), 'the first reminder')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect((await reminders()).map((e) => e.data.reminder)).toEqual([1])
    clock.advance(HOUR / 2)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await reminders()).toHaveLength(1)
    clock.advance(HOUR / 2)
    await eventually(async () => ((await reminders()).length >= 2 ? true : undefined), 'the second reminder')
    expect((await reminders()).map((e) => e.data.reminder)).toEqual([1, 2])
  })

  it('finishes a run parked on v1 on v1 after v2 goes live', async () => {
    const runId = await start('rec_pinned')
    const waitId = await parked(server, runId)
    await pushRelease(server, pinned('v2'))
    const flow = await api(server, 'GET', '/api/v1/flows/rec_pinned')
    expect((flow.body.data as Json).flow.live_version).toBe(2)
    const voted = await api(server, 'POST', `/api/v1/waits/${waitId}/approve`, {}, ann.secret)
    expect(voted.status, JSON.stringify(voted.body)).toBe(201)
    const done = await runReaches(server, runId, ['succeeded'])
    expect(done.run.version).toBe(1)
    expect(done.run.output).toBe('v1')
    const fresh = await start('rec_pinned')
    const shown = await showRun(server, fresh)
    expect(shown.run.version).toBe(2)
  })
})
