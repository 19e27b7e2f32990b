// createFakeSlack: a loopback HTTP + WebSocket server that stands in for Slack (Web API, uploads, response_url,
// Socket Mode) and records everything the app did, for tests that drive the real Slack clients.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ApiContext, FakeConfig, Params } from './api-context.ts'
import { Directory, type DirectoryOptions, type FakeChannel, type FakeUser } from './directory.ts'
import { type Failure, FailureBook, type FailureTarget, failureReply } from './failures.ts'
import { bearerToken, parseParams, readBody, uploadBytes } from './request.ts'
import { handleResponseUrlPost, issueResponseUrl } from './response-url.ts'
import { type FakeSocketMode, SocketModeHub } from './socket-mode.ts'
import {
  type CallRecord,
  type EphemeralRecord,
  type FileRecord,
  type ResponseUrlContext,
  type ResponseUrlPost,
  Store,
  type StoredMessage,
  type ViewRecord,
} from './store.ts'
import { handleApiCall } from './web-api.ts'
import { handleUpload } from './web-api-files.ts'
import { issueTriggerId } from './web-api-views.ts'

export interface FakeSlackOptions extends DirectoryOptions {
  botUserId?: string
  botId?: string
  appId?: string
  /** Accept only these tokens (otherwise any `xoxb-`/`xoxp-` and `xapp-` token passes). */
  tokens?: { bot?: string; app?: string }
  /** trigger_id lifetime (Slack: 3 s). */
  triggerTtlMs?: number
  responseUrlTtlMs?: number
  responseUrlMaxUses?: number
  /** `msg_blocks_too_long` threshold on the blocks' JSON length (default ~13,000). */
  messageBlocksMaxChars?: number
  /** Clock for message ts, trigger and response_url expiry (epoch ms). */
  now?: () => number
  socket?: { ackTimeoutMs?: number; pingIntervalMs?: number }
}

export type { FakeChannel, FakeUser }

export interface FakeSlack {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `http://127.0.0.1:PORT/api/`: pass as `slackApiUrl` to WebClient / Bolt `clientOptions`. */
  readonly apiUrl: string
  readonly teamId: string
  readonly teamDomain: string
  readonly appId: string
  readonly botUserId: string
  readonly botId: string
  readonly socket: FakeSocketMode
  /** Every request, in order: Web API methods plus `files.upload_url` and `response_url` posts. */
  readonly calls: readonly CallRecord[]
  callsTo(method: string): CallRecord[]
  /** Channel history (top-level messages and broadcast replies), oldest first; `includeReplies` adds all replies. */
  messages(channel: string, options?: { includeReplies?: boolean }): StoredMessage[]
  /** Replies in a thread (parent excluded), oldest first. */
  thread(channel: string, ts: string): StoredMessage[]
  /** Current version of a message (its `history` holds every version). */
  message(channel: string, ts: string): StoredMessage | undefined
  ephemerals(user?: string): EphemeralRecord[]
  /** Every modal and home view. */
  readonly views: readonly ViewRecord[]
  view(idOrExternalId: string): ViewRecord | undefined
  homeOf(user: string): ViewRecord | undefined
  readonly files: readonly FileRecord[]
  readonly responseUrlPosts: readonly ResponseUrlPost[]
  user(id: string): FakeUser | undefined
  /** Channel id for an id, `#name` or user id (DM); undefined for an unknown name. */
  channelId(ref: string): string | undefined
  channelName(id: string): string
  issueTriggerId(user?: string): string
  issueResponseUrl(context: ResponseUrlContext): string
  failNext(method: FailureTarget, failure: Failure, count?: number): void
  failFor(method: FailureTarget, ms: number, failure: Failure): void
  clearFailures(): void
  /** Polls until `predicate(fake)` is truthy and resolves with that value; rejects after `timeoutMs` (15 s by default). */
  waitFor<T>(predicate: (fake: FakeSlack) => T | undefined | null | false, timeoutMs?: number): Promise<T>
  /** Forgets recorded state and failures; keeps the directory and open sockets. */
  reset(): void
  close(): Promise<void>
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(JSON.stringify(body))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function createFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const store = new Store()
  const dir = new Directory(options)
  const failures = new FailureBook()
  const now = options.now ?? Date.now
  const config: FakeConfig = {
    botUserId: options.botUserId ?? 'U0GLBOT01',
    botId: options.botId ?? 'B0GLBOT01',
    appId: options.appId ?? 'A0GLAPP01',
    tokens: options.tokens ?? {},
    triggerTtlMs: options.triggerTtlMs ?? 3000,
    responseUrlTtlMs: options.responseUrlTtlMs ?? 30 * 60_000,
    responseUrlMaxUses: options.responseUrlMaxUses ?? 5,
    messageBlocksMaxChars: options.messageBlocksMaxChars ?? 13_000,
  }
  const hub = new SocketModeHub({
    appId: config.appId,
    ackTimeoutMs: options.socket?.ackTimeoutMs ?? 3000,
    ...(options.socket?.pingIntervalMs ? { pingIntervalMs: options.socket.pingIntervalMs } : {}),
  })
  let baseUrl = ''
  const ctx: ApiContext = {
    store,
    dir,
    config,
    now,
    get baseUrl() {
      return baseUrl
    },
    issueSocketUrl: () => hub.issueUrl(baseUrl),
  }

