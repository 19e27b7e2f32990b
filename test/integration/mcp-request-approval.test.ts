// request_approval through both MCP transports (POST /mcp and `greenlight mcp` over stdio), decided in a fake Slack
// by signed clicks: approved (with progress while it waits), rejected with a reason, timed out, a second call on the
// same client while one waits, and the agent's own identity refused as a voter, in Slack and with a second token.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT } from '../support/cli.ts'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import type { Json } from '../support/runs.ts'
import { api, mintToken } from '../support/server.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0AGENTS'
const slack = useSlackHarness({
  users: ['U0AGENT', 'U0ANN', 'U0BOB'],
  channel: CHANNEL,
  flows: [],
  env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL },
})

type Transport = 'http' | 'stdio'

async function connect(kind: Transport, token: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1' })
  const transport =
    kind === 'http'
      ? new StreamableHTTPClientTransport(new URL(`${slack.server.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        })
      : new StdioClientTransport({
          command: process.execPath,
          args: [BIN, 'mcp'],
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', GREENLIGHT_URL: slack.server.url, GREENLIGHT_TOKEN: token },
          stderr: 'pipe',
        })
  await client.connect(transport)
  return client
}

/** Calls request_approval; resolves with its structured result and the progress messages it sent. */
async function ask(client: Client, args: Record<string, unknown>): Promise<{ result: Json; progress: string[] }> {
  const progress: string[] = []
  const result = await client.callTool({ name: 'request_approval', arguments: args }, CallToolResultSchema, {
    onprogress: (p) => {
      progress.push(p.message ?? '')
    },
    timeout: 60_000,
  })
  if (result.isError) throw new Error(`request_approval failed: ${JSON.stringify(result.structuredContent)}`)
  return { result: result.structuredContent, progress }
}

/** The approval message in the thread of the request whose title is `title`. */
async function approvalMessage(title: string): Promise<StoredMessage> {
  return slack.fake.waitFor(
    (f) =>
      f
        .messages(CHANNEL, { includeReplies: true })
        .find((m) => blocksOf(m).includes(title) && blocksOf(m).includes('gl_approve')),
    15_000,
  )
}

const click = (user: string, message: StoredMessage, action = 'gl_approve') =>
  slack.driver.blockAction({ user, action_id: action, channel: CHANNEL, message_ts: message.ts })

describe.each<Transport>(['http', 'stdio'])('request_approval over %s', (kind) => {
  let agentToken = ''

  it('is approved in Slack after the agent itself is refused, in Slack and through a second token as itself', async () => {
    agentToken = (await mintToken(slack.server, `agent-${kind}`, ['runs:read', 'runs:write'], 'U0AGENT')).secret
    const client = await connect(kind, agentToken)
    const title = `Run the users migration (${kind})`
    const asked = ask(client, {
      title,
      body: 'Adds a column; reversible.',
      diff: `--- a/db/schema.sql\n+++ b/db/schema.sql\n@@ -1 +1,2 @@\n create table users (id int);\n+alter table users add column ${kind} text;\n`,
      payload: { command: 'npm run migrate' },
      approvers: { users: ['U0AGENT', 'U0ANN'] },
      idempotency_key: `migrate-${kind}`,
      wait_seconds: 40,
    })
    const message = await approvalMessage(title)
    expect(blocksOf(message)).toContain('npm run migrate')
    // The diff is previewed in the message and uploaded whole to the thread, as for any approval.
    expect(blocksOf(message)).toContain(`add column ${kind} text`)
    await slack.fake.waitFor((f) => f.files.find((x) => x.completed && x.thread_ts === message.thread_ts), 10_000)

    // The agent's own identity may not vote: in Slack, nor with an approvals:decide token created --as itself.
    expect((await click('U0AGENT', message)).status).toBe(200)
    const note = await slack.fake.waitFor((f) => f.ephemerals('U0AGENT').at(-1), 10_000)
    expect(note.text).toMatch(/started this run|yourself/i)
    const self = await mintToken(slack.server, `self-${kind}`, ['approvals:decide'], 'U0AGENT')
    const [wait] = ((await api(slack.server, 'GET', '/api/v1/waits?kind=approval')).body.data as Json).waits.filter(
      (w: Json) => w.message.includes(title),
    )
    const vote = await api(slack.server, 'POST', `/api/v1/waits/${wait.id}/approve`, {}, self.secret)
    expect(vote.status).toBe(403)
    expect(vote.body.error?.code).toBe('self_approval')

    expect((await click('U0ANN', message)).status).toBe(200)
    const { result, progress } = await asked
    expect(result).toMatchObject({ decision: 'approved', approved: true, created: true })
    expect(result.votes.map((v: Json) => [v.user, v.decision])).toEqual([['U0ANN', 'approve']])
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.every((p) => p.includes('0 of 1 approvals'))).toBe(true)

    // The request is an ordinary run: the built-in flow, started by the agent, audited.
    const events = (await api(slack.server, 'GET', `/api/v1/runs/${result.run.id}/events`)).body.data as Json
    expect(events.events[0]).toMatchObject({ type: 'run.started', actor: 'U0AGENT' })
    expect(events.events[0].data.flow).toBe('greenlight_request')

    // Asking again with the same key answers the decision; nothing new is posted.
    const posts = slack.fake.callsTo('chat.postMessage').length
    const again = await ask(client, { title, idempotency_key: `migrate-${kind}`, wait_seconds: 5 })
    expect(again.result).toMatchObject({ decision: 'approved', created: false, run: { id: result.run.id } })
    expect(slack.fake.callsTo('chat.postMessage').length).toBe(posts)
    await client.close()
  })

  it('is rejected with a reason, and a second call on the same client answers while the first waits', async () => {
    const client = await connect(kind, agentToken)
    const title = `Drop the sessions table (${kind})`
    let settled = false
    const asked = ask(client, { title, approvers: { users: ['U0BOB'] }, wait_seconds: 40 }).finally(() => {
      settled = true
    })
    const message = await approvalMessage(title)
    const waits = await client.callTool({ name: 'waits_list', arguments: { kind: 'approval' } })
    expect(waits.isError).toBeFalsy()
    expect(JSON.stringify(waits.structuredContent)).toContain(title)
    expect(settled).toBe(false)

    const views = slack.fake.views.length
    expect((await click('U0BOB', message, 'gl_reject')).status).toBe(200)
    const modal = await slack.fake.waitFor(
      (f) => f.views.slice(views).find((v) => v.callback_id === 'gl_reason'),
      10_000,
    )
    const submitted = await slack.driver.viewSubmission({
      user: 'U0BOB',
      view: {
        id: modal.id,
        callback_id: 'gl_reason',
        private_metadata: modal.private_metadata,
        state: { values: { reason: { reason: 'Not during business hours' } } },
      },
    })
    expect(submitted.status).toBe(200)
    const { result } = await asked
    expect(result).toMatchObject({ decision: 'rejected', approved: false, comment: 'Not during business hours' })
    expect(result.votes).toEqual([expect.objectContaining({ user: 'U0BOB', decision: 'reject' })])
    await client.close()
  })

  it('times out when nobody decides in time', async () => {
    const client = await connect(kind, agentToken)
    const { result } = await ask(client, {
      title: `Restart the cache (${kind})`,
      approvers: { users: ['U0ANN'] },
      timeout: '2s',
      wait_seconds: 30,
    })
    expect(result).toMatchObject({ decision: 'timed_out', approved: false, votes: [] })
    await client.close()
  })
})

describe('request_approval with edit fields', () => {
  it('returns the draft as an approver corrected it in Slack, with was_edited', async () => {
    const token = (await mintToken(slack.server, 'agent-edit', ['runs:read', 'runs:write'], 'U0AGENT')).secret
    const client = await connect('http', token)
    const title = 'Send this reply to the customer'
    const asked = ask(client, {
      title,
      approvers: { users: ['U0ANN'] },
      edit: {
        fields: {
          reply: { type: 'textarea', label: 'Reply', value: 'Dear customer, it is fixed.' },
          subject: { value: 'Re: your ticket' },
        },
      },
      wait_seconds: 40,
    })
    const message = await slack.fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find((m) => blocksOf(m).includes(title) && blocksOf(m).includes('gl_edit_approve')),
      15_000,
    )
    expect(blocksOf(message)).toContain('Dear customer, it is fixed.')
    const views = slack.fake.views.length
    expect((await click('U0ANN', message, 'gl_edit_approve')).status).toBe(200)
    const modal = await slack.fake.waitFor(
      (f) => f.views.slice(views).find((v) => v.callback_id === 'gl_edit_approve'),
      10_000,
    )
    const submitted = await slack.driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: modal.id,
        callback_id: 'gl_edit_approve',
        private_metadata: modal.private_metadata,
        state: {
          values: {
            e_reply: { value: { type: 'plain_text_input', value: 'Dear customer, it is fixed in 2.1.' } },
            e_subject: { value: { type: 'plain_text_input', value: 'Re: your ticket' } },
          },
        },
      },
    })
    expect(submitted.status).toBe(200)
    const { result } = await asked
    expect(result).toMatchObject({
      decision: 'approved',
      edited: {
        reply: { value: 'Dear customer, it is fixed in 2.1.', was_edited: true },
        subject: { value: 'Re: your ticket', was_edited: false },
      },
    })
    await client.close()
  })

  it('refuses edit fields that are not names to drafts, asking nobody', async () => {
    const token = (await mintToken(slack.server, 'agent-bad-edit', ['runs:read', 'runs:write'], 'U0AGENT')).secret
    const client = await connect('http', token)
    const result = await client.callTool({
      name: 'request_approval',
      arguments: { title: 'Bad edit', edit: { fields: { 'Not-A-Name': { value: 'x' } } } },
    })
    expect(result.isError).toBe(true)
    expect((result.structuredContent as Json).error).toMatchObject({
      code: 'invalid_arguments',
      details: { problems: [expect.objectContaining({ path: 'edit.fields.Not-A-Name' })] },
    })
    await client.close()
  })
})
