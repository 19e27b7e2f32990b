// The fake Slack exercised through the real clients: @slack/web-api's WebClient and @slack/bolt (HTTP + Socket Mode).

import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient, WebClientEvent } from '@slack/web-api'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFakeSlack, type FakeSlack } from './index.ts'
import { quietLogger, section } from './test-helpers.ts'

const BOT = 'xoxb-test-token'
const APP = 'xapp-1-test-token'

let fake: FakeSlack
let client: WebClient

beforeEach(async () => {
  fake = await createFakeSlack({
    users: [
      { id: 'U1', name: 'ada', tz: 'Europe/Paris' },
      { id: 'U2', name: 'bob' },
      { id: 'U3', name: 'cyd' },
    ],
    usergroups: { S0SENIORS: ['U1', 'U2'] },
    channels: { C0ENG: { name: 'eng-bots', members: ['U1', 'U2', 'U3', 'U4', 'U5'] } },
  })
  client = new WebClient(BOT, { slackApiUrl: fake.apiUrl, logger: quietLogger, retryConfig: { retries: 0 } })
})

afterEach(async () => {
  await fake.close()
})

const platformError = async (call: Promise<unknown>): Promise<WebAPIPlatformError> => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(WebAPIPlatformError)
  return error as WebAPIPlatformError
}

describe('chat methods through WebClient', () => {
  it('posts to #names, threads replies, broadcasts, and opens DMs', async () => {
    const parent = await client.chat.postMessage({ channel: '#eng-bots', text: 'run card', blocks: [section('hi')] })
    expect(parent.channel).toBe('C0ENG')
    expect(parent.ts).toMatch(/^\d{10}\.\d{6}$/)
    const reply = await client.chat.postMessage({ channel: 'C0ENG', thread_ts: parent.ts as string, text: 'step 1' })
    const broadcast = await client.chat.postMessage({
      channel: 'C0ENG',
      thread_ts: reply.ts as string, // a reply's ts threads under the parent, as in Slack
      text: 'done',
      reply_broadcast: true,
    })
    expect(Number(reply.ts)).toBeGreaterThan(Number(parent.ts))
    expect(Number(broadcast.ts)).toBeGreaterThan(Number(reply.ts))
    expect(fake.thread('#eng-bots', parent.ts as string).map((m) => m.text)).toEqual(['step 1', 'done'])
    expect(fake.messages('C0ENG').map((m) => m.text)).toEqual(['run card', 'done'])
    expect(fake.messages('C0ENG', { includeReplies: true })).toHaveLength(3)
    expect(fake.message('C0ENG', parent.ts as string)?.blocks).toEqual([section('hi')])

    const dm = await client.chat.postMessage({ channel: 'U1', text: 'psst' })
    const opened = await client.conversations.open({ users: 'U1' })
    expect(opened.channel?.id).toBe(dm.channel)
    expect(fake.messages(dm.channel as string)[0]?.text).toBe('psst')
    await expect(client.chat.postMessage({ channel: '#nope', text: 'x' })).rejects.toThrow('channel_not_found')
    await expect(client.chat.postMessage({ channel: 'C0ENG', thread_ts: '1.000001', text: 'x' })).rejects.toThrow(
      'thread_not_found',
    )
  })

  it('chat.update keeps the edit history and refuses an unknown ts', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0ENG', text: 'v1', blocks: [section('one')] })
    const ts = posted.ts as string
    await client.chat.update({ channel: 'C0ENG', ts, text: 'v2' })
    await client.chat.update({ channel: 'C0ENG', ts, text: 'v3', blocks: [] })
    const message = fake.message('C0ENG', ts)
    expect(message?.text).toBe('v3')
    expect(message?.history.map((v) => [v.text, v.blocks?.length])).toEqual([
      ['v1', 1],
      ['v2', 1], // blocks omitted: the old ones stay
      ['v3', 0],
    ])
    const error = await platformError(client.chat.update({ channel: 'C0ENG', ts: '1700000000.000001', text: 'x' }))
    expect(error.data.error).toBe('message_not_found')
  })

  it('records ephemerals per user and refuses non-members', async () => {
    const res = await client.chat.postEphemeral({ channel: 'C0ENG', user: 'U2', text: 'not yours to approve' })
    expect(res.message_ts).toBeDefined()
    expect(fake.ephemerals('U2')).toMatchObject([{ channel: 'C0ENG', text: 'not yours to approve' }])
    expect(fake.ephemerals('U1')).toEqual([])
    const error = await platformError(client.chat.postEphemeral({ channel: 'C0ENG', user: 'U9', text: 'x' }))
    expect(error.data.error).toBe('user_not_in_channel')
  })

  it('checks tokens and refuses unknown methods', async () => {
    const stranger = new WebClient('bogus', {
      slackApiUrl: fake.apiUrl,
      logger: quietLogger,
      retryConfig: { retries: 0 },
    })
    expect((await platformError(stranger.auth.test())).data.error).toBe('invalid_auth')
    const appClient = new WebClient(APP, { slackApiUrl: fake.apiUrl, logger: quietLogger, retryConfig: { retries: 0 } })
    const wrongType = await platformError(appClient.chat.postMessage({ channel: 'C0ENG', text: 'x' }))
    expect(wrongType.data.error).toBe('not_allowed_token_type')
    expect((await platformError(client.apiCall('chat.frobnicate'))).data.error).toBe('unknown_method')
    expect((await client.auth.test()).user_id).toBe(fake.botUserId)
    expect(fake.callsTo('auth.test').at(-1)?.token).toBe(BOT)
  })

  it('enforces Block Kit limits like Slack', async () => {
    const tooMany = Array.from({ length: 51 }, (_, i) => section(`b${i}`))
    const many = await platformError(client.chat.postMessage({ channel: 'C0ENG', text: 'x', blocks: tooMany }))
    expect(many.data.error).toBe('invalid_blocks')
    expect(many.data).toMatchObject({ errors: ['must provide no more than 50 items [json-pointer:/blocks]'] })

    const long = await platformError(
      client.chat.postMessage({ channel: 'C0ENG', text: 'x', blocks: [section('a'.repeat(3001))] }),
    )
    expect(long.data).toMatchObject({
      errors: ['must be less than 3001 characters [json-pointer:/blocks/0/text/text]'],
    })

    const heavy = Array.from({ length: 30 }, () => section('d'.repeat(500)))
    const tooLong = await platformError(client.chat.postMessage({ channel: 'C0ENG', text: 'x', blocks: heavy }))
    expect(tooLong.data.error).toBe('msg_blocks_too_long')
    expect(
      (await platformError(client.chat.postMessage({ channel: 'C0ENG', text: 'x'.repeat(40_001) }))).data.error,
    ).toBe('msg_too_long')
    expect(fake.messages('C0ENG')).toEqual([])
    // Right at the limits passes.
    const ok = await client.chat.postMessage({
      channel: 'C0ENG',
      text: 'x',
      blocks: Array.from({ length: 4 }, () => section('e'.repeat(3000))),
    })
    expect(ok.ok).toBe(true)
  })
})

