// Slack escapes what people type into /gl (`&` as `&amp;`, mentions and links as `<…>`); Greenlight reads it back, so
// a run's inputs are what the user meant, sent through the real Bolt app over signed HTTP.
import { describe, expect, it } from 'vitest'
import { slackText } from '../support/fake-slack/index.ts'
import { runReaches, showRun } from '../support/runs.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0ESCAPE'

const FLOW = `slug: x
inputs:
  url: { type: string }
  note: { type: string }
  who: { type: string }
  docs: { type: string }
  ops: { type: string }
steps:
  - id: hello
    transform: "{{ 'hi' }}"
`

describe('/gl text as Slack escapes it', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0ADA'],
    channel: CHANNEL,
    channelName: 'escaping',
    flows: [FLOW],
    env: { LOG_LEVEL: 'silent' },
    secret: 'escaping-e2e-secret',
  })

  async function started(answer: { body: unknown }): Promise<string> {
    const runId = /run_[0-9A-Z]{26}/.exec(JSON.stringify(answer.body))?.[0]
    expect(runId, JSON.stringify(answer.body)).toBeDefined()
    await runReaches(slack.server, runId as string, ['succeeded'])
    return runId as string
  }

  it('gives the run exactly the typed url with & and the single-quoted note', async () => {
    const answer = await slack.driver.slashCommand({
      text: "run x url=https://a.example/?a=1&b=2 note='two words'",
      user_id: 'U0ANN',
      channel_id: CHANNEL,
    })
    const shown = await showRun(slack.server, await started(answer))
    expect(shown.run.inputs).toEqual({ url: 'https://a.example/?a=1&b=2', note: 'two words' })
  })

  it('turns a mentioned user, a link and a user group into the id or URL they name', async () => {
    const rawText = [
      'run x',
      `who=${slackText.user('U0ADA', 'ada')}`,
      `url=${slackText.link('https://a.example/?a=1&b=2')}`,
      `docs=${slackText.link('https://docs.example/p?q=1&r=2', 'the docs')}`,
      `ops=${slackText.usergroup('S0OPS', 'ops')}`,
      `note="for ${slackText.channel(CHANNEL, 'escaping')} & co"`,
    ].join(' ')
    const answer = await slack.driver.slashCommand({ rawText, user_id: 'U0ANN', channel_id: CHANNEL })
    const shown = await showRun(slack.server, await started(answer))
    expect(shown.run.inputs).toEqual({
      who: 'U0ADA',
      url: 'https://a.example/?a=1&b=2',
      docs: 'https://docs.example/p?q=1&r=2',
      ops: 'S0OPS',
      note: `for ${CHANNEL} & co`,
    })
  })

  it('echoes a malformed argument back escaped, so it cannot ping the channel', async () => {
    const answer = await slack.driver.slashCommand({ text: 'run x <!channel>', user_id: 'U0ANN', channel_id: CHANNEL })
    const text = JSON.stringify(answer.body)
    expect(text).toContain('is not key=value')
    expect(text).toContain('&lt;!channel&gt;')
    expect(text).not.toContain('<!channel>')
  })
})
