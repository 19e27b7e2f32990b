// End to end in Socket Mode, against the fake Slack: /gl run arrives as a `slash_commands` envelope, two eligible
// approvers click in `interactive` envelopes, the run succeeds and the approval message shows the outcome.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildBlockActionPayload,
  buildSlashCommandPayload,
  createFakeSlack,
  type FakeSlack,
} from '../support/fake-slack/index.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'
import { blocksOf } from '../support/slack-harness.ts'

const CHANNEL = 'C0SOCK'
const USERS = ['U0INIT', 'U0ANN', 'U0BOB', 'U0OUT']

const FLOW = `slug: socket_approve
name: Approve over Socket Mode
steps:
  - id: review
    approval:
      message: "*Socket patch* ready for review"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
  - id: done
    notify: { text: "Shipped over the socket" }
`

interface RunBody {
  run: { status: string }
  steps: { step: string; output: { decision: string; votes: { user: string }[] } | null }[]
}

describe('Slack end to end (Socket Mode)', () => {
  let fake: FakeSlack
  let server: TestServer

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: USERS.map((id) => ({ id, name: id.toLowerCase() })),
      channels: { [CHANNEL]: { name: 'socket-bots', members: USERS } },
    })
    server = await startTestServer({
      SLACK_BOT_TOKEN: 'xoxb-e2e-socket',
      SLACK_APP_TOKEN: 'xapp-1-e2e-socket',
      SLACK_API_URL: fake.apiUrl,
      LOG_LEVEL: 'error',
    })
    await fake.socket.waitForConnection(10_000)
    expect((await api(server, 'POST', '/api/v1/flows', { source: FLOW })).status).toBe(201)
    expect((await api(server, 'POST', '/api/v1/flows/socket_approve/release', {})).status).toBe(201)
  })
  afterAll(async () => {
    await server?.close()
    await fake?.close()
  })

  it('runs from a /gl envelope, counts two approvals from interactive envelopes, and shows who approved and when', async () => {
    expect(fake.callsTo('apps.connections.open').length).toBeGreaterThan(0)
    const ack = await fake.socket.send(
      'slash_commands',
      buildSlashCommandPayload({ text: 'run socket_approve', user_id: 'U0INIT', channel_id: CHANNEL }, { fake }),
    )
    const reply = JSON.stringify(ack.payload ?? {})
    expect(reply).toContain('Started')
    const runId = /run_[0-9A-Za-z]+/.exec(reply)?.[0]
    expect(runId).toBeDefined()

    const card = await fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId as string)),
      10_000,
    )
    expect(blocksOf(card)).toContain('socket_approve')
    const approval = await fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )
    expect(approval.thread_ts).toBe(card.ts)
    expect(blocksOf(approval)).toContain('Socket patch')

    const click = (user: string) =>
      fake.socket.send(
        'interactive',
        buildBlockActionPayload({ user, action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts }, { fake }),
      )
    const first = await click('U0ANN')
    expect(first.type).toBe('interactive')
    const afterFirst = await api(server, 'GET', `/api/v1/runs/${runId}`)
    expect((afterFirst.body.data as unknown as RunBody).run.status).toBe('waiting')
    // The tally is updated in place while the approval is still open.
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('1 of 2 approvals'), 10_000)
    const before = Date.now()
    await click('U0BOB')

    const show = await api(server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000`)
    const body = show.body.data as unknown as RunBody
    expect(body.run.status).toBe('succeeded')
    const review = body.steps.find((s) => s.step === 'review')?.output
    expect(review?.decision).toBe('approved')
    expect(review?.votes.map((v) => v.user).sort()).toEqual(['U0ANN', 'U0BOB'])

    const decided = await fake.waitFor((f) => {
      const m = f.message(CHANNEL, approval.ts)
      const json = blocksOf(m)
      return m && !json.includes('gl_approve') && json.includes('<@U0ANN>') && json.includes('<@U0BOB>') ? m : undefined
    }, 10_000)
    const json = blocksOf(decided)
    expect(json).not.toContain('gl_reject')
    expect(json).not.toContain('gl_request_changes')
    // The outcome line: who (both approvers) and when (a Slack date token near the second click).
    const outcome = JSON.stringify(decided.blocks?.find((b) => JSON.stringify(b).includes('Approved')) ?? null)
    expect(outcome).toContain('<@U0ANN>')
    expect(outcome).toContain('<@U0BOB>')
    const when = /<!date\^(\d+)\^/.exec(outcome)
    expect(when).not.toBeNull()
    expect(Math.abs(Number(when?.[1]) * 1000 - before)).toBeLessThan(60_000)

    // The run went on after the decision: the notify step and the result are in the thread.
    await fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('Shipped over the socket')),
      10_000,
    )
    await fake.waitFor((f) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('succeeded in')), 10_000)
    // Every envelope the fake sent was acked.
    expect(fake.socket.acks.length).toBe(fake.socket.envelopes.length)
  })
})
