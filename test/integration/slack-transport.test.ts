// The Slack transport against the fake Slack: signed HTTP requests into Hono, and Socket Mode envelopes.
import { createHmac, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import type { App } from '@slack/bolt'
import { Hono } from 'hono'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { SlackHandlers } from '../../src/slack/transport/handlers.ts'
import { HttpReceiver } from '../../src/slack/transport/http-receiver.ts'
import { SLOW_COMMAND_TEXT } from '../../src/slack/transport/listeners.ts'
import { createSlackApp, type SlackApp } from '../../src/slack/transport/slack-app.ts'
import {
  buildBlockActionPayload,
  buildEventEnvelope,
  buildSlashCommandPayload,
  buildViewSubmissionPayload,
  createFakeSlack,
  createSlackDriver,
  encodeForm,
  type FakeSlack,
  FORM,
  type SlackDriver,
} from '../support/fake-slack/index.ts'

const SECRET = 'transport-signing-secret'
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const never = () => new Promise<never>(() => undefined)

type Call = { kind: keyof SlackHandlers; input: unknown; doneAt?: number }
let fake: FakeSlack
let calls: Call[]
let behave: Partial<SlackHandlers>
let logs: Record<string, unknown>[]
const cleanups: (() => Promise<unknown>)[] = []

const handlers: SlackHandlers = {
  command: async (input) => {
    calls.push({ kind: 'command', input })
    return behave.command ? behave.command(input) : { text: `ok: ${input.text}` }
  },
  action: async (input) => {
    const call: Call = { kind: 'action', input }
    calls.push(call)
    await behave.action?.(input)
    call.doneAt = performance.now()
  },
  viewSubmission: async (input) => {
    calls.push({ kind: 'viewSubmission', input })
    return behave.viewSubmission?.(input)
  },
  homeOpened: async (userId) => {
    calls.push({ kind: 'homeOpened', input: userId })
  },
}

const logger = () => pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
const logged = (msg: string) => logs.filter((l) => l.msg === msg)

beforeEach(async () => {
  calls = []
  behave = {}
  logs = []
  fake = await createFakeSlack({
    users: [
      { id: 'U1', name: 'ada' },
      { id: 'U2', name: 'bob' },
    ],
    channels: { C0ENG: { name: 'eng-bots', members: ['U1', 'U2'] } },
  })
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await fake.close()
})

const slackConfig = (mode: 'http' | 'socket') => ({
  botToken: 'xoxb-transport',
  appToken: mode === 'socket' ? 'xapp-1-transport' : undefined,
  signingSecret: mode === 'http' ? SECRET : undefined,
  apiUrl: fake.apiUrl,
  mode,
})

async function startSlack(mode: 'http' | 'socket'): Promise<SlackApp> {
  const slack = createSlackApp({ slack: slackConfig(mode), handlers, logger: logger() })
  await slack.start()
  cleanups.push(() => slack.stop())
  return slack
}

/** Serves a Hono app on a free port; returns its `/slack/events` URL. */
async function listen(route: Hono): Promise<string> {
  const hono = new Hono().route('/', route)
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`
}

const approvalBlocks = [
  {
    type: 'actions',
    block_id: 'vote:run-42',
    elements: [
      { type: 'button', action_id: 'gl_approve', text: { type: 'plain_text', text: 'Approve' }, value: 'run-42' },
    ],
  },
]

async function postApproval(slack: SlackApp): Promise<string> {
  const posted = await slack.client.chat.postMessage({ channel: 'C0ENG', text: 'approve?', blocks: approvalBlocks })
  return posted.ts as string
}

const reasonValues = { reason: { text: 'too risky' } }

describe('HTTP mode', () => {
  let slack: SlackApp
  let driver: SlackDriver
  let url: string

  beforeEach(async () => {
    slack = await startSlack('http')
    if (!slack.httpRoute) throw new Error('HTTP mode has a route')
    url = await listen(slack.httpRoute)
    driver = createSlackDriver({ signingSecret: SECRET, url, fake })
  })

  /** Posts raw bytes, signed over exactly those bytes unless `sign` is false. */
  const postBytes = async (body: Buffer, contentType: string | undefined, sign = true) => {
    const ts = Math.floor(Date.now() / 1000)
    const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:`).update(body).digest('hex')}`
    const headers: Record<string, string> = { 'x-slack-request-timestamp': String(ts) }
    if (sign) headers['x-slack-signature'] = signature
    if (contentType) headers['content-type'] = contentType
    return fetch(url, { method: 'POST', headers, body })
  }

  it('answers a slash command with the handler reply as the ephemeral ack body', async () => {
    const res = await driver.slashCommand({ user_id: 'U1', channel_id: '#eng-bots', text: ' run deploy env=prod ' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ response_type: 'ephemeral', text: 'ok: run deploy env=prod' })
    expect(res.latencyMs).toBeLessThan(3000)
    expect(calls).toEqual([{ kind: 'command', input: expect.objectContaining({ userId: 'U1', userName: 'ada' }) }])
    expect(calls[0]?.input).toMatchObject({ channelId: 'C0ENG', teamId: fake.teamId, text: 'run deploy env=prod' })
    expect(calls[0]?.input).toMatchObject({ responseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1/) })

    behave.command = async () => ({ text: 'started', responseType: 'in_channel', blocks: [{ type: 'divider' }] })
    const inChannel = await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'run x' })
    expect(inChannel.body).toEqual({ response_type: 'in_channel', text: 'started', blocks: [{ type: 'divider' }] })
  })

  it('awaits the action handler before answering: the vote is written before Slack hears back', async () => {
    const ts = await postApproval(slack)
    behave.action = () => sleep(200)
    const res = await driver.blockAction({ user: 'U2', channel: 'C0ENG', message_ts: ts, action_id: 'gl_approve' })
    const handlerDoneAtAnswer = calls[0]?.doneAt
    expect(res.status).toBe(200)
    expect(res.text).toBe('')
    expect(res.latencyMs).toBeGreaterThanOrEqual(190)
    expect(res.latencyMs).toBeLessThan(3000)
    expect(handlerDoneAtAnswer).toBeDefined() // set only once the handler's write finished
    expect(calls[0]?.input).toEqual({
      userId: 'U2',
      actionId: 'gl_approve',
      value: 'run-42',
      blockId: 'vote:run-42',
      channelId: 'C0ENG',
      messageTs: ts,
      triggerId: expect.any(String),
      viewId: null,
      retryNum: 0,
    })
  })

  it("takes clicks on Greenlight's buttons past Bolt's middleware, with the same input; other payloads go through Bolt", async () => {
    const seenByBolt: unknown[] = []
    slack.app.use(async ({ body, next }) => {
      seenByBolt.push((body as { type?: unknown; command?: unknown }).type ?? (body as { command?: unknown }).command)
      await next()
    })
    const ts = await postApproval(slack)
    const click = await driver.blockAction(
      { user: 'U2', channel: 'C0ENG', message_ts: ts, action_id: 'gl_approve' },
      { retryNum: 1, retryReason: 'http_timeout' },
    )
    expect([click.status, click.text]).toEqual([200, ''])
    expect(calls[0]?.input).toMatchObject({ userId: 'U2', actionId: 'gl_approve', value: 'run-42', retryNum: 1 })
    // Someone else's action id and a slash command still reach Bolt (and its middleware).
    const other = await driver.blockAction({
      user: 'U2',
      channel: 'C0ENG',
      message_ts: ts,
      action_id: 'not_ours',
      block_id: 'b',
    })
    expect(other.status).toBe(200)
    await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'list' })
    expect(seenByBolt).toEqual(['block_actions', '/gl'])
    expect(calls.map((c) => c.kind)).toEqual(['action', 'command'])
  })

  it('returns view field errors as response_action errors, and an empty 200 otherwise', async () => {
    behave.viewSubmission = async (input) =>
      input.values.reason?.text ? undefined : { errors: { reason: 'Say why you reject.' } }
    const view = { id: 'V1', callback_id: 'gl_reject', private_metadata: 'run-42' }
    const refused = await driver.viewSubmission({ user: 'U1', view: { ...view, state: { values: { reason: {} } } } })
    expect(refused.body).toEqual({ response_action: 'errors', errors: { reason: 'Say why you reject.' } })
    const accepted = await driver.viewSubmission({ user: 'U1', view: { ...view, state: { values: reasonValues } } })
    expect([accepted.status, accepted.text]).toEqual([200, ''])
    expect(calls[1]?.input).toEqual({
      userId: 'U1',
      callbackId: 'gl_reject',
      privateMetadata: 'run-42',
      values: { reason: { text: { type: 'plain_text_input', value: 'too risky' } } },
      viewId: 'V1',
      triggerId: expect.any(String),
    })
  })

  it('hands app_home_opened to the handler once, dropping Slack retries of the same event_id', async () => {
    expect((await driver.event({ type: 'app_home_opened', user: 'U2', tab: 'messages' })).status).toBe(200)
    const first = await driver.event({ type: 'app_home_opened', user: 'U1' }, { eventId: 'Ev0001' })
    const retry = await driver.event(
      { type: 'app_home_opened', user: 'U1' },
      { eventId: 'Ev0001', retryNum: 1, retryReason: 'http_timeout' },
    )
    expect([first.status, retry.status]).toEqual([200, 200])
    await fake.waitFor(() => logged('Dropped a repeated event')[0] && calls[0])
    await sleep(50)
    expect(calls).toEqual([{ kind: 'homeOpened', input: 'U1' }])
    expect(logged('Dropped a repeated event')[0]).toMatchObject({ eventId: 'Ev0001', retryNum: 1 })
  })

  it("echoes url_verification and answers Slack's ssl_check without dispatching", async () => {
    expect((await driver.urlVerification('challenge-123')).body).toEqual({ challenge: 'challenge-123' })
    const check = await postBytes(Buffer.from('ssl_check=1&token=x'), FORM, false)
    expect([check.status, await check.text()]).toEqual([200, ''])
    expect(calls).toEqual([])
  })

  it('refuses forged and stale requests with 401, logs a warning and dispatches nothing', async () => {
    const now = Math.floor(Date.now() / 1000)
    const forged = await driver.slashCommand(
      { user_id: 'U1', channel_id: 'C0ENG' },
      { signature: `v0=${'0'.repeat(64)}` },
    )
    expect(forged.status).toBe(401)
    expect(forged.body).toMatchObject({ ok: false, error: { code: 'invalid_signature' } })
    const other = createSlackDriver({ signingSecret: 'other-secret', url, fake })
    expect((await other.event({ type: 'app_home_opened', user: 'U1' })).status).toBe(401)
    expect((await driver.event({ type: 'app_home_opened', user: 'U1' }, { timestamp: now - 600 })).status).toBe(401)
    expect((await driver.urlVerification('x', { timestamp: now + 600 })).status).toBe(401)
    expect((await postBytes(Buffer.from('command=%2Fgl&user_id=U1'), FORM, false)).status).toBe(401)
    expect(logged('Rejected a Slack request that is not signed by Slack').map((l) => l.reason)).toEqual([
      'bad_signature',
      'bad_signature',
      'timestamp_outside_window',
      'timestamp_outside_window',
      'missing_headers',
    ])
    await sleep(50)
    expect(calls).toEqual([])
  })

  it('answers garbage with 4xx, never 5xx, and never reaches a handler', async () => {
    const click = JSON.stringify(
      buildBlockActionPayload(
        { user: 'U2', channel: 'C0ENG', message_ts: '1.0', action_id: 'gl_approve', block_id: 'b' },
        { fake },
      ),
    )
    const envelope = JSON.stringify(buildEventEnvelope({ type: 'app_home_opened', user: 'U1' }, { fake }))
    const signed: [string, string | undefined][] = [
      [encodeForm({ payload: click.slice(0, click.length / 2) }), FORM],
      [envelope.slice(0, -7), 'application/json'],
      [envelope, 'text/plain'],
      [envelope, undefined],
      ['[1,2,3]', 'application/json'],
      ['null', 'application/json'],
      ['{"type":"event_callback","event":null,"event_id":"Ev1"}', 'application/json'],
      ['{"type":"event_callback","event":{"type":"app_home_opened","user":null},"event_id":"Ev2"}', 'application/json'],
      [encodeForm({ payload: JSON.stringify({ ...JSON.parse(click), user: 5 }) }), FORM],
      [encodeForm({ payload: JSON.stringify({ ...JSON.parse(click), actions: 'gl_approve' }) }), FORM],
      [encodeForm({ payload: JSON.stringify({ ...JSON.parse(click), channel: null }) }), FORM],
      [encodeForm({ payload: JSON.stringify({ type: 'view_submission', user: { id: 'U1' } }) }), FORM],
      [encodeForm({ command: '/gl', text: 'run' }), FORM],
      [encodeForm({ command: 'gl', user_id: 'U1', channel_id: 'C1' }), FORM],
      [encodeForm({ event: '{}', user_id: 'U1' }), FORM],
      ['', FORM],
      ['', 'application/json'],
    ]
    const statuses: number[] = []
    for (const [body, type] of signed) statuses.push((await postBytes(Buffer.from(body), type)).status)
    for (const type of [FORM, 'application/json', 'application/octet-stream', 'multipart/form-data; boundary=x']) {
      statuses.push((await postBytes(randomBytes(512), type)).status) // signed: invalid UTF-8 or shape
      statuses.push((await postBytes(randomBytes(512), type, false)).status)
    }
    statuses.push((await postBytes(Buffer.alloc(1024 * 1024 + 1, 'a'), FORM)).status)
    expect(statuses.filter((s) => s < 400 || s >= 500)).toEqual([])
    expect(statuses.at(-1)).toBe(413)
    expect(statuses[2]).toBe(415)
    await sleep(50)
    expect(calls).toEqual([])

    // Random truncations and byte flips of valid bodies, signed: anything but a 5xx.
    const valid = [
      encodeForm({ payload: click }),
      envelope,
      encodeForm(buildSlashCommandPayload({ user_id: 'U1', channel_id: 'C0ENG' }, { fake })),
    ]
    for (let i = 0; i < 150; i++) {
      const bytes = Buffer.from(valid[i % valid.length] as string)
      const mutated =
        i % 2
          ? bytes.subarray(0, (i * 7919) % bytes.length)
          : Buffer.from(bytes).fill(i % 256, (i * 31) % bytes.length, ((i * 31) % bytes.length) + 1)
      const res = await postBytes(mutated, i % 3 === 1 ? 'application/json' : FORM)
      expect(res.status).toBeLessThan(500)
    }
    expect((await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'still alive' })).body).toMatchObject(
      { text: 'ok: still alive' },
    )
  })

  it('still acks when a handler throws, and logs each failure once through app.error', async () => {
    behave.command = async () => {
      throw new Error('database exploded')
    }
    const res = await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'list' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      response_type: 'ephemeral',
      text: expect.stringMatching(/Something went wrong \(internal_error\)/),
    })
    expect(res.text).not.toContain('database exploded')
    behave.command = async () => {
      throw new AppError('flow_not_found', "No flow with slug 'x'.")
    }
    const coded = await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'run x' })
    expect((coded.body as { text: string }).text).toContain("(flow_not_found): No flow with slug 'x'.")

    behave.action = async () => {
      throw new Error('vote failed')
    }
    const ts = await postApproval(slack)
    expect(
      (await driver.blockAction({ user: 'U2', channel: 'C0ENG', message_ts: ts, action_id: 'gl_approve' })).status,
    ).toBe(200)
    behave.viewSubmission = async () => {
      throw new Error('nope')
    }
    const view = await driver.viewSubmission({
      user: 'U1',
      view: { callback_id: 'gl_reject', state: { values: reasonValues } },
    })
    expect(view.body).toEqual({
      response_action: 'errors',
      errors: { reason: expect.stringMatching(/internal_error/) },
    })
    await fake.waitFor(() => logged('Slack listener failed').length === 4)
    expect(logged('Slack listener failed').map((l) => l.code)).toEqual([
      'internal_error',
      'flow_not_found',
      'internal_error',
      'internal_error',
    ])
  })

  it('acks within 3 s when a handler never returns, and sends a late command reply to response_url', async () => {
    behave.command = never
    const slow = await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'list' })
    expect(slow.status).toBe(200)
    expect(slow.latencyMs).toBeLessThan(3000)
    expect(slow.body).toEqual({ response_type: 'ephemeral', text: SLOW_COMMAND_TEXT })

    behave.action = never
    const ts = await postApproval(slack)
    const click = await driver.blockAction({ user: 'U2', channel: 'C0ENG', message_ts: ts, action_id: 'gl_approve' })
    expect([click.status, click.latencyMs < 3000]).toEqual([200, true])

    behave.command = async () => {
      await sleep(2300)
      return { text: 'here is the list' }
    }
    await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'list' })
    const post = await fake.waitFor((f) => f.responseUrlPosts[0])
    expect(post.body).toMatchObject({ response_type: 'ephemeral', text: 'here is the list' })
  })

  it('answers 200 itself when Bolt never acks, and 503 before start', async () => {
    const receiver = new HttpReceiver({ signingSecret: SECRET, logger: logger() })
    receiver.init({ processEvent: never } as unknown as App)
    const hung = createSlackDriver({ signingSecret: SECRET, url: await listen(receiver.route), fake })
    expect((await hung.slashCommand({ user_id: 'U1', channel_id: 'C0ENG' })).status).toBe(503)
    await receiver.start()
    const res = await hung.slashCommand({ user_id: 'U1', channel_id: 'C0ENG' })
    expect([res.status, res.text]).toEqual([200, ''])
    expect(res.latencyMs).toBeGreaterThanOrEqual(2400)
    expect(res.latencyMs).toBeLessThan(3000)
    expect(logged('Slack request not acknowledged in time; answered 200')).toHaveLength(1)
  })
})

describe('lifecycle', () => {
  it('start() rejects, without crashing the process, when Slack is unreachable', async () => {
    const config = { ...slackConfig('http'), apiUrl: 'http://127.0.0.1:9/api/' }
    const slack = createSlackApp({ slack: config, handlers, logger: logger() })
    await expect(slack.start()).rejects.toThrow()
    await slack.stop()
  })
})

describe('Socket Mode', () => {
  let slack: SlackApp
  beforeEach(async () => {
    slack = await startSlack('socket')
  })

  it('connects through SLACK_API_URL and acks commands with the reply payload', async () => {
    expect(fake.callsTo('apps.connections.open')[0]?.token).toBe('xapp-1-transport')
    const command = buildSlashCommandPayload({ user_id: 'U1', channel_id: '#eng-bots', text: 'list' }, { fake })
    const ack = await fake.socket.send('slash_commands', command)
    expect(ack.payload).toEqual({ response_type: 'ephemeral', text: 'ok: list' })
    expect(ack.latencyMs).toBeLessThan(3000)

    behave.command = async () => {
      throw new Error('boom')
    }
    const failed = await fake.socket.send('slash_commands', command)
    expect(failed.payload).toMatchObject({ text: expect.stringMatching(/Something went wrong \(internal_error\)/) })
    behave.command = never
    expect((await fake.socket.send('slash_commands', command)).payload).toMatchObject({ text: SLOW_COMMAND_TEXT })
  })

  it('acks an action only after the handler finished, and returns view errors', async () => {
    const ts = await postApproval(slack)
    behave.action = () => sleep(200)
    const ack = await fake.socket.send(
      'interactive',
      buildBlockActionPayload({ user: 'U2', channel: 'C0ENG', message_ts: ts, action_id: 'gl_approve' }, { fake }),
    )
    expect(calls[0]?.doneAt).toBeDefined() // the handler had finished when the ack arrived
    expect(ack.payload).toEqual({})
    expect(ack.latencyMs).toBeGreaterThanOrEqual(190)
    expect(ack.latencyMs).toBeLessThan(3000)
    expect(calls[0]?.input).toMatchObject({ userId: 'U2', actionId: 'gl_approve', value: 'run-42', messageTs: ts })

    behave.viewSubmission = async () => ({ errors: { reason: 'Too short.' } })
    const view = buildViewSubmissionPayload(
      { user: 'U1', view: { callback_id: 'gl_reject', state: { values: reasonValues } } },
      { fake },
    )
    expect((await fake.socket.send('interactive', view)).payload).toEqual({
      response_action: 'errors',
      errors: { reason: 'Too short.' },
    })

    const home = buildEventEnvelope({ type: 'app_home_opened', user: 'U1' }, { fake }, { eventId: 'Ev0009' })
    await fake.socket.send('events_api', home)
    await fake.socket.send('events_api', home, { retryAttempt: 1, retryReason: 'timeout' })
    await fake.waitFor(() => logged('Dropped a repeated event')[0] && calls.find((c) => c.kind === 'homeOpened'))
    expect(calls.filter((c) => c.kind === 'homeOpened')).toEqual([{ kind: 'homeOpened', input: 'U1' }])

    await slack.stop() // waits for the socket to close
    await fake.waitFor((f) => f.socket.connectionCount === 0)
    expect(logs.filter((l) => (l.level as number) >= 50)).toEqual([])
  })
})
