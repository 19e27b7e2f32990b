// Approval timers in the Slack thread across a restart, with a clock the test drives: a server stops while a
// reminder and an escalation fall due; the next server on the same data posts each once in the thread (and by DM),
// the escalated approver can then vote, and the next reminder comes an interval after the restart, not in a burst.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { testClock } from '../support/clock.ts'
import { createFakeSlack, createSlackDriver, type FakeSlack } from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, cardAndApproval } from '../support/slack-harness.ts'

const SECRET = 'e2e-timers-secret'
const CHANNEL = 'C0TIMERS'
const HOUR = 3_600_000

const FLOW = `slug: timers_restart
steps:
  - id: review
    approval:
      message: "*TIMERS-REVIEW* please"
      diff: "--- a/t.ts\\n+++ b/t.ts\\n@@ -1 +1 @@\\n-a\\n+b\\n"
      approvers: { users: [U0ANN] }
      timeout: 8h
      remind_every: 1h
      escalate:
        - { after: 2h, to: { users: [U0LEAD] } }
        - { after: 5h, to: { users: [U0DIR] } }
`

interface Server extends RunningServer {
  token: string
}

describe('approval timers in Slack across a restart', () => {
  const clock = testClock('2026-06-02T09:00:00Z')
  let fake: FakeSlack
  let dataDir: string
  let server: Server | undefined

  async function startOn(): Promise<Server> {
    const config = loadConfig({
      GREENLIGHT_DATA_DIR: dataDir,
      PORT: '0',
      SLACK_BOT_TOKEN: 'xoxb-e2e-timers',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
      LOG_LEVEL: 'silent',
    })
    const running = await startServer(config, undefined, { clock })
    return { ...running, token: readFileSync(join(dataDir, 'cli-token'), 'utf8').trim() }
  }

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: ['U0INIT', 'U0ANN', 'U0LEAD', 'U0DIR'].map((id) => ({ id, name: id.toLowerCase() })),
      channels: { [CHANNEL]: { name: 'timers', members: ['U0INIT', 'U0ANN', 'U0LEAD', 'U0DIR'] } },
    })
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-timers-'))
  })
  afterAll(async () => {
    await server?.close()
    await fake?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('posts a due reminder and escalation once after the restart, and the escalated approver decides', async () => {
    server = await startOn()
    expect((await api(server, 'POST', '/api/v1/flows', { source: FLOW })).status).toBe(201)
    expect((await api(server, 'POST', '/api/v1/flows/timers_restart/release', {})).status).toBe(201)
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'timers_restart', inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const runId = (started.body.data as { run: { id: string } }).run.id
    const { card, approval } = await cardAndApproval(fake, CHANNEL, runId)
    await server.close()
    server = undefined

    // Down for 2.5 hours: reminders 1 and 2 and the first escalation fell due meanwhile.
    clock.advance(2.5 * HOUR)
    server = await startOn()
    const thread = () => fake.thread(CHANNEL, card.ts).map((m) => `${m.text ?? ''} ${blocksOf(m)}`)
    await fake.waitFor(() => thread().some((t) => t.includes('escalated to you')) || undefined, 10_000)
    await fake.waitFor(() => thread().some((t) => t.includes('still needed')) || undefined, 10_000)
    // Give a burst time to show itself before counting.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(thread().filter((t) => t.includes('still needed'))).toHaveLength(1)
    const escalations = thread().filter((t) => t.includes('escalated to you'))
    expect(escalations).toHaveLength(1)
    expect(escalations[0]).toContain('<@U0LEAD>')
    expect(escalations[0]).toContain('level 1 of 2')
    expect(fake.messages('U0LEAD').some((m) => String(m.text).includes('escalated to you'))).toBe(true)

    // The next reminder is due an hour after the restart, not at the old cadence.
    clock.advance(HOUR / 2)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(thread().filter((t) => t.includes('still needed'))).toHaveLength(1)
    clock.advance(HOUR / 2 + 1000)
    await fake.waitFor(() => thread().filter((t) => t.includes('still needed')).length === 2 || undefined, 10_000)

    const driver = createSlackDriver({ signingSecret: SECRET, url: `${server.url}/slack/events`, fake })
    const click = await driver.blockAction({
      user: 'U0LEAD',
      action_id: 'gl_approve',
      channel: CHANNEL,
      message_ts: approval.ts,
    })
    expect(click.status).toBe(200)
    const done = await api(server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000`)
    expect((done.body.data as { run: { status: string } }).run.status).toBe('succeeded')
  })
})
