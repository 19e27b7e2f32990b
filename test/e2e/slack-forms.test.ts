// Forms in Slack end to end: /gl run with a missing required input opens a modal; an `input` step's button opens
// its form, and submitting it completes the step.
import { describe, expect, it } from 'vitest'
import { api } from '../support/server.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'forms-secret'
const CHANNEL = 'C0FORMS'
const FLOW = `slug: ask
inputs:
  repo: { type: string, required: true, description: owner/name }
permissions: { run: { users: [U0ANN] } }
steps:
  - id: why
    input:
      message: "Why do we need this for {{ inputs.repo }}?"
      fields:
        - { id: reason, label: Reason, type: text, required: true }
  - id: echo
    transform: "{{ steps.why.output.values.reason & ' @ ' & inputs.repo }}"
`

const text = (value: string) => ({ type: 'plain_text_input', value })

describe('Slack forms', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0OUT'],
    channel: CHANNEL,
    channelName: 'forms',
    flows: [FLOW],
    env: { LOG_LEVEL: 'silent' },
    secret: SECRET,
  })

  it('refuses users outside permissions.run', async () => {
    const answer = await slack.driver.slashCommand({
      text: 'run ask repo=acme/api',
      user_id: 'U0OUT',
      channel_id: CHANNEL,
    })
    expect(JSON.stringify(answer.body)).toContain('may not start')
    const runs = await api(slack.server, 'GET', '/api/v1/runs?flow=ask')
    expect((runs.body.data as { runs: unknown[] }).runs).toHaveLength(0)
  })

  it('asks for missing inputs in a modal, then collects the input step through its form', async () => {
    const answer = await slack.driver.slashCommand({ text: 'run ask', user_id: 'U0ANN', channel_id: CHANNEL })
    expect(JSON.stringify(answer.body)).toContain('repo')
    const modal = await slack.fake.waitFor((f) => f.views.find((v) => v.callback_id === 'gl_run_inputs'), 5_000)
    const submitted = await slack.driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: modal.id,
        callback_id: 'gl_run_inputs',
        private_metadata: modal.private_metadata,
        state: { values: { in_repo: { value: text('acme/api') } } },
      },
    })
    expect(submitted.status).toBe(200)

    const request = await slack.fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find((m) => JSON.stringify(m.blocks ?? []).includes('gl_input_open')),
      10_000,
    )
    expect(
      (
        await slack.driver.blockAction({
          user: 'U0ANN',
          action_id: 'gl_input_open',
          channel: CHANNEL,
          message_ts: request.ts,
        })
      ).status,
    ).toBe(200)
    const form = await slack.fake.waitFor((f) => f.views.find((v) => v.callback_id === 'gl_input'), 5_000)
    const empty = await slack.driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: form.id,
        callback_id: 'gl_input',
        private_metadata: form.private_metadata,
        state: { values: { f_reason: { value: text('') } } },
      },
    })
    expect(JSON.stringify(empty.body)).toContain('errors')
    await slack.driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: form.id,
        callback_id: 'gl_input',
        private_metadata: form.private_metadata,
        state: { values: { f_reason: { value: text('audit') } } },
      },
    })
    const runs = await api(slack.server, 'GET', '/api/v1/runs?flow=ask')
    const id = (runs.body.data as { runs: { id: string }[] }).runs[0]?.id
    const done = await api(slack.server, 'GET', `/api/v1/runs/${id}?settle=ended&timeout_ms=10000`)
    expect((done.body.data as { run: { status: string; output: unknown; initiator: string } }).run).toMatchObject({
      status: 'succeeded',
      output: 'audit @ acme/api',
      initiator: 'U0ANN',
    })
  })
})
