// Runs that no person started in Slack (webhooks, schedules) post their card and thread in the flow's slack.channel,
// or in GREENLIGHT_DEFAULT_CHANNEL when the flow names none.
import { beforeAll, describe, expect, it } from 'vitest'
import { api } from '../support/server.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0HOOKS'
const TOKEN = 'hook-token'

const flow = (slug: string, slack: string) => `slug: ${slug}
${slack}triggers:
  webhook: { auth: bearer, secret: hook_token }
steps:
  - id: done
    transform: "{{ run.initiator }}"
`

describe('Slack threads of triggered runs', () => {
  const slack = useSlackHarness({
    users: ['U0ANN'],
    channel: CHANNEL,
    channelName: 'hooks',
    flows: [flow('hook_named', `slack: { channel: ${CHANNEL} }\n`), flow('hook_default', '')],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
  })
  beforeAll(async () => {
    expect((await api(slack.server, 'PUT', '/api/v1/secrets/hook_token', { value: TOKEN })).status).toBe(201)
  })

  for (const slug of ['hook_named', 'hook_default']) {
    it(`${slug}: the run card names the trigger as initiator and lands in the channel`, async () => {
      const sent = await fetch(`${slack.server.url}/hooks/${slug}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: '{}',
      })
      expect(sent.status).toBe(202)
      const runId = ((await sent.json()) as { data: { run_id: string } }).data.run_id
      const card = await slack.fake.waitFor(
        (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
        10_000,
      )
      expect(blocksOf(card)).toContain(`webhook:${slug}`)
    })
  }
})
