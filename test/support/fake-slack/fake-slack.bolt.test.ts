// The fake Slack against a real @slack/bolt App: Socket Mode envelopes and acks, reconnects, and the signed driver.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { App, SocketModeReceiver, verifySlackRequest } from '@slack/bolt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  buildBlockActionPayload,
  buildEventEnvelope,
  buildSlashCommandPayload,
  createFakeSlack,
  createSlackDriver,
  type FakeSlack,
  slackText,
} from './index.ts'
import { quietLogger, section } from './test-helpers.ts'

const BOT = 'xoxb-test-token'
const APP = 'xapp-1-test-token'
const SECRET = 'test-signing-secret'

let fake: FakeSlack
const stops: (() => Promise<unknown>)[] = []

beforeEach(async () => {
  fake = await createFakeSlack({
    users: [
      { id: 'U1', name: 'ada' },
      { id: 'U2', name: 'bob' },
    ],
    channels: { C0ENG: { name: 'eng-bots', members: ['U1', 'U2'] } },
    socket: { pingIntervalMs: 100 },
  })
})

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
  await fake.close()
})

const approvalBlocks = [
  section('Deploy api@42?'),
  {
    type: 'actions',
    block_id: 'vote:run-42',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        text: { type: 'plain_text', text: 'Approve' },
        value: 'run-42',
        style: 'primary',
      },
    ],
  },
]

describe('Socket Mode with a real Bolt App', () => {
  const startApp = async (receiver?: SocketModeReceiver): Promise<App> => {
    const app = receiver
      ? new App({ token: BOT, receiver, logger: quietLogger, clientOptions: { slackApiUrl: fake.apiUrl } })
      : new App({
          token: BOT,
          appToken: APP,
          socketMode: true,
          logger: quietLogger,
          clientOptions: { slackApiUrl: fake.apiUrl },
        })
    return app
  }

  it('connects, receives a slash command envelope and acks it', async () => {
    const app = await startApp()
    app.command('/gl', async ({ ack, command, client }) => {
      await ack({ response_type: 'ephemeral', text: `starting ${command.text}` })
      await client.chat.postMessage({ channel: command.channel_id, text: `run card: ${command.text}` })
    })
    await app.start()
    stops.push(() => app.stop())
    expect(fake.socket.connectionCount).toBe(1)
    expect(fake.callsTo('apps.connections.open')[0]?.token).toBe(APP)

    const payload = buildSlashCommandPayload({ user_id: 'U1', channel_id: '#eng-bots', text: 'run deploy' }, { fake })
    const ack = await fake.socket.send('slash_commands', payload)
    expect(ack.payload).toEqual({ response_type: 'ephemeral', text: 'starting run deploy' })
    expect(ack.latencyMs).toBeLessThan(3000)
    expect(fake.socket.acks).toHaveLength(1)
    const card = await fake.waitFor((f) => f.messages('C0ENG').find((m) => m.text === 'run card: run deploy'))
    expect(card.user).toBe(fake.botUserId)
  })

  it('delivers block actions with the stored message and events_api envelopes', async () => {
    const app = await startApp()
    const seen: { blocks?: unknown; value?: string; user?: string }[] = []
    app.action('approve', async ({ ack, body, action, respond }) => {
      await ack()
      if (body.type !== 'block_actions' || action.type !== 'button') return
      seen.push({ blocks: body.message?.blocks, value: action.value, user: body.user.id })
      await respond({ replace_original: true, text: `approved by <@${body.user.id}>` })
    })
    app.event('app_home_opened', async ({ event, client }) => {
      await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [section('waiting on you')] } })
    })
    await app.start()
    stops.push(() => app.stop())
    const posted = await app.client.chat.postMessage({ channel: 'C0ENG', text: 'approve?', blocks: approvalBlocks })

    const click = buildBlockActionPayload(
      { user: 'U2', channel: 'C0ENG', message_ts: posted.ts as string, action_id: 'approve' },
      { fake },
    )
    const ack = await fake.socket.send('interactive', click)
    expect(ack.payload).toEqual({})
    await fake.waitFor((f) => f.message('C0ENG', posted.ts as string)?.text === 'approved by <@U2>')
    expect(seen).toEqual([{ blocks: approvalBlocks, value: 'run-42', user: 'U2' }])

    await fake.socket.send('events_api', buildEventEnvelope({ type: 'app_home_opened', user: 'U1' }, { fake }))
    const home = await fake.waitFor((f) => f.homeOf('U1'))
    expect(home.view.blocks).toEqual([section('waiting on you')])
  })

  it('reconnects after a refresh_requested disconnect and after a dropped socket', async () => {
    // clientPingTimeout sets both the ping cadence and the reconnect delay of @slack/socket-mode.
    const warnings: string[] = []
    const receiver = new SocketModeReceiver({
      appToken: APP,
      clientPingTimeout: 300,
      logger: { ...quietLogger, warn: (...msgs: unknown[]) => void warnings.push(msgs.join(' ')) },
      installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl } },
    })
    const app = await startApp(receiver)
    app.command('/gl', async ({ ack }) => ack('pong'))
    await app.start()
    stops.push(() => app.stop())
    const command = () => buildSlashCommandPayload({ user_id: 'U1', channel_id: 'C0ENG', text: 'ping' }, { fake })

    fake.socket.sendDisconnect('refresh_requested')
    await fake.waitFor((f) => f.socket.connectionsOpened === 2 && f.socket.connectionCount === 1)
    expect((await fake.socket.send('slash_commands', command())).payload).toEqual({ text: 'pong' })

    await fake.socket.disconnectAll({ abrupt: true })
    await fake.waitFor((f) => f.socket.connectionsOpened === 3 && f.socket.connectionCount === 1)
    expect((await fake.socket.send('slash_commands', command())).payload).toEqual({ text: 'pong' })
    // The client pings every 100 ms and drops the connection after 4 unanswered pings: the fake must pong.
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(warnings.filter((w) => w.includes('pong'))).toEqual([])
    expect(fake.socket.connectionsOpened).toBe(3)
  })

  it('rejects an envelope nobody acks in time', async () => {
    const app = await startApp()
    app.command('/gl', async () => undefined) // never acks
    await app.start()
    stops.push(() => app.stop())
    const payload = buildSlashCommandPayload({ user_id: 'U1', channel_id: 'C0ENG' }, { fake })
    await expect(fake.socket.send('slash_commands', payload, { timeoutMs: 200 })).rejects.toThrow(
      /not acked within 200 ms/,
    )
  })
})

