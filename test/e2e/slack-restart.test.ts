// Slack HTTP mode across a restart: a run parks on an approval, the server stops, a new server starts on the same
// data directory and the same fake Slack; the clicks after the restart decide it, and nothing is posted twice.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { createFakeSlack, createSlackDriver, type FakeSlack } from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, cardAndApproval } from '../support/slack-harness.ts'

const SECRET = 'e2e-restart-secret'
const CHANNEL = 'C0RESTART'
const USERS = ['U0INIT', 'U0ANN', 'U0BOB']

const diff = ['--- a/r.ts', '+++ b/r.ts', '@@ -1 +1 @@', '-old restart line', '+new restart line'].join('\n')

const FLOW = `slug: restart_me
name: Survives a restart
inputs:
  diff: { type: string, required: true }
steps:
  - id: review
    approval:
      message: "*RESTART-REVIEW* two approvals please"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
  - id: done
    notify: { text: "RESTART-DONE after the restart" }
`

interface Server extends RunningServer {
  token: string
}

/** Starts Greenlight on a fixed data directory, which it keeps when it stops (unlike startTestServer). */
async function startOn(dataDir: string, env: Record<string, string>): Promise<Server> {
  const running = await startServer(loadConfig({ GREENLIGHT_DATA_DIR: dataDir, PORT: '0', ...env }))
  return { ...running, token: readFileSync(join(dataDir, 'cli-token'), 'utf8').trim() }
}

