// The durable Slack outbox against the real WebClient, the fake Slack and a real libSQL file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogLevel, WebClient } from '@slack/web-api'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { OutboxItem, OutboxStore } from '../../src/engine/outbox-port.ts'
import { systemClock } from '../../src/engine/ports.ts'
import { createOutbox, type Outbox, type OutboxOptions } from '../../src/slack/outbox.ts'
import { type Database, openDatabase } from '../../src/store/database.ts'
import { createOutboxStore } from '../../src/store/outbox-store.ts'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'

interface Harness {
  fake: FakeSlack
  url: string
  logs: Record<string, unknown>[]
  client: WebClient
  open(owner: string, options?: Partial<OutboxOptions>): Promise<{ outbox: Outbox; store: OutboxStore }>
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function harness(): Promise<Harness> {
  const fake = await createFakeSlack({ users: [{ id: 'U1', name: 'ada' }], channels: { C1: { name: 'deploys' } } })
  const dir = mkdtempSync(join(tmpdir(), 'gl-outbox-'))
  cleanups.push(
    () => fake.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  )
  const logs: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
  // The outbox owns retries: the client fails fast on 429 and 5xx, so a retry is a row that survives restarts.
  const client = new WebClient('xoxb-test', {
    slackApiUrl: fake.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 5000,
    logLevel: LogLevel.ERROR,
  })
  const url = `file:${join(dir, 'greenlight.db')}`
  const open = async (owner: string, options: Partial<OutboxOptions> = {}) => {
    const database: Database = await openDatabase({ url })
    const store = createOutboxStore(database)
    const outbox = createOutbox({
      store,
      client,
      clock: systemClock,
      logger,
      owner,
      pollMs: 10,
      backoff: { baseMs: 20, maxMs: 200 },
      ...options,
    })
    cleanups.push(async () => {
      await outbox.stop()
      database.close()
    })
    return { outbox, store }
  }
  return { fake, url, logs, client, open }
}

async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error('until: timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const settled = (store: OutboxStore) => until(async () => (await store.pending(Date.now())).pending === 0)

const post = (key: string, runId: string, payload: Record<string, unknown>, dependsOn?: string): OutboxItem => ({
  key,
  runId,
  method: 'chat.postMessage',
  payload,
  ...(dependsOn ? { dependsOn } : {}),
})

const update = (key: string, runId: string, text: string, dependsOn: string): OutboxItem => ({
  key,
  runId,
  method: 'chat.update',
  payload: { text },
  dependsOn,
})

/** Texts of every message (top-level and replies) in the channel, oldest first. */
const texts = (fake: FakeSlack, channel = 'C1') => fake.messages(channel, { includeReplies: true }).map((m) => m.text)

describe('outbox', () => {
  it('posts a run card, then its thread replies, updates and files in order, filling ts from the parent', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    outbox.start()
    await outbox.enqueue(post('r1:card', 'r1', { channel: 'C1', text: 'card: running' }))
    await outbox.enqueue(post('r1:step1', 'r1', { text: 'step 1 done' }, 'r1:card'))
    await outbox.enqueue(update('r1:card:2', 'r1', 'card: step 1 done', 'r1:card'))
    await outbox.enqueue(post('r1:step2', 'r1', { text: 'step 2 done' }, 'r1:step1'))
    await outbox.enqueue({
      key: 'r1:diff',
      runId: 'r1',
      method: 'files.uploadV2',
      payload: { content: '--- a\n+++ b\n', filename: 'change.diff', snippet_type: 'diff' },
      dependsOn: 'r1:card',
    })
    await outbox.enqueue(post('r1:result', 'r1', { text: 'succeeded' }, 'r1:card'))
    await outbox.enqueue({ key: 'dm:open', runId: 'r1', method: 'conversations.open', payload: { users: 'U1' } })
    await outbox.enqueue(post('dm:hello', 'r1', { text: 'your run succeeded' }, 'dm:open'))
    await settled(store)

    const card = await store.get('r1:card')
    expect(card).toMatchObject({ status: 'sent', result: { channel: 'C1' } })
    const ts = card?.result?.ts ?? ''
    expect(h.fake.messages('C1').map((m) => m.text)).toEqual(['card: step 1 done'])
    // step 2 depended on a reply: it threads under the reply's parent, the card.
    expect(h.fake.thread('C1', ts).map((m) => m.text)).toEqual(['step 1 done', 'step 2 done', '', 'succeeded'])
    expect(h.fake.files).toMatchObject([{ filename: 'change.diff', thread_ts: ts, content: '--- a\n+++ b\n' }])
    expect((await store.get('r1:diff'))?.result?.fileIds).toEqual([h.fake.files[0]?.id])
    expect(h.fake.messages('D1').map((m) => [m.text, m.thread_ts])).toEqual([['your run succeeded', undefined]])
    // One run is one lane: strictly one call after the other, in enqueue order.
    expect(h.fake.calls.map((c) => c.method.replace(/^chat\./, ''))).toEqual(
      ['postMessage', 'postMessage', 'update', 'postMessage', 'files.getUploadURLExternal', 'files.upload_url'].concat([
        'files.completeUploadExternal',
        'postMessage',
        'conversations.open',
        'postMessage',
      ]),
    )
  })

  it('enqueues a key once, whatever is enqueued under it later', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    expect(await outbox.enqueue(post('k', 'r1', { channel: 'C1', text: 'first' }))).toEqual({ created: true })
    expect(await outbox.enqueue(post('k', 'r1', { channel: 'C1', text: 'second' }))).toEqual({ created: false })
    outbox.start()
    await settled(store)
    expect(await outbox.enqueue(post('k', 'r1', { channel: 'C1', text: 'third' }))).toEqual({ created: false })
    await settled(store)
    expect(texts(h.fake)).toEqual(['first'])
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(1)
  })

  it('waits out a 429 for its Retry-After, for that method as a whole', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    h.fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 })
    outbox.start()
    await outbox.enqueue(post('r1:a', 'r1', { channel: 'C1', text: 'a' }))
    await h.fake.waitFor((f) => f.callsTo('chat.postMessage').length === 1)
    await outbox.enqueue(post('r2:b', 'r2', { channel: 'C1', text: 'b' }))
    await settled(store)
    const [limited, ...later] = h.fake.callsTo('chat.postMessage')
    expect(limited?.status).toBe(429)
    expect(later.map((c) => [c.status, c.params.text]).sort()).toEqual([
      [200, 'a'],
      [200, 'b'],
    ])
    for (const call of later) expect(call.at - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000)
    expect((await store.get('r1:a'))?.attempts).toBe(2)
  })

  it('delivers everything exactly once and in order through a 429 and a stretch of 500s', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    outbox.start()
    const runs = ['r1', 'r2']
    for (const run of runs) await outbox.enqueue(post(`${run}:card`, run, { channel: 'C1', text: `${run} card` }))
    await settled(store)
    h.fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 })
    h.fake.failFor('*', 1500, { status: 500 })
    for (let i = 1; i <= 6; i++) {
      for (const run of runs) {
        await outbox.enqueue(post(`${run}:${i}`, run, { text: `${run} reply ${i}` }, `${run}:card`))
        await outbox.enqueue(update(`${run}:card:${i}`, run, `${run} card ${i}`, `${run}:card`))
      }
    }
    await until(async () => (await store.pending(Date.now())).pending === 0, 10_000)
    expect(h.fake.calls.filter((c) => c.status === 500).length).toBeGreaterThan(2)
    for (const run of runs) {
      const ts = (await store.get(`${run}:card`))?.result?.ts ?? ''
      expect(h.fake.message('C1', ts)?.text).toBe(`${run} card 6`)
      expect(h.fake.thread('C1', ts).map((m) => m.text)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `${run} reply ${i}`))
    }
    const all = texts(h.fake)
    expect(all).toHaveLength(14)
    expect(new Set(all).size).toBe(14)
    expect((await store.pending(Date.now())).failed).toBe(0)
  })

  it('survives a restart while items are pending, and a crash after claiming', async () => {
    const h = await harness()
    const first = await h.open('a')
    // A process claimed this item and died before calling Slack: nobody may send it before that claim expires.
    await first.store.enqueue(post('r2:x', 'r2', { channel: 'C1', text: 'claimed then crashed' }), Date.now())
    const claimedAt = Date.now()
    expect((await first.store.claimDue('dead', claimedAt, 1000, 10)).map((c) => c.key)).toEqual(['r2:x'])
    h.fake.failFor('*', 60_000, { status: 503 })
    first.outbox.start()
    await first.outbox.enqueue(post('r1:card', 'r1', { channel: 'C1', text: 'card' }))
    await first.outbox.enqueue(post('r1:1', 'r1', { text: 'reply 1' }, 'r1:card'))
    await first.outbox.enqueue(update('r1:card:2', 'r1', 'card 2', 'r1:card'))
    await h.fake.waitFor((f) => f.calls.length >= 2)
    await first.outbox.stop()
    h.fake.clearFailures()

    const second = await h.open('b')
    second.outbox.start()
    await settled(second.store)
    const ts = (await second.store.get('r1:card'))?.result?.ts ?? ''
    expect(h.fake.message('C1', ts)?.text).toBe('card 2')
    expect(h.fake.thread('C1', ts).map((m) => m.text)).toEqual(['reply 1'])
    expect(texts(h.fake).sort()).toEqual(['card 2', 'claimed then crashed', 'reply 1'])
    const crashed = h.fake.callsTo('chat.postMessage').filter((c) => c.params.text === 'claimed then crashed')
    expect(crashed).toHaveLength(1)
    expect(crashed[0]?.at).toBeGreaterThanOrEqual(claimedAt + 1000)
    expect(h.fake.calls.filter((c) => c.status === 503).every((c) => c.params.text !== 'claimed then crashed')).toBe(
      true,
    )
  })

  it('repeats a post only in the documented window: Slack answered, then the process died before markSent', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    await store.enqueue(post('r1:card', 'r1', { channel: 'C1', text: 'card' }), Date.now())
    const [claimed] = await store.claimDue('dead', Date.now(), 100, 1)
    await h.client.apiCall('chat.postMessage', claimed?.args ?? {}) // … and no markSent: the process is gone
    outbox.start()
    await settled(store)
    expect(texts(h.fake)).toEqual(['card', 'card'])
    expect(h.logs.some((l) => l.key === 'r1:card' && String(l.msg).includes('may show this twice'))).toBe(true)
  })

  it('coalesces quick updates of one message: only the newest pending one is sent', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a')
    outbox.start()
    await outbox.enqueue(post('r1:card', 'r1', { channel: 'C1', text: 'v0' }))
    await settled(store)
    h.fake.failNext('chat.update', { delayMs: 300 })
    for (let i = 1; i <= 10; i++) await outbox.enqueue(update(`r1:card:${i}`, 'r1', `v${i}`, 'r1:card'))
    await settled(store)
    const ts = (await store.get('r1:card'))?.result?.ts ?? ''
    const calls = h.fake.callsTo('chat.update').length
    expect(calls).toBeGreaterThanOrEqual(1)
    expect(calls).toBeLessThanOrEqual(3)
    expect(h.fake.message('C1', ts)?.text).toBe('v10')
    expect(
      h.fake
        .message('C1', ts)
        ?.history.map((v) => v.text)
        .at(-1),
    ).toBe('v10')
    const statuses = await Promise.all(
      [...Array(10).keys()].map(async (i) => (await store.get(`r1:card:${i + 1}`))?.status),
    )
    expect(statuses.filter((s) => s === 'superseded')).toHaveLength(10 - calls)
    expect(statuses.at(-1)).toBe('sent')
  })

  it('fails permanent Slack errors at once, fails their dependents, and lets the run go on', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a', { backoff: { baseMs: 5, maxMs: 20 } })
    outbox.start()
    await outbox.enqueue(post('r1:card', 'r1', { channel: '#nope', text: 'card' }))
    await outbox.enqueue(post('r1:reply', 'r1', { text: 'reply' }, 'r1:card'))
    const huge = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }]
    await outbox.enqueue(post('r2:bad', 'r2', { channel: 'C1', text: 'bad', blocks: huge }))
    await outbox.enqueue(post('r2:next', 'r2', { channel: 'C1', text: 'next' }))
    await settled(store)
    await new Promise((resolve) => setTimeout(resolve, 150)) // many poll and backoff periods: no retries may follow
    expect(await store.get('r1:card')).toMatchObject({ status: 'failed', error: 'channel_not_found', attempts: 1 })
    expect(await store.get('r1:reply')).toMatchObject({ status: 'failed', attempts: 0 })
    expect((await store.get('r1:reply'))?.error).toMatch(/^dependency_failed: r1:card/)
    expect(await store.get('r2:bad')).toMatchObject({ status: 'failed', error: 'invalid_blocks' })
    expect(texts(h.fake)).toEqual(['next'])
    expect(h.fake.callsTo('chat.postMessage').map((c) => c.response.error ?? 'ok')).toEqual([
      'channel_not_found',
      'invalid_blocks',
      'ok',
    ])
    const refused = h.logs.filter((l) => String(l.msg).includes('refused'))
    expect(refused.map((l) => l.code).sort()).toEqual(['channel_not_found', 'invalid_blocks'])
  })

  it('gives up on transient failures after the retry window', async () => {
    const h = await harness()
    const { outbox, store } = await h.open('a', { giveUpAfterMs: 200, backoff: { baseMs: 10, maxMs: 40 } })
    h.fake.failFor('chat.postMessage', 60_000, { status: 502 })
    outbox.start()
    await outbox.enqueue(post('r1:card', 'r1', { channel: 'C1', text: 'card' }))
    await settled(store)
    const entry = await store.get('r1:card')
    expect(entry).toMatchObject({ status: 'failed', error: 'gave_up: http_502' })
    expect(entry?.attempts).toBeGreaterThan(2)
    expect(entry?.attempts).toBeLessThan(15)
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(entry?.attempts ?? -1)
  })
})
