// An `input` step's Slack form checks the values with the same rule as the API: a value that does not fit its field
// answers `response_action: errors` with a message on that field, and the input stays open.
import { describe, expect, it } from 'vitest'
import type { StateValue } from '../support/fake-slack/index.ts'
import type { Json } from '../support/runs.ts'
import { api } from '../support/server.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0CHECK'
const FLOW = `slug: check
steps:
  - id: ask
    input:
      fields:
        - { id: reason, label: Reason, required: true }
        - { id: owner, label: Owner, type: user, required: true }
        - { id: room, label: Room, type: channel }
  - id: echo
    transform: "{{ steps.ask.output.values }}"
`

describe('Slack input form validation', () => {
  const slack = useSlackHarness({
    users: ['U0ANN'],
    channel: CHANNEL,
    channelName: 'check',
    flows: [FLOW],
    env: { LOG_LEVEL: 'silent' },
    secret: 'check-secret',
  })

  it('answers per-field errors for values that do not fit, and completes the input once they do', async () => {
    await slack.driver.slashCommand({ text: 'run check', user_id: 'U0ANN', channel_id: CHANNEL })
    const request = await slack.fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find((m) => JSON.stringify(m.blocks ?? []).includes('gl_input_open')),
      10_000,
    )
    await slack.driver.blockAction({
      user: 'U0ANN',
      action_id: 'gl_input_open',
      channel: CHANNEL,
      message_ts: request.ts,
    })
    const form = await slack.fake.waitFor((f) => f.views.find((v) => v.callback_id === 'gl_input'), 5_000)
    const submit = (values: Record<string, Record<string, StateValue>>) =>
      slack.driver.viewSubmission({
        user: 'U0ANN',
        view: { id: form.id, callback_id: 'gl_input', private_metadata: form.private_metadata, state: { values } },
      })
    const runs = await api(slack.server, 'GET', '/api/v1/runs?flow=check')
    const id = (runs.body.data as Json).runs[0].id as string

    // Slack's pickers send ids; a payload with anything else (a stale or forged view) is refused field by field.
    const refused = await submit({
      f_reason: { value: { type: 'plain_text_input', value: 'audit' } },
      f_owner: { value: { type: 'users_select', selected_user: 'bob' } },
      f_room: { value: { type: 'channels_select', selected_channel: '#general' } },
    })
    expect(refused.status).toBe(200)
    expect(refused.body).toMatchObject({
      response_action: 'errors',
      errors: {
        f_owner: expect.stringContaining('Slack user id'),
        f_room: expect.stringContaining('Slack channel id'),
      },
    })
    expect(Object.keys((refused.body as Json).errors)).toEqual(['f_owner', 'f_room'])
    const waits = ((await api(slack.server, 'GET', `/api/v1/waits?run=${id}&status=all`)).body.data as Json).waits
    expect(waits.map((w: Json) => w.status)).toEqual(['open'])

    const accepted = await submit({
      f_reason: { value: { type: 'plain_text_input', value: 'audit' } },
      f_owner: { value: { type: 'users_select', selected_user: 'U0ANN' } },
      f_room: { value: { type: 'channels_select', selected_channel: CHANNEL } },
    })
    expect(accepted.status).toBe(200)
    expect(JSON.stringify(accepted.body ?? {})).not.toContain('errors')
    const done = await api(slack.server, 'GET', `/api/v1/runs/${id}?settle=ended&timeout_ms=10000`)
    expect((done.body.data as Json).run).toMatchObject({
      status: 'succeeded',
      output: { reason: 'audit', owner: 'U0ANN', room: CHANNEL },
    })
  })
})
