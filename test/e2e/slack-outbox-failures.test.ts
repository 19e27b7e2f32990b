// Slack HTTP mode while Slack answers 429 (Retry-After) and then 500 for a while: the durable outbox still delivers
// every message of a run exactly once and in order; a rate limit does not hold up what cannot wait (views.open).
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, cardAndApproval, useSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'e2e-outbox-secret'
const CHANNEL = 'C0FLAKY'
const USERS = ['U0INIT', 'U0ANN', 'U0BOB']

const diff = ['--- a/x.ts', '+++ b/x.ts', '@@ -1,2 +1,2 @@', '-const a = 1', '+const a = 2', ' export {}'].join('\n')

const FLOW = `slug: flaky_slack
name: Flaky Slack
inputs:
  diff: { type: string, required: true }
steps:
  - id: hello
    notify: { text: "FLAKY-ONE before the review" }
  - id: review
    approval:
      message: "*FLAKY-TWO* please approve"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0ANN, U0BOB] }
      required: 1
  - id: bye
    notify: { text: "FLAKY-THREE after the review" }
`

describe('Slack outbox under 429 and 500 (HTTP mode)', () => {
  const slack = useSlackHarness({
    users: USERS,
    channel: CHANNEL,
    channelName: 'flaky',
    flows: [FLOW],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL, LOG_LEVEL: 'silent' },
    secret: SECRET,
  })

  /** 429 (Retry-After 1) on the next call, then 500 on every call for `ms`. */
  function flaky(methods: string[], ms: number): void {
    for (const method of methods) {
      slack.fake.failNext(method, { status: 429, retryAfter: 1 })
      slack.fake.failFor(method, ms, { status: 500 })
    }
  }

  it('delivers the card, the approval, the diff and every thread reply exactly once, in order', async () => {
    flaky(['chat.postMessage', 'chat.update'], 2500)
    slack.fake.failFor('files.completeUploadExternal', 2500, { status: 500 })
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'flaky_slack', inputs: { diff } })
    expect(started.status).toBe(201)
    const runId = (started.body.data as unknown as { run: { id: string } }).run.id

    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
      30_000,
    )
    const approval = await slack.fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).find((m) => blocksOf(m).includes('gl_approve')),
      30_000,
    )
    // Slack really did fail: a 429 and some 500s were answered before the messages got through.
    const posts = slack.fake.callsTo('chat.postMessage')
    expect(posts.some((c) => c.status === 429)).toBe(true)
    expect(posts.some((c) => c.status === 500)).toBe(true)
    // Retry-After is honoured: the call after the 429 came at least a second later.
    const limited = posts.findIndex((c) => c.status === 429)
    expect((posts[limited + 1]?.at ?? 0) - (posts[limited]?.at ?? 0)).toBeGreaterThanOrEqual(950)
    await slack.fake.waitFor((f) => f.files.find((x) => x.completed && x.thread_ts === card.ts), 30_000)

    // Slack fails again while the decision and the rest of the run are mirrored.
    flaky(['chat.postMessage', 'chat.update'], 2500)
    expect(
      (
        await slack.driver.blockAction({
          user: 'U0ANN',
          action_id: 'gl_approve',
          channel: CHANNEL,
          message_ts: approval.ts,
        })
      ).status,
    ).toBe(200)
    const show = await api(slack.server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=30000`)
    expect((show.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')

    await slack.fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('succeeded in')),
      30_000,
    )
    // The final card and approval updates (chat.update may be coalesced and sent ahead of earlier posts).
    await slack.fake.waitFor((f) => blocksOf(f.message(CHANNEL, card.ts)).includes('Succeeded'), 30_000)
    await slack.fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('Approved'), 30_000)

    const all = slack.fake.messages(CHANNEL, { includeReplies: true })
    const count = (needle: string) => all.filter((m) => blocksOf(m).includes(needle) || m.text.includes(needle))
    expect(all.filter((m) => !m.thread_ts && blocksOf(m).includes(runId))).toHaveLength(1)
    expect(count('FLAKY-ONE')).toHaveLength(1)
    expect(count('FLAKY-TWO')).toHaveLength(1)
    expect(count('FLAKY-THREE')).toHaveLength(1)
    expect(all.filter((m) => m.thread_ts === card.ts && blocksOf(m).includes('succeeded in'))).toHaveLength(1)
    const shared = slack.fake.files.filter((x) => x.completed && x.thread_ts === card.ts)
    expect(shared).toHaveLength(1)
    expect(shared[0]?.content).toBe(diff)

    // In the thread, in the order the run produced them.
    const thread = slack.fake.thread(CHANNEL, card.ts)
    const at = (pred: (m: StoredMessage) => boolean) => thread.findIndex(pred)
    const order = [
      at((m) => blocksOf(m).includes('FLAKY-ONE')),
      at((m) => m.ts === approval.ts),
      at((m) => m.subtype === 'file_share'),
      at((m) => blocksOf(m).includes('FLAKY-THREE')),
      at((m) => blocksOf(m).includes('succeeded in')),
    ]
    expect(order.every((i) => i >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(thread).toHaveLength(5)
  })

  it('keeps views.open working while chat.postMessage is rate limited (the trigger_id expires in 3 s)', async () => {
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'flaky_slack', inputs: { diff } })
    const runId = (started.body.data as unknown as { run: { id: string } }).run.id
    const { approval } = await cardAndApproval(slack.fake, CHANNEL, runId, 30_000)

    // Slack rate-limits chat.postMessage for 5 s; the next run's card meets it.
    const limitedBefore = slack.fake.callsTo('chat.postMessage').filter((c) => c.status === 429).length
    slack.fake.failNext('chat.postMessage', { status: 429, retryAfter: 5 })
    expect((await api(slack.server, 'POST', '/api/v1/runs', { flow: 'flaky_slack', inputs: { diff } })).status).toBe(
      201,
    )
    await slack.fake.waitFor(
      (f) => f.callsTo('chat.postMessage').filter((c) => c.status === 429).length > limitedBefore,
      10_000,
    )

    // Meanwhile a reviewer clicks Request changes: the modal must open (another method, not rate limited).
    const opensBefore = slack.fake.callsTo('views.open').length
    const clicked = await slack.driver.blockAction({
      user: 'U0BOB',
      action_id: 'gl_request_changes',
      channel: CHANNEL,
      message_ts: approval.ts,
    })
    expect(clicked.status).toBe(200)
    const open = await slack.fake.waitFor((f) => f.callsTo('views.open')[opensBefore], 10_000)
    expect(open.response.error ?? null).toBeNull()
    expect(open.response.ok).toBe(true)
  })
})
