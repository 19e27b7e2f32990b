// A server killed (SIGKILL) while request_approval waits: after a restart on the same data directory the approval
// is still in Slack, a click after the restart decides it, and the agent asking again with the same
// idempotency_key gets that decision instead of a second request.

import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'
import { createFakeSlack, createSlackDriver, type FakeSlack } from '../support/fake-slack/index.ts'
import { eventually, type Json } from '../support/runs.ts'
import { mintToken } from '../support/server.ts'
import { blocksOf } from '../support/slack-harness.ts'

const SECRET = 'mcp-restart-secret'
const CHANNEL = 'C0CRASH'
const TITLE = 'Rotate the database password'

let fake: FakeSlack
let dataDir: string
let child: ChildProcess | undefined

async function serve(): Promise<string> {
  const started = await spawnServe({
    env: {
      GREENLIGHT_DATA_DIR: dataDir,
      PORT: '0',
      SLACK_BOT_TOKEN: 'xoxb-crash',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
      LOG_LEVEL: 'silent',
    },
  })
  child = started.child
  return started.url
}

/** Resolves once every Slack call the server queued has been sent (read from its database file). */
async function outboxIdle(): Promise<void> {
  const db = createClient({ url: `file:${join(dataDir, 'greenlight.db')}` })
  try {
    await eventually(async () => {
      const row = (await db.execute("SELECT count(*) AS n FROM outbox WHERE status = 'pending'")).rows[0]
      return Number(row?.n) === 0 ? true : undefined
    }, 'the outbox to be idle')
  } finally {
    db.close()
  }
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'crash-agent', version: '1' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  )
  return client
}

const REQUEST = {
  title: TITLE,
  body: 'The old one leaked in a log.',
  approvers: { users: ['U0ANN'] },
  idempotency_key: 'rotate-db-password-1',
}

beforeAll(async () => {
  fake = await createFakeSlack({
    users: ['U0AGENT', 'U0ANN'].map((id) => ({ id, name: id.toLowerCase() })),
    channels: { [CHANNEL]: { name: 'crash', members: ['U0AGENT', 'U0ANN'] } },
  })
  dataDir = mkdtempSync(join(tmpdir(), 'greenlight-mcp-crash-'))
})
afterAll(async () => {
  if (child) await stopChild(child, 'SIGKILL')
  await fake?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('request_approval across a crash', () => {
  it('keeps the request, decides it after the restart and answers the same key with the decision', async () => {
    let url = await serve()
    const admin = { url, token: readFileSync(join(dataDir, 'cli-token'), 'utf8').trim() }
    const agent = await mintToken(admin, 'agent', ['runs:read', 'runs:write'], 'U0AGENT')
    const client = await connect(url, agent.secret)
    // The call dies with the server (the client may keep trying to resume its stream); the agent will ask again.
    const pending = client.callTool({ name: 'request_approval', arguments: { ...REQUEST, wait_seconds: 60 } })
    pending.catch(() => undefined)
    const message = await fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find((m) => blocksOf(m).includes(TITLE) && blocksOf(m).includes('gl_approve')),
      15_000,
    )

    // Killed once the outbox is idle: a Slack call cut short by the kill is sent again (at least once) after its
    // claim expires, a minute later, and holds its run's later messages until then.
    await outboxIdle()
    if (child) await stopChild(child, 'SIGKILL')
    await client.close().catch(() => undefined)

    url = await serve()
    // Still in Slack, still open: the restart posted no second request.
    expect(blocksOf(fake.message(CHANNEL, message.ts))).toContain('gl_approve')
    const driver = createSlackDriver({ signingSecret: SECRET, url: `${url}/slack/events`, fake })
    expect(
      (await driver.blockAction({ user: 'U0ANN', action_id: 'gl_approve', channel: CHANNEL, message_ts: message.ts }))
        .status,
    ).toBe(200)

    const again = await connect(url, agent.secret)
    const result = await again.callTool({ name: 'request_approval', arguments: { ...REQUEST, wait_seconds: 20 } })
    expect(result.isError).toBeFalsy()
    const answer = result.structuredContent as Json
    expect(answer).toMatchObject({ decision: 'approved', created: false })
    expect(answer.votes.map((v: Json) => v.user)).toEqual(['U0ANN'])
    const asked = fake
      .messages(CHANNEL, { includeReplies: true })
      .filter((m) => blocksOf(m).includes(TITLE) && m.thread_ts)
    expect(asked).toHaveLength(1)
    await fake.waitFor(
      (f) => (blocksOf(f.message(CHANNEL, message.ts)).includes('Approved') ? true : undefined),
      10_000,
    )
    await again.close()
  })
})