describe('Slack across a restart (HTTP mode)', () => {
  let fake: FakeSlack
  let dataDir: string
  let server: Server | undefined
  const env = (apiUrl: string) => ({
    SLACK_BOT_TOKEN: 'xoxb-e2e-restart',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: apiUrl,
    GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
    LOG_LEVEL: 'silent',
  })

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: USERS.map((id) => ({ id, name: id.toLowerCase() })),
      channels: { [CHANNEL]: { name: 'restarts', members: USERS } },
    })
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-restart-'))
  })
  afterAll(async () => {
    await server?.close()
    await fake?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('decides a pending approval after a restart and posts nothing twice', async () => {
    server = await startOn(dataDir, env(fake.apiUrl))
    expect((await api(server, 'POST', '/api/v1/flows', { source: FLOW })).status).toBe(201)
    expect((await api(server, 'POST', '/api/v1/flows/restart_me/release', {})).status).toBe(201)
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'restart_me', inputs: { diff } })
    expect(started.status).toBe(201)
    const runId = (started.body.data as unknown as { run: { id: string } }).run.id
    const parked = await api(server, 'GET', `/api/v1/runs/${runId}?settle=parked&timeout_ms=10000&view=brief`)
    expect((parked.body.data as unknown as { run: { status: string } }).run.status).toBe('waiting')

    const { card, approval } = await cardAndApproval(fake, CHANNEL, runId, 10_000)
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, card.ts)).includes('waiting for approval'), 10_000)
    const postsBefore = fake.callsTo('chat.postMessage').length
    const uploadsBefore = fake.callsTo('files.completeUploadExternal').length

    await server.close()
    server = undefined
    server = await startOn(dataDir, env(fake.apiUrl))
    const driver = createSlackDriver({ signingSecret: SECRET, url: `${server.url}/slack/events`, fake })
    const stillParked = await api(server, 'GET', `/api/v1/runs/${runId}?view=brief`)
    expect((stillParked.body.data as unknown as { run: { status: string } }).run.status).toBe('waiting')

    const click = (user: string) =>
      driver.blockAction({ user, action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts })
    expect((await click('U0ANN')).status).toBe(200)
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('1 of 2 approvals'), 10_000)
    expect((await click('U0BOB')).status).toBe(200)

    const show = await api(server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000`)
    const body = show.body.data as unknown as {
      run: { status: string }
      steps: { step: string; output: { votes: { user: string }[] } | null }[]
    }
    expect(body.run.status).toBe('succeeded')
    const votes = body.steps.find((s) => s.step === 'review')?.output?.votes.map((v) => v.user)
    expect(votes?.sort()).toEqual(['U0ANN', 'U0BOB'])

    await fake.waitFor((f) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('succeeded in')), 10_000)
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, card.ts)).includes('Succeeded'), 10_000)
    const decided = await fake.waitFor((f) => {
      const json = blocksOf(f.message(CHANNEL, approval.ts))
      return !json.includes('gl_approve') && json.includes('Approved') ? json : undefined
    }, 10_000)
    expect(decided).toContain('<@U0ANN>')
    expect(decided).toContain('<@U0BOB>')

    // One card, one approval message, one diff file; the only new posts are the notify and the result.
    const all = fake.messages(CHANNEL, { includeReplies: true })
    expect(all.filter((m) => !m.thread_ts && blocksOf(m).includes(runId))).toHaveLength(1)
    expect(all.filter((m) => blocksOf(m).includes('RESTART-REVIEW'))).toHaveLength(1)
    expect(all.filter((m) => blocksOf(m).includes('RESTART-DONE'))).toHaveLength(1)
    expect(fake.files.filter((x) => x.completed)).toHaveLength(1)
    expect(fake.callsTo('files.completeUploadExternal').length).toBe(uploadsBefore)
    expect(fake.callsTo('chat.postMessage').length - postsBefore).toBe(2)
    expect(fake.thread(CHANNEL, card.ts)).toHaveLength(4) // approval, diff file, notify, result
  })

  it('delivers, after a restart, what was still in the outbox when Slack was down, once', async () => {
    if (!server) throw new Error('the previous test left no server')
    fake.failFor('chat.postMessage', 120_000, { status: 500 })
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'restart_me', inputs: { diff } })
    const runId = (started.body.data as unknown as { run: { id: string } }).run.id
    const parked = await api(server, 'GET', `/api/v1/runs/${runId}?settle=parked&timeout_ms=10000&view=brief`)
    expect((parked.body.data as unknown as { run: { status: string } }).run.status).toBe('waiting')
    // Slack refused the card at least once; nothing of this run is in Slack yet.
    await fake.waitFor(
      (f) =>
        f
          .callsTo('chat.postMessage')
          .some((c) => c.status === 500 && JSON.stringify(c.params.blocks ?? []).includes(runId)),
      10_000,
    )
    expect(fake.messages(CHANNEL).filter((m) => blocksOf(m).includes(runId))).toHaveLength(0)

    await server.close()
    server = undefined
    fake.clearFailures()
    server = await startOn(dataDir, env(fake.apiUrl))
    const driver = createSlackDriver({ signingSecret: SECRET, url: `${server.url}/slack/events`, fake })

    const { card, approval } = await cardAndApproval(fake, CHANNEL, runId, 30_000)
    for (const user of ['U0ANN', 'U0BOB']) {
      const res = await driver.blockAction({ user, action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts })
      expect(res.status).toBe(200)
    }
    const show = await api(server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000&view=brief`)
    expect((show.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, card.ts)).includes('Succeeded'), 10_000)
    await fake.waitFor((f) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('succeeded in')), 10_000)

    const all = fake.messages(CHANNEL, { includeReplies: true })
    expect(all.filter((m) => !m.thread_ts && blocksOf(m).includes(runId))).toHaveLength(1)
    expect(fake.thread(CHANNEL, card.ts).filter((m) => blocksOf(m).includes('RESTART-REVIEW'))).toHaveLength(1)
    expect(fake.files.filter((x) => x.completed && x.thread_ts === card.ts)).toHaveLength(1)
    expect(fake.thread(CHANNEL, card.ts)).toHaveLength(4)
  })

  it('mirrors at start every run whose latest state never reached Slack, however old, and only once', async () => {
    // Runs that ran while this instance had Slack off stand in for commits a crash cut off from their enqueue.
    await server?.close()
    server = undefined
    const quietDir = mkdtempSync(join(tmpdir(), 'greenlight-catchup-'))
    try {
      server = await startOn(quietDir, { LOG_LEVEL: 'silent', GREENLIGHT_DEFAULT_CHANNEL: CHANNEL })
      const quick = 'slug: quick\nsteps:\n  - id: shape\n    transform: "{{ { \'ok\': true } }}"\n'
      expect((await api(server, 'POST', '/api/v1/flows', { source: quick })).status).toBe(201)
      expect((await api(server, 'POST', '/api/v1/flows/quick/release', {})).status).toBe(201)
      // No window: the cursor is the outbox itself, so every run behind is found, not only the most recent ones.
      const ids: string[] = []
      for (let i = 0; i < 25; i++) {
        const started = await api(server, 'POST', '/api/v1/runs', { flow: 'quick', inputs: {} })
        ids.push((started.body.data as unknown as { run: { id: string } }).run.id)
      }
      const last = ids.at(-1) as string
      await api(server, 'GET', `/api/v1/runs/${last}?settle=ended&timeout_ms=10000&view=brief`)
      await server.close()
      server = undefined

      const cardsOf = (f: FakeSlack) => f.messages(CHANNEL).filter((m) => ids.some((id) => blocksOf(m).includes(id)))
      server = await startOn(quietDir, env(fake.apiUrl))
      await fake.waitFor((f) => cardsOf(f).length >= ids.length || undefined, 60_000)
      for (const id of ids) expect(cardsOf(fake).filter((m) => blocksOf(m).includes(id))).toHaveLength(1)
      // Each run's thread gets its result too, before this instance stops.
      await fake.waitFor(
        (f) =>
          cardsOf(f).every((card) => f.thread(CHANNEL, card.ts).some((m) => blocksOf(m).includes('succeeded in'))) ||
          undefined,
        60_000,
      )
      await server.close()
      server = undefined

      // Caught up: a further start finds nothing behind and posts nothing.
      const posts = fake.callsTo('chat.postMessage').length
      server = await startOn(quietDir, env(fake.apiUrl))
      await new Promise((r) => setTimeout(r, 1500))
      expect(fake.callsTo('chat.postMessage').length).toBe(posts)
    } finally {
      await server?.close()
      server = undefined
      rmSync(quietDir, { recursive: true, force: true })
    }
  })
})
