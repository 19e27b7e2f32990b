// Slack HTTP mode: a burst of votes updates the approval message about once a second (Slack's sustainable
// chat.update rate), while the first vote on a quiet message still shows at once; the last update shows every vote.
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0BURST'
const VOTERS = ['U0V1', 'U0V2', 'U0V3', 'U0V4', 'U0V5', 'U0V6', 'U0V7']

const FLOW = `slug: burst_check
name: Vote burst
steps:
  - id: review
    approval:
      message: "*Burst* needs many approvals"
      approvers: { users: ${JSON.stringify(VOTERS)} }
      required: 7
`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Approval message updates under a burst of votes (HTTP mode)', () => {
  const slack = useSlackHarness({
    users: ['U0INIT', ...VOTERS],
    channel: CHANNEL,
    flows: [FLOW],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
  })

  /** The chat.update calls the server made to one message, in order. */
  const updatesOf = (message: StoredMessage) =>
    slack.fake.callsTo('chat.update').filter((c) => c.params.ts === message.ts && c.status === 200)

  it('sends the first change of a quiet message at once, then about one update a second', async () => {
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'burst_check', inputs: {} })
    expect(started.status).toBe(201)
    const runId = (started.body.data as unknown as { run: { id: string } }).run.id
    const approval = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL, { includeReplies: true }).find((m) => blocksOf(m).includes(runId) && m.thread_ts),
      10_000,
    )
    expect(blocksOf(approval)).toContain('gl_approve')
    await sleep(1_500) // the run is quiet now
    const click = (user: string) =>
      slack.driver.blockAction({ user, action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts })

    // The first vote of a quiet message shows promptly (the 100 ms coalescing window, not the 1 s interval).
    const first = await click('U0V1')
    expect(first.status).toBe(200)
    const clickedAt = Date.now()
    const firstUpdate = await slack.fake.waitFor((f) => (updatesOf(approval)[0] ? f : undefined), 10_000)
    expect(firstUpdate).toBeDefined()
    expect((updatesOf(approval)[0]?.at ?? Infinity) - clickedAt).toBeLessThan(900)

    // Five more votes, one every 250 ms: without the interval, each would be its own update.
    for (const user of VOTERS.slice(1, 6)) {
      expect((await click(user)).status).toBe(200)
      await sleep(250)
    }
    await slack.fake.waitFor(
      (f) => (blocksOf(f.message(CHANNEL, approval.ts)).includes('6 of 7 approvals') ? f : undefined),
      15_000,
    )
    const updates = updatesOf(approval)
    expect(updates.length).toBeGreaterThanOrEqual(2)
    expect(updates.length).toBeLessThanOrEqual(4)
    const gaps = updates.slice(1).map((u, i) => u.at - (updates[i]?.at ?? 0))
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(600)

    // The vote that decides goes out too; the message ends showing the outcome.
    expect((await click('U0V7')).status).toBe(200)
    await slack.fake.waitFor(
      (f) => (blocksOf(f.message(CHANNEL, approval.ts)).includes('gl_approve') ? undefined : f),
      15_000,
    )
    const waits = await api(slack.server, 'GET', `/api/v1/waits?run=${runId}&status=all&kind=approval`)
    const [wait] = (waits.body.data as unknown as { waits: { status: string; votes: unknown[] }[] }).waits
    expect(wait?.status).toBe('completed')
    expect(wait?.votes).toHaveLength(7)
  })
})
