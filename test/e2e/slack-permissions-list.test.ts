// /gl list and App Home's "Flows you can start" follow each flow's permissions.run: a flow the viewer may not start
// is not offered to them, whether the rule names users, a user group or the channel the command is typed in.
import { describe, expect, it } from 'vitest'
import { useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0PLIST'

const flow = (slug: string, permissions = '') => `slug: ${slug}
${permissions}steps:
  - id: hello
    transform: "{{ 'hi' }}"
`

const FLOWS = [
  flow('pl_open'),
  flow('pl_ann', 'permissions:\n  run: { users: [U0ANN] }\n'),
  flow('pl_ops', 'permissions:\n  run: { usergroups: [S0OPS] }\n'),
  flow('pl_here', `permissions:\n  run: { channels: [${CHANNEL}] }\n`),
]

const slugsIn = (text: string): string[] => [...new Set([...text.matchAll(/pl_[a-z]+/g)].map((m) => m[0]))].sort()

describe('flows offered to a viewer follow permissions.run', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0OPS', 'U0OUT'],
    channel: CHANNEL,
    channelName: 'plist',
    usergroups: { S0OPS: ['U0OPS'] },
    flows: FLOWS,
    env: { LOG_LEVEL: 'silent' },
    secret: 'plist-e2e-secret',
  })

  async function listed(user: string, channel = CHANNEL): Promise<string[]> {
    const answer = await slack.driver.slashCommand({ text: 'list', user_id: user, channel_id: channel })
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' })
    return slugsIn(JSON.stringify(answer.body))
  }

  async function home(user: string): Promise<string[]> {
    slack.fake.reset()
    expect((await slack.driver.event({ type: 'app_home_opened', user, tab: 'home' })).status).toBe(200)
    const view = await slack.fake.waitFor((f) => f.homeOf(user), 10_000)
    return slugsIn(JSON.stringify(view.view.blocks))
  }

  it('/gl list offers each viewer only the flows they may start, here', async () => {
    expect(await listed('U0ANN')).toEqual(['pl_ann', 'pl_here', 'pl_open'])
    expect(await listed('U0OPS')).toEqual(['pl_here', 'pl_open', 'pl_ops'])
    expect(await listed('U0OUT')).toEqual(['pl_here', 'pl_open'])
    // Typed elsewhere, the channel rule admits nobody.
    expect(await listed('U0OUT', 'D0OUT')).toEqual(['pl_open'])
  })

  it('never offers the built-in request flow: agents ask through request_approval, nobody starts it by hand', async () => {
    const answer = await slack.driver.slashCommand({ text: 'list', user_id: 'U0ANN', channel_id: CHANNEL })
    expect(JSON.stringify(answer.body)).toContain('pl_open')
    expect(JSON.stringify(answer.body)).not.toContain('greenlight_request')
    slack.fake.reset()
    await slack.driver.event({ type: 'app_home_opened', user: 'U0ANN', tab: 'home' })
    const view = await slack.fake.waitFor((f) => f.homeOf('U0ANN'), 10_000)
    expect(JSON.stringify(view.view.blocks)).toContain('pl_open')
    expect(JSON.stringify(view.view.blocks)).not.toContain('greenlight_request')
  })

  it("App Home's flows are the ones the viewer may start", async () => {
    expect(await home('U0ANN')).toEqual(['pl_ann', 'pl_open'])
    expect(await home('U0OPS')).toEqual(['pl_open', 'pl_ops'])
    expect(await home('U0OUT')).toEqual(['pl_open'])
  })
})
