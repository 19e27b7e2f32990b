// With Slack on and no approvers listed, the voters are the members of the run's channel, whoever started the run:
// a run started through the API posts to the flow's channel (named, not by id), and only its members may vote.
import { describe, expect, it } from 'vitest'
import { runReaches } from '../support/runs.ts'
import { api } from '../support/server.ts'
import { useSlackHarness } from '../support/slack-harness.ts'

const FLOW = `slug: default_voters
slack: { channel: "#voters" }
steps:
  - id: review
    approval: { message: "Ship it?" }
  - id: done
    transform: "{{ steps.review.output.decision }}"
`

describe('default voters with Slack on', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0BOB'],
    outsiders: ['U0OUT'],
    channel: 'C0VOTERS',
    channelName: 'voters',
    flows: [FLOW],
  })

  async function token(name: string, asUser?: string): Promise<string> {
    const body = { name, scopes: ['approvals:decide'], ...(asUser ? { as_user: asUser } : {}) }
    const created = await api(slack.server, 'POST', '/api/v1/tokens', body)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return (created.body.data as { token: { secret: string } }).token.secret
  }

  it('a run started through the API: outsiders and tokens without a Slack identity are refused, members vote', async () => {
    const started = await api(slack.server, 'POST', '/api/v1/runs', { flow: 'default_voters', inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const run = (started.body.data as { run: { id: string; waiting_on: { wait_id: string } } }).run
    const vote = (secret: string) =>
      api(slack.server, 'POST', `/api/v1/waits/${run.waiting_on.wait_id}/approve`, {}, secret)

    for (const secret of [await token('outsider', 'U0OUT'), await token('ci')]) {
      const refused = await vote(secret)
      expect(refused.status, JSON.stringify(refused.body)).toBe(403)
      expect((refused.body as { error: { code: string } }).error.code).toBe('not_eligible')
    }
    const approved = await vote(await token('ann', 'U0ANN'))
    expect(approved.status, JSON.stringify(approved.body)).toBe(201)
    const done = await runReaches(slack.server, run.id, ['succeeded', 'failed'])
    expect(done.run).toMatchObject({ status: 'succeeded', output: 'approved' })
  })
})