describe('signed driver', () => {
  it('escapes typed slash command text as Slack does, and sends raw text as is', () => {
    const typed = buildSlashCommandPayload({ user_id: 'U1', channel_id: 'C0ENG', text: 'run x a=<b> & c' }, { fake })
    expect(typed.text).toBe('run x a=&lt;b&gt; &amp; c')
    const raw = `run x who=${slackText.user('U1', 'ada')} ch=${slackText.channel('C0ENG', 'eng-bots')} ${slackText.link('https://a.example/?a=1&b=2', 'docs')} ${slackText.usergroup('S0OPS', 'ops')}`
    expect(raw).toBe(
      'run x who=<@U1|ada> ch=<#C0ENG|eng-bots> <https://a.example/?a=1&amp;b=2|docs> <!subteam^S0OPS|@ops>',
    )
    expect(buildSlashCommandPayload({ user_id: 'U1', channel_id: 'C0ENG', rawText: raw }, { fake }).text).toBe(raw)
  })

  it('signs requests exactly as Slack does (checked by Bolt verifySlackRequest)', async () => {
    const seen: { raw: string; headers: Record<string, string | string[] | undefined> }[] = []
    const server: Server = createServer((req, res) => {
      let raw = ''
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8')
      })
      req.on('end', () => {
        seen.push({ raw, headers: req.headers })
        res.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    stops.push(() => new Promise((resolve) => server.close(resolve)))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`
    const driver = createSlackDriver({ signingSecret: SECRET, url, fake })
    const verify = (i: number, secret = SECRET) => {
      const { raw, headers } = seen[i] ?? { raw: '', headers: {} }
      verifySlackRequest({
        signingSecret: secret,
        body: raw,
        headers: {
          'x-slack-signature': String(headers['x-slack-signature']),
          'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
        },
      })
    }

    await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'run deploy env=prod & more' })
    expect(() => verify(0)).not.toThrow()
    expect(() => verify(0, 'other-secret')).toThrow()
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    const fields = new URLSearchParams(seen[0]?.raw)
    // Slack escapes what was typed: `&`, `<`, `>` arrive as entities.
    expect(fields.get('text')).toBe('run deploy env=prod &amp; more')
    expect(fields.get('response_url')).toMatch(new RegExp(`^${fake.url}/respond/`))

    await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG' }, { signature: 'v0=deadbeef' })
    expect(() => verify(1)).toThrow()
    await driver.event({ type: 'app_home_opened', user: 'U1' }, { timestamp: Math.floor(Date.now() / 1000) - 600 })
    expect(() => verify(2)).toThrow(/stale|old|timestamp/i)
    await driver.event({ type: 'app_home_opened', user: 'U1' }, { retryNum: 1, retryReason: 'http_timeout' })
    expect(() => verify(3)).not.toThrow()
    expect(seen[3]?.headers).toMatchObject({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })
  })

  it('drives a real Bolt HTTP App: commands, trigger_id → views.open, view submissions, url_verification', async () => {
    const app = new App({
      token: BOT,
      signingSecret: SECRET,
      logger: quietLogger,
      clientOptions: { slackApiUrl: fake.apiUrl },
    })
    const submitted: unknown[] = []
    app.command('/gl', async ({ ack, body, client }) => {
      await ack()
      await client.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'reject',
          private_metadata: 'run-42',
          title: { type: 'plain_text', text: 'Reject' },
          blocks: [],
        },
      })
    })
    app.view('reject', async ({ ack, view }) => {
      submitted.push({ metadata: view.private_metadata, values: view.state.values })
      await ack()
    })
    const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server
    stops.push(() => app.stop())
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`
    const driver = createSlackDriver({ signingSecret: SECRET, url, fake })

    const res = await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG', text: 'reject run-42' })
    expect(res.status).toBe(200)
    const view = await fake.waitFor((f) => f.views[0])
    expect(view).toMatchObject({ callback_id: 'reject', user: 'U1' })

    const submit = await driver.viewSubmission({
      user: 'U1',
      view: { id: view.id, state: { values: { reason: { text: 'too risky' } } } },
    })
    expect(submit.status).toBe(200)
    expect(submitted).toEqual([
      { metadata: 'run-42', values: { reason: { text: { type: 'plain_text_input', value: 'too risky' } } } },
    ])

    expect((await driver.slashCommand({ user_id: 'U1', channel_id: 'C0ENG' }, { signature: 'v0=00' })).status).toBe(401)
    expect((await driver.urlVerification('abc123')).body).toEqual({ challenge: 'abc123' })
  })
})
