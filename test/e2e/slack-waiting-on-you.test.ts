// What waits on whom in Slack: /gl approvals and App Home list the open approvals the viewer may approve (listed
// users, user-group members, channel members, the default voters), however many newer approvals others have; and
// "Approve with comment" records an approval with a comment through a modal, while the plain click needs none.
import { describe, expect, it } from 'vitest'
import type { Json } from '../support/runs.ts'
import { api } from '../support/server.ts'
import { blocksOf, cardAndApproval, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0WAIT'

const GROUP = `slug: wo_group
steps:
  - id: review
    approval:
      message: "GROUP-REVIEW for the seniors"
      approvers: { usergroups: [S0SENIORS] }
`

const IN_CHANNEL = `slug: wo_channel
steps:
  - id: review
    approval:
      message: "CHANNEL-REVIEW for the channel"
      approvers: { channel: ${CHANNEL} }
`

const NOISE = `slug: wo_noise
steps:
  - id: review
    approval:
      message: "NOISE-REVIEW for bob only"
      approvers: { users: [U0BOB] }
`

const COMMENTED = `slug: wo_comment
steps:
  - id: review
    approval:
      message: "COMMENT-REVIEW"
      diff: "--- a/c.ts\\n+++ b/c.ts\\n@@ -1 +1 @@\\n-a\\n+b\\n"
      approvers: { users: [U0ANN] }
  - id: after
    transform: "{{ steps.review.output.comment }}"
`

describe('what waits on you, in Slack', () => {
  const slack = useSlackHarness({
    users: ['U0INIT', 'U0ANN', 'U0BOB'],
    outsiders: ['U0OUT', 'U0SEN'],
    usergroups: { S0SENIORS: ['U0ANN', 'U0SEN'] },
    channel: CHANNEL,
    flows: [GROUP, IN_CHANNEL, NOISE, COMMENTED],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
  })

  async function park(flow: string): Promise<{ runId: string; waitId: string }> {
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const run = (started.body.data as Json).run
    expect(run.status).toBe('waiting')
    return { runId: run.id, waitId: run.waiting_on.wait_id }
  }

  const approvalsOf = async (user: string, channel = CHANNEL): Promise<string> => {
    const reply = await slack.driver.slashCommand({ text: 'approvals', user_id: user, channel_id: channel })
    expect(reply.status).toBe(200)
    return JSON.stringify(reply.body)
  }

  it('lists approvals by group and channel membership, for members only, past the 50 newest', async () => {
    const group = await park('wo_group')
    const inChannel = await park('wo_channel')
    // Sixty newer approvals that only U0BOB may vote on.
    for (let i = 0; i < 60; i++) await park('wo_noise')

    const ann = await approvalsOf('U0ANN')
    expect(ann).toContain(group.runId)
    expect(ann).toContain(inChannel.runId)
    expect(ann).not.toContain('wo_noise')

    // A senior outside the channel: the group's approval, not the channel's.
    const senior = await approvalsOf('U0SEN')
    expect(senior).toContain(group.runId)
    expect(senior).not.toContain(inChannel.runId)

    // Neither in the group nor in the channel: nothing.
    expect(await approvalsOf('U0OUT')).toContain('Nothing waits on you.')

    const bob = await approvalsOf('U0BOB')
    expect(bob).toContain('wo_noise')
    expect(bob).not.toContain(group.runId)

    expect((await slack.driver.event({ type: 'app_home_opened', user: 'U0SEN', tab: 'home' })).status).toBe(200)
    const home = await slack.fake.waitFor((f) => f.homeOf('U0SEN'), 10_000)
    const blocks = JSON.stringify(home.view.blocks)
    expect(blocks).toContain('GROUP-REVIEW')
    expect(blocks).not.toContain('CHANNEL-REVIEW')
    expect(blocks).not.toContain('NOISE-REVIEW')
  })

  it('approves with a comment through a modal; the plain Approve needs none', async () => {
    const { runId } = await park('wo_comment')
    const { approval } = await cardAndApproval(slack.fake, CHANNEL, runId)
    expect(blocksOf(approval)).toContain('gl_approve_comment')
    const viewsBefore = slack.fake.views.length
    const clicked = await slack.driver.blockAction({
      user: 'U0ANN',
      action_id: 'gl_approve_comment',
      channel: CHANNEL,
      message_ts: approval.ts,
    })
    expect(clicked.status).toBe(200)
    const modal = await slack.fake.waitFor(
      (f) => f.views.slice(viewsBefore).find((v) => v.callback_id === 'gl_reason'),
      10_000,
    )
    expect(JSON.stringify(modal)).toContain('Comment (optional)')
    const submitted = await slack.driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: modal.id,
        callback_id: 'gl_reason',
        private_metadata: modal.private_metadata,
        state: { values: { reason: { reason: { type: 'plain_text_input', value: 'Looks right; ship after 5pm' } } } },
      },
    })
    expect(submitted.status).toBe(200)
    const done = await api(slack.server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000`)
    const shown = done.body.data as Json
    expect(shown.run.status).toBe('succeeded')
    expect(shown.run.output).toBe('Looks right; ship after 5pm')
    const review = shown.steps.find((s: Json) => s.step === 'review')
    expect(review.output.votes).toMatchObject([
      { user: 'U0ANN', decision: 'approve', comment: 'Looks right; ship after 5pm' },
    ])
    await slack.fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('ship after 5pm'), 10_000)
  })
})
