// Slack HTTP mode: /gl cancel belongs to the run's initiator, GREENLIGHT_ADMINS and the flow's permissions.cancel;
// an input's form opens and submits only for its assignees (by default the initiator); permissions.run admits user
// groups. Every refusal is ephemeral and changes nothing.
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { type Json, runEvents, runReaches, showRun } from '../support/runs.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0AUTHZ'

const HOLD_FLOW = `slug: sa_hold
permissions:
  cancel: { usergroups: [S0OPS] }
steps:
  - id: hold
    wait: { timeout: 1h }
`

const GROUP_INPUT_FLOW = `slug: sa_ask_group
steps:
  - id: ask
    input:
      assignees: { usergroups: [S0OPS] }
      message: "Why ship it?"
      fields: [{ id: reason, label: Reason, required: true }]
  - id: echo
    transform: "{{ steps.ask.output.values.reason }}"
`

const INPUT_FLOW = `slug: sa_ask
steps:
  - id: ask
    input:
      message: "Which region?"
      fields: [{ id: reason, label: Reason, required: true }]
  - id: echo
    transform: "{{ steps.ask.output.values.reason }}"
`

const OPS_ONLY_FLOW = `slug: sa_ops_only
permissions:
  run: { usergroups: [S0OPS] }
steps:
  - id: hello
    transform: "{{ 'hi' }}"
`

describe('who may cancel, answer inputs and start runs in Slack', () => {
  const slack = useSlackHarness({
    users: ['U0INIT', 'U0ANN', 'U0OPS', 'U0OUT', 'U0ADM'],
    channel: CHANNEL,
    channelName: 'authz',
    usergroups: { S0OPS: ['U0OPS'] },
    flows: [HOLD_FLOW, GROUP_INPUT_FLOW, INPUT_FLOW, OPS_ONLY_FLOW],
    env: { LOG_LEVEL: 'silent', GREENLIGHT_ADMINS: 'U0ADM' },
    secret: 'authz-e2e-secret',
  })

  const command = (user: string, text: string) =>
    slack.driver.slashCommand({ text, user_id: user, channel_id: CHANNEL })

  async function startRun(slug: string, user = 'U0INIT'): Promise<string> {
    const answer = await command(user, `run ${slug}`)
    const runId = /run_[0-9A-Za-z]+/.exec(JSON.stringify(answer.body))?.[0]
    expect(runId, JSON.stringify(answer.body)).toBeDefined()
    return runId as string
  }

  async function parked(runId: string): Promise<Json> {
    return (await runReaches(slack.server, runId, ['waiting'])).run
  }

  /** The thread message holding the input's "open form" button. */
  async function inputRequest(runId: string): Promise<StoredMessage> {
    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
      10_000,
    )
    return slack.fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).find((m) => blocksOf(m).includes('gl_input_open')),
      10_000,
    )
  }

  const openForm = (user: string, request: StoredMessage) =>
    slack.driver.blockAction({ user, action_id: 'gl_input_open', channel: CHANNEL, message_ts: request.ts })
  const forms = () => slack.fake.views.filter((v) => v.callback_id === 'gl_input')
  const submitForm = (user: string, form: { id: string; private_metadata?: string }, reason: string) =>
    slack.driver.viewSubmission({
      user,
      view: {
        id: form.id,
        callback_id: 'gl_input',
        private_metadata: form.private_metadata ?? '',
        state: { values: { f_reason: { value: { type: 'plain_text_input', value: reason } } } },
      },
    })

  it('refuses /gl cancel from anyone but the initiator, admins and permissions.cancel, ephemerally', async () => {
    const runId = await startRun('sa_hold')
    await parked(runId)
    const events = (await runEvents(slack.server, runId)).length
    for (const user of ['U0ANN', 'U0OUT']) {
      const refused = await command(user, `cancel ${runId}`)
      expect(refused.status).toBe(200)
      expect(refused.body).toMatchObject({ response_type: 'ephemeral' })
      expect(JSON.stringify(refused.body)).toContain("Only the run's initiator")
    }
    expect((await showRun(slack.server, runId)).run.status).toBe('waiting')
    expect((await runEvents(slack.server, runId)).length).toBe(events)

    const byOps = await command('U0OPS', `cancel ${runId}`)
    expect(JSON.stringify(byOps.body)).toContain('canceled')
    expect((await showRun(slack.server, runId)).run.status).toBe('canceled')

    for (const user of ['U0ADM', 'U0INIT']) {
      const another = await startRun('sa_hold')
      await parked(another)
      expect(JSON.stringify((await command(user, `cancel ${another}`)).body)).toContain('canceled')
      const canceled = await showRun(slack.server, another)
      expect(canceled.run.status).toBe('canceled')
      const ended = (await runEvents(slack.server, another)).find((e) => e.type === 'run.canceled')
      expect(ended.actor).toBe(user)
    }
  })

  it('opens and takes an input assigned to a user group for its members only', async () => {
    const runId = await startRun('sa_ask_group')
    await parked(runId)
    const request = await inputRequest(runId)
    for (const user of ['U0OUT', 'U0INIT']) {
      expect((await openForm(user, request)).status).toBe(200)
      const note = await slack.fake.waitFor((f) => f.ephemerals(user).at(-1), 10_000)
      expect(note).toMatchObject({ via: 'chat.postEphemeral', channel: CHANNEL })
      expect(note.text).toContain('not one of the assignees')
    }
    expect(forms()).toHaveLength(0)

    expect((await openForm('U0OPS', request)).status).toBe(200)
    const form = await slack.fake.waitFor(() => forms()[0], 5_000)
    // A submission from someone else (the form's metadata is all it takes to forge one) changes nothing.
    const events = (await runEvents(slack.server, runId)).length
    expect((await submitForm('U0OUT', form, 'not mine')).status).toBe(200)
    await slack.fake.waitFor(
      (f) => f.messages(f.channelId('U0OUT') ?? '').find((m) => (m.text ?? '').includes('not one of the assignees')),
      10_000,
    )
    expect((await showRun(slack.server, runId)).run.status).toBe('waiting')
    expect((await runEvents(slack.server, runId)).length).toBe(events)

    expect((await submitForm('U0OPS', form, 'ops says go')).status).toBe(200)
    const done = await runReaches(slack.server, runId, ['succeeded'])
    expect(done.run.output).toBe('ops says go')
  })

  it('opens an input with no assignees for the run initiator only', async () => {
    const runId = await startRun('sa_ask')
    await parked(runId)
    const request = await inputRequest(runId)
    const before = forms().length
    expect((await openForm('U0ANN', request)).status).toBe(200)
    const note = await slack.fake.waitFor((f) => f.ephemerals('U0ANN').at(-1), 10_000)
    expect(note.text).toContain("Only the run's initiator")
    expect(forms()).toHaveLength(before)

    expect((await openForm('U0INIT', request)).status).toBe(200)
    const form = await slack.fake.waitFor(() => forms()[before], 5_000)
    expect((await submitForm('U0INIT', form, 'eu-north')).status).toBe(200)
    expect((await runReaches(slack.server, runId, ['succeeded'])).run.output).toBe('eu-north')
  })

  it('admits members of a user group that permissions.run lists, and no one else', async () => {
    const refused = await command('U0OUT', 'run sa_ops_only')
    expect(refused.body).toMatchObject({ response_type: 'ephemeral' })
    expect(JSON.stringify(refused.body)).toContain('may not start')
    const started = await startRun('sa_ops_only', 'U0OPS')
    expect((await runReaches(slack.server, started, ['succeeded'])).run.initiator).toBe('U0OPS')
  })
})
