// The run card as Slack shows it: an open approval's tally on the waiting line, updated in place with each vote, and
// a start time in Slack's date formatting (rendered by each reader's client, so it never goes stale) instead of an
// elapsed time computed when the card was last posted.
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { runReaches, showRun } from '../support/runs.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0CARD'

const FLOW = `slug: card_tally
steps:
  - id: review
    approval:
      message: "Ship it?"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
`

describe('the run card', () => {
  const slack = useSlackHarness({
    users: ['U0INIT', 'U0ANN', 'U0BOB'],
    channel: CHANNEL,
    channelName: 'card',
    flows: [FLOW],
    env: { LOG_LEVEL: 'silent' },
    secret: 'card-e2e-secret',
  })

  it('shows the open approval tally and a start time in Slack date formatting', async () => {
    const answer = await slack.driver.slashCommand({ text: 'run card_tally', user_id: 'U0INIT', channel_id: CHANNEL })
    const runId = /run_[0-9A-Z]{26}/.exec(JSON.stringify(answer.body))?.[0] as string
    expect(runId, JSON.stringify(answer.body)).toBeDefined()
    const { run } = await runReaches(slack.server, runId, ['waiting'])
    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
      10_000,
    )
    const approval = await slack.fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )
    const cardNow = (): StoredMessage | undefined => slack.fake.message(CHANNEL, card.ts)

    const waiting = await slack.fake.waitFor((f) => {
      const m = f.message(CHANNEL, card.ts)
      return blocksOf(m).includes('Waiting') ? m : undefined
    }, 10_000)
    expect(blocksOf(waiting)).toContain('review`: waiting for approval (0 of 2 approvals)')
    // The start, as Slack's date token over the run's start in seconds, with a readable fallback.
    const started = Math.floor((run.started_at ? Date.parse(run.started_at) : Date.parse(run.created_at)) / 1000)
    expect(blocksOf(waiting)).toMatch(
      new RegExp(
        `since <!date\\^${started}\\^\\{date_short_pretty\\} \\{time\\}\\|\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC>`,
      ),
    )
    expect(blocksOf(waiting)).not.toMatch(/running for|queued for/)

    const click = await slack.driver.blockAction({
      user: 'U0ANN',
      action_id: 'gl_approve',
      channel: CHANNEL,
      message_ts: approval.ts,
    })
    expect(click.status).toBe(200)
    const tallied = await slack.fake.waitFor(
      () => (blocksOf(cardNow()).includes('1 of 2 approvals') ? cardNow() : undefined),
      10_000,
    )
    // Edited in place: the same message, with the one vote counted.
    expect(tallied.ts).toBe(card.ts)
    expect(blocksOf(tallied)).not.toContain('0 of 2 approvals')
    expect((await showRun(slack.server, runId)).run.status).toBe('waiting')
  })
})