  const record = (method: string, params: Params, token: string | undefined, status: number, response: Params) => {
    store.calls.push({ method, params, token, at: now(), status, response })
  }

  /** Applies an injected failure; returns true when it answered the request. */
  const injected = async (method: string, res: ServerResponse, params: Params, token?: string): Promise<boolean> => {
    const failure = failures.take(method, now())
    if (!failure) return false
    if ('delayMs' in failure) {
      await sleep(failure.delayMs)
      return false
    }
    const reply = failureReply(failure)
    if (!reply) return false
    record(method, params, token, reply.status, reply.body)
    json(res, reply.status, reply.body, reply.headers)
    return true
  }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake')
    const raw = await readBody(req)
    const [, area, id = ''] = url.pathname.split('/')
    const contentType = req.headers['content-type']
    if (area === 'api') {
      let params: Params
      try {
        params = await parseParams(raw, contentType, url.searchParams)
      } catch {
        return json(res, 200, { ok: false, error: 'invalid_json' })
      }
      const token = bearerToken(req, params)
      delete params.token
      if (await injected(id, res, params, token)) return
      const result = handleApiCall(id, params, token, ctx)
      record(id, params, token, 200, result)
      return json(res, 200, result)
    }
    if (area === 'upload' && req.method === 'POST') {
      const bytes = await uploadBytes(raw, contentType)
      const params = { file_id: id, bytes: bytes.length, content_type: contentType }
      const token = bearerToken(req, {})
      if (await injected('files.upload_url', res, params, token)) return
      const reply = handleUpload(ctx, id, bytes)
      record('files.upload_url', params, token, reply.status, { text: reply.text })
      res.writeHead(reply.status, { 'content-type': 'text/plain' })
      return void res.end(reply.text)
    }
    if (area === 'respond' && req.method === 'POST') {
      const params = await parseParams(raw, contentType, new URLSearchParams()).catch(() => ({}))
      if (await injected('response_url', res, params)) return
      const reply = handleResponseUrlPost(ctx, id, params)
      record('response_url', { response_url_id: id, ...params }, undefined, reply.status, reply.body)
      return json(res, reply.status, reply.body)
    }
    json(res, 404, { ok: false, error: 'not_found' })
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) =>
      json(res, 500, { ok: false, error: 'fake_internal', detail: String(error) }),
    )
  })
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const channel = (ref: string): string => dir.resolveChannel(ref) ?? ref
  const fake: FakeSlack = {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    teamId: dir.teamId,
    teamDomain: dir.teamDomain,
    appId: config.appId,
    botUserId: config.botUserId,
    botId: config.botId,
    socket: hub,
    get calls() {
      return store.calls
    },
    callsTo: (method) => store.calls.filter((c) => c.method === method),
    messages: (ref, opts = {}) =>
      (store.channels.get(channel(ref)) ?? []).filter(
        (m) => !m.deleted && (opts.includeReplies || !m.thread_ts || m.reply_broadcast),
      ),
    thread: (ref, ts) => (store.channels.get(channel(ref)) ?? []).filter((m) => !m.deleted && m.thread_ts === ts),
    message: (ref, ts) => store.findMessage(channel(ref), ts),
    ephemerals: (user) => store.ephemerals.filter((e) => user === undefined || e.user === user),
    get views() {
      return store.views
    },
    view: (key) => store.views.find((v) => v.id === key || v.external_id === key),
    homeOf: (user) => store.homes.get(user),
    get files() {
      return [...store.files.values()]
    },
    get responseUrlPosts() {
      return store.responseUrlPosts
    },
    user: (id) => dir.users.get(id),
    channelId: (ref) => dir.resolveChannel(ref),
    channelName: (id) => dir.channelName(id),
    issueTriggerId: (user) => issueTriggerId(ctx, user),
    issueResponseUrl: (context) => issueResponseUrl(ctx, context),
    failNext: (method, failure, count = 1) => failures.failNext(method, failure, count),
    failFor: (method, ms, failure) => failures.failFor(method, now() + ms, failure),
    clearFailures: () => failures.clear(),
    waitFor: (predicate, timeoutMs = 15_000) => waitFor(fake, predicate, timeoutMs),
    reset: () => {
      store.reset()
      failures.clear()
      hub.reset()
    },
    close: async () => {
      await hub.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
  return fake
}

async function waitFor<T>(
  fake: FakeSlack,
  predicate: (fake: FakeSlack) => T | undefined | null | false,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = predicate(fake)
      if (value) return value
    } catch (error) {
      lastError = error // assertions inside the predicate count as "not yet"
    }
    if (Date.now() > deadline) {
      const recent = fake.calls.slice(-5).map((c) => `${c.method} → ${String(c.response.error ?? 'ok')}`)
      const reason = lastError instanceof Error ? `; last error: ${lastError.message}` : ''
      throw new Error(`fake slack: waitFor timed out after ${timeoutMs} ms${reason}; last calls: ${recent.join(', ')}`)
    }
    await sleep(10)
  }
}
