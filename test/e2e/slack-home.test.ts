// App Home end to end: opening the Home tab publishes the approvals waiting on the viewer, with buttons that vote.
import { describe, expect, it } from 'vitest'
import { api } from '../support/server.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'home-secret'
const CHANNEL = 'C0HOME'
const FLOW = `slug: home_check
name: Home check
steps:
  - id: review
    approval: { message: "Ship the release?", approvers: { users: [U0ANN] }, required: 1 }
`
// Starts only from its webhook: Home must not offer it to people.
const HOOK_ONLY = `slug: hook_only
triggers:
  webhook: { auth: bearer, secret: hook_only_token }
steps:
  - id: shape
    transform: "{{ { 'ok': true } }}"
`

describe('App Home', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0OUT'],
    channel: CHANNEL,
    channelName: 'home',
    flows: [FLOW, HOOK_ONLY],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
    secret: SECRET,
  })

  it('lists the approval waiting on the viewer, and its Approve button decides it', async () => {
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'home_check', wait: true })
    const run = (started.body.data as { run: { id: string; status: string } }).run
    expect(run.status).toBe('waiting')

    expect((await slack.driver.event({ type: 'app_home_opened', user: 'U0ANN', tab: 'home' })).status).toBe(200)
    const home = await slack.fake.waitFor((f) => f.homeOf('U0ANN'), 10_000)
    const blocks = JSON.stringify(home.view.blocks)
    expect(blocks).toContain('gl_approve')
    expect(blocks).toContain('home_check')
    expect(blocks).not.toContain('hook_only')
    // Flows you can start show their live version.
    expect(blocks).toContain('live v1')
    expect(blocks).not.toContain('vundefined')

    expect((await slack.driver.event({ type: 'app_home_opened', user: 'U0OUT', tab: 'home' })).status).toBe(200)
    const other = await slack.fake.waitFor((f) => f.homeOf('U0OUT'), 10_000)
    expect(JSON.stringify(other.view.blocks)).not.toContain('gl_approve')

    expect((await slack.driver.blockAction({ user: 'U0ANN', action_id: 'gl_approve', view_id: home.id })).status).toBe(
      200,
    )
    const done = await api(slack.server, 'GET', `/api/v1/runs/${run.id}?settle=ended&timeout_ms=10000`)
    expect((done.body.data as { run: { status: string } }).run.status).toBe('succeeded')
  })
})