describe('failure injection', () => {
  it('WebClient waits out a 429 Retry-After, then succeeds', async () => {
    const patient = new WebClient(BOT, {
      slackApiUrl: fake.apiUrl,
      logger: quietLogger,
      rejectRateLimitedCalls: false,
      retryConfig: { retries: 2, factor: 1, minTimeout: 5, maxTimeout: 5 },
    })
    const waits: number[] = []
    patient.on(WebClientEvent.RATE_LIMITED, (seconds: number) => waits.push(seconds))
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 })
    const started = Date.now()
    const res = await patient.chat.postMessage({ channel: 'C0ENG', text: 'eventually' })
    expect(res.ok).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(waits).toEqual([1])
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200])
    expect(fake.messages('C0ENG')).toHaveLength(1)
  })

  it('rejectRateLimitedCalls, platform errors, 5xx and failFor', async () => {
    const hasty = new WebClient(BOT, { slackApiUrl: fake.apiUrl, logger: quietLogger, rejectRateLimitedCalls: true })
    fake.failNext('chat.update', { status: 429, retryAfter: 7 })
    const limited = await hasty.chat.update({ channel: 'C0ENG', ts: '1.1', text: 'x' }).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(WebAPIRateLimitedError)
    expect((limited as WebAPIRateLimitedError).retryAfter).toBe(7)

    fake.failNext('chat.postMessage', { error: 'ratelimited' }, 2)
    expect((await platformError(client.chat.postMessage({ channel: 'C0ENG', text: 'a' }))).data.error).toBe(
      'ratelimited',
    )
    expect((await platformError(client.chat.postMessage({ channel: 'C0ENG', text: 'b' }))).data.error).toBe(
      'ratelimited',
    )
    expect((await client.chat.postMessage({ channel: 'C0ENG', text: 'c' })).ok).toBe(true)

    fake.failNext('users.info', { status: 500 })
    await expect(client.users.info({ user: 'U1' })).rejects.toBeInstanceOf(WebAPIHTTPError)

    fake.failFor('*', 60_000, { error: 'service_unavailable' })
    await expect(client.auth.test()).rejects.toThrow('service_unavailable')
    fake.clearFailures()
    expect((await client.auth.test()).ok).toBe(true)
  })
})

describe('views, files, directory and response_url', () => {
  const modal = {
    type: 'modal' as const,
    callback_id: 'reject',
    title: { type: 'plain_text' as const, text: 'Reject' },
    blocks: [],
  }

  it('views.open needs a fresh, unused trigger_id; views.update and views.publish', async () => {
    let clock = 1_700_000_000_000
    const timed = await createFakeSlack({ now: () => clock })
    try {
      const c = new WebClient(BOT, { slackApiUrl: timed.apiUrl, logger: quietLogger, retryConfig: { retries: 0 } })
      const trigger = timed.issueTriggerId('U1')
      const opened = await c.views.open({ trigger_id: trigger, view: { ...modal, external_id: 'run-42' } })
      expect(opened.view?.id).toMatch(/^V/)
      expect((await platformError(c.views.open({ trigger_id: trigger, view: modal }))).data.error).toBe(
        'exchanged_trigger_id',
      )
      const late = timed.issueTriggerId('U1')
      clock += 3001
      expect((await platformError(c.views.open({ trigger_id: late, view: modal }))).data.error).toBe(
        'expired_trigger_id',
      )
      expect((await platformError(c.views.open({ trigger_id: 'made-up', view: modal }))).data.error).toBe(
        'invalid_trigger_id',
      )

      await c.views.update({ external_id: 'run-42', view: { ...modal, blocks: [section('loaded')] } })
      const record = timed.view('run-42')
      expect(record?.user).toBe('U1')
      expect(record?.history).toHaveLength(2)
      expect(record?.view.blocks).toEqual([section('loaded')])

      await c.views.publish({ user_id: 'U2', view: { type: 'home', blocks: [section('your approvals')] } })
      expect(timed.homeOf('U2')?.view.blocks).toEqual([section('your approvals')])
      const big = Array.from({ length: 101 }, (_, i) => section(`h${i}`))
      const tooBig = await platformError(c.views.publish({ user_id: 'U2', view: { type: 'home', blocks: big } }))
      expect(tooBig.data.error).toBe('invalid_blocks')
    } finally {
      await timed.close()
    }
  })

  it('files.uploadV2 works end to end into a thread', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0ENG', text: 'approval' })
    const diff = '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n'
    const res = await client.files.uploadV2({
      channel_id: 'C0ENG',
      thread_ts: parent.ts as string,
      content: diff,
      filename: 'change.diff',
      snippet_type: 'diff',
      initial_comment: 'full diff',
    })
    expect(res.ok).toBe(true)
    expect(fake.calls.map((c) => c.method)).toEqual([
      'chat.postMessage',
      'files.getUploadURLExternal',
      'files.upload_url',
      'files.completeUploadExternal',
    ])
    const [file] = fake.files
    expect(file).toMatchObject({ filename: 'change.diff', snippet_type: 'diff', content: diff, completed: true })
    expect(file?.thread_ts).toBe(parent.ts)
    const [shared] = fake.thread('C0ENG', parent.ts as string)
    expect(shared).toMatchObject({
      subtype: 'file_share',
      text: 'full diff',
      files: [{ id: file?.id, filetype: 'diff' }],
    })
  })

  it('answers directory lookups, with cursor pagination', async () => {
    expect((await client.users.info({ user: 'U1' })).user).toMatchObject({ name: 'ada', tz: 'Europe/Paris' })
    expect((await platformError(client.users.info({ user: 'U404' }))).data.error).toBe('user_not_found')
    expect((await client.usergroups.users.list({ usergroup: 'S0SENIORS' })).users).toEqual(['U1', 'U2'])
    const pages: string[][] = []
    for await (const page of client.paginate('conversations.members', { channel: 'C0ENG', limit: 2 })) {
      pages.push((page as unknown as { members: string[] }).members)
    }
    expect(pages).toEqual([['U1', 'U2'], ['U3', 'U4'], ['U5']])
  })

  it('response_url replaces the original, answers ephemerally, and allows 5 uses', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0ENG', text: 'pending', blocks: [section('vote')] })
    const url = fake.issueResponseUrl({ channel: 'C0ENG', user: 'U1', message_ts: posted.ts as string })
    const post = (body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await post({ replace_original: true, text: 'approved', blocks: [section('✅')] })).status).toBe(200)
    expect(fake.message('C0ENG', posted.ts as string)?.blocks).toEqual([section('✅')])
    await post({ text: 'only you' })
    expect(fake.ephemerals('U1')).toMatchObject([{ text: 'only you', via: 'response_url' }])
    await post({ text: '3' })
    await post({ text: '4' })
    await post({ response_type: 'in_channel', text: '5' })
    expect(fake.messages('C0ENG').at(-1)?.text).toBe('5')
    expect((await post({ text: '6' })).status).toBe(404)
    expect(fake.responseUrlPosts.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 404])
  })

  it('waitFor resolves with the value and times out with a useful error', async () => {
    setTimeout(() => void client.chat.postMessage({ channel: 'C0ENG', text: 'later' }), 20)
    const message = await fake.waitFor((f) => f.messages('C0ENG')[0])
    expect(message.text).toBe('later')
    await expect(fake.waitFor((f) => f.messages('C0ENG').length > 5, 50)).rejects.toThrow(/timed out after 50 ms/)
  })
})
