// Delivers the durable outbox to Slack: claims due items, fills in dependencies, calls Slack, records the outcome.
//
// Delivery contract (see also docs/architecture.md):
// - Per lane (a run, else a channel) items go out in enqueue order: the next one is claimed only after the previous
//   one's outcome is committed, so a thread reply never overtakes its parent and nothing of a run is sent twice
//   because of a retry of another item.
// - Retries are rows (`next_attempt_at`), not timers: a 429 waits its `Retry-After`, 5xx and network errors back off
//   (1 s doubling to 5 min, ±20 % jitter) for up to 24 h after enqueueing; Slack's `ok: false` errors (except the
//   transient few below) fail the item at once.
// - The one window that can repeat a message: Slack accepted the call, and the process died (or the database write
//   failed) before `markSent` committed. The claim then expires and the next owner sends again. The window is the
//   length of one local SQLite commit; it is only widened if a call outlives its claim, so give the WebClient a
//   `timeout` well under `claimMs`. A reclaimed item is logged as a possible repeat. Checking `conversations.history`
//   for a marker before resending would close it for posts, but that method is Tier 1 for most apps since 2025.
import type { FilesUploadV2Arguments } from '@slack/web-api'
import type { Logger } from 'pino'
import type { ClaimedOutboxItem, OutboxMethod, OutboxPort, OutboxResult, OutboxStore } from '../engine/outbox-port.ts'
import type { Clock } from '../engine/ports.ts'

/** The part of `@slack/web-api`'s WebClient the outbox calls; build it with `rejectRateLimitedCalls: true` and
 * `retryConfig: { retries: 0 }` so that retries belong to the outbox and survive restarts. */
export interface OutboxSlackClient {
  apiCall(method: string, options?: Record<string, unknown>): Promise<unknown>
  files: { uploadV2(options: FilesUploadV2Arguments): Promise<unknown> }
}

export interface OutboxOptions {
  store: OutboxStore
  client: OutboxSlackClient
  clock: Clock
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>
  /** This instance's id, recorded in `claimed_by`. */
  owner: string
  /** How often to look for due items when idle. */
  pollMs?: number
  /** How long a claim holds; must exceed the Slack client's timeout. */
  claimMs?: number
  /** Items claimed per round (from different lanes, sent in parallel). */
  batchSize?: number
  backoff?: { baseMs?: number; maxMs?: number }
  /** Transient failures are retried until this long after enqueueing, then the item fails. */
  giveUpAfterMs?: number
  random?: () => number
}

export interface Outbox extends OutboxPort {
  start(): void
  /** Stops polling and waits for the sends in flight to be recorded. */
  stop(): Promise<void>
  /** Looks for due items now (enqueue does this itself). */
  kick(): void
}

/** Slack `ok: false` codes that are worth retrying; every other code is permanent. */
const TRANSIENT_PLATFORM_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable'])

type Verdict =
  | { kind: 'rate_limited'; code: string; retryAfterMs: number }
  | { kind: 'transient'; code: string }
  | { kind: 'permanent'; code: string }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** Sorts an error from `@slack/web-api` (matched on its stable `code`, so a WebClient-like fake works too). */
export function classifySlackError(error: unknown): Verdict {
  const e = isRecord(error) ? error : {}
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return { kind: 'rate_limited', code: 'ratelimited', retryAfterMs: Number(e.retryAfter ?? 1) * 1000 }
    case 'slack_webapi_platform_error': {
      const code = str(isRecord(e.data) ? e.data.error : undefined) ?? 'platform_error'
      if (code === 'ratelimited') return { kind: 'rate_limited', code, retryAfterMs: 1000 }
      return { kind: TRANSIENT_PLATFORM_ERRORS.has(code) ? 'transient' : 'permanent', code }
    }
    case 'slack_webapi_http_error': {
      const status = Number(e.statusCode)
      return { kind: status >= 500 || status === 408 ? 'transient' : 'permanent', code: `http_${status}` }
    }
    case 'slack_webapi_file_upload_invalid_args_error':
    case 'slack_webapi_file_upload_read_file_data_error':
      return { kind: 'permanent', code: String(e.code) }
    default:
      // Network failures (`slack_webapi_request_error`) and the upload host's plain errors.
      return { kind: 'transient', code: str(e.code) ?? (error instanceof Error ? error.message : String(error)) }
  }
}

/**
 * Fills what an item takes from its dependency's result. Only fields the payload leaves `undefined` are filled, so
 * a payload that sets them keeps its values (and `dependsOn` then only orders):
 * - `chat.update`: `channel`, `ts` (the message to edit);
 * - `chat.postMessage`, `chat.postEphemeral`: `channel`, `thread_ts` (the dependency's thread parent if it is itself
 *   a reply, else its `ts`);
 * - `files.uploadV2`: `channel_id`, `thread_ts` (same rule);
 * - `views.update`: `view_id`. `views.publish` and `conversations.open` take nothing.
 * A `conversations.open` result has only `channel`, so a message depending on it goes to that DM, unthreaded.
 */
export function fillDependency(
  method: OutboxMethod,
  args: Record<string, unknown>,
  dep: OutboxResult | null,
): Record<string, unknown> {
  if (!dep) return args
  const out = { ...args }
  const fill = (field: string, value: string | undefined) => {
    if (out[field] === undefined && value !== undefined) out[field] = value
  }
  const parent = dep.threadTs ?? dep.ts
  switch (method) {
    case 'chat.update':
      fill('channel', dep.channel)
      fill('ts', dep.ts)
      break
    case 'chat.postMessage':
    case 'chat.postEphemeral':
      fill('channel', dep.channel)
      fill('thread_ts', parent)
      break
    case 'files.uploadV2':
      fill('channel_id', dep.channel)
      fill('thread_ts', parent)
      break
    case 'views.update':
      fill('view_id', dep.viewId)
      break
    default:
      break
  }
  return out
}

/** What to keep of Slack's answer: channel, ts, thread parent, file ids, view id. */
export function resultOfResponse(response: unknown): OutboxResult {
  const r = isRecord(response) ? response : {}
  const result: OutboxResult = {}
  const channel = str(r.channel) ?? str(isRecord(r.channel) ? r.channel.id : undefined)
  if (channel) result.channel = channel
  const ts = str(r.ts)
  if (ts) result.ts = ts
  const threadTs = str(isRecord(r.message) ? r.message.thread_ts : undefined)
  if (threadTs && threadTs !== ts) result.threadTs = threadTs
  const viewId = str(isRecord(r.view) ? r.view.id : undefined)
  if (viewId) result.viewId = viewId
  if (Array.isArray(r.files)) {
    // files.uploadV2 answers with one completion per upload job, each listing its files and where they were shared.
    const files = r.files.flatMap((job) => (isRecord(job) && Array.isArray(job.files) ? job.files : [job]))
    result.fileIds = files.flatMap((f) => (isRecord(f) && typeof f.id === 'string' ? [f.id] : []))
    const first = files[0]
    const shares = isRecord(first) && isRecord(first.shares) ? first.shares : {}
    for (const scope of [shares.public, shares.private]) {
      const [shareChannel, list] = isRecord(scope) ? (Object.entries(scope)[0] ?? []) : []
      const share = Array.isArray(list) && isRecord(list[0]) ? list[0] : undefined
      if (!shareChannel || !share) continue
      result.channel ??= shareChannel
      if (str(share.ts)) result.ts ??= str(share.ts)
      if (str(share.thread_ts)) result.threadTs ??= str(share.thread_ts)
      break
    }
  }
  return result
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { store, client, clock, logger, owner } = options
  const pollMs = options.pollMs ?? 1000
  const claimMs = options.claimMs ?? 60_000
  const batchSize = options.batchSize ?? 8
  const baseMs = options.backoff?.baseMs ?? 1000
  const maxMs = options.backoff?.maxMs ?? 5 * 60_000
  const giveUpAfterMs = options.giveUpAfterMs ?? 24 * 60 * 60_000
  const random = options.random ?? Math.random
  /** A 429 on a method pauses that method for everyone here (Slack limits per method), not just the one item. */
  const pausedUntil = new Map<string, number>()
  let stopped = true
  let timer: NodeJS.Timeout | undefined
  let round: Promise<void> | undefined
  let again = false

  const backoff = (attempts: number): number => {
    const exact = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
    return Math.round(Math.min(maxMs, exact * (0.8 + 0.4 * random())))
  }

  const call = (item: ClaimedOutboxItem, args: Record<string, unknown>): Promise<unknown> =>
    item.method === 'files.uploadV2'
      ? // The payload was enqueued as upload arguments; Slack validates the rest (a bad one fails the item).
        client.files.uploadV2(args as unknown as FilesUploadV2Arguments)
      : client.apiCall(item.method, args)

  async function onFailure(item: ClaimedOutboxItem, error: unknown): Promise<void> {
    const verdict = classifySlackError(error)
    const now = clock.now()
    const context = { key: item.key, runId: item.runId, method: item.method, attempts: item.attempts }
    if (verdict.kind === 'permanent') {
      logger.error({ ...context, code: verdict.code }, 'outbox: Slack refused the call; not retrying')
      await store.markFailed(item.id, verdict.code)
      return
    }
    if (now - item.createdAt >= giveUpAfterMs) {
      logger.error({ ...context, code: verdict.code }, 'outbox: still failing after the retry window; giving up')
      await store.markFailed(item.id, `gave_up: ${verdict.code}`)
      return
    }
    const delay = verdict.kind === 'rate_limited' ? verdict.retryAfterMs : backoff(item.attempts)
    if (verdict.kind === 'rate_limited')
      pausedUntil.set(item.method, Math.max(pausedUntil.get(item.method) ?? 0, now + delay))
    logger.warn({ ...context, code: verdict.code, retryInMs: delay }, 'outbox: Slack call failed; will retry')
    await store.markRetry(item.id, verdict.code, now + delay)
  }

  async function deliver(item: ClaimedOutboxItem): Promise<void> {
    if (item.reclaimed) {
      logger.warn(
        { key: item.key, method: item.method },
        'outbox: an earlier attempt ended without an outcome; Slack may show this twice',
      )
    }
    if (item.supersedes.length > 0)
      logger.debug({ key: item.key, supersedes: item.supersedes }, 'outbox: coalesced updates')
    let response: unknown
    try {
      response = await call(item, fillDependency(item.method, item.args, item.dependency))
    } catch (error) {
      await onFailure(item, error)
      return
    }
    // Nothing else may run between Slack's answer and this commit: it is the window described above.
    await store.markSent(item.id, resultOfResponse(response), clock.now())
  }

  async function runRound(): Promise<boolean> {
    const now = clock.now()
    const excludeMethods = [...pausedUntil].filter(([, until]) => until > now).map(([method]) => method)
    const items = await store.claimDue(owner, now, claimMs, batchSize, { excludeMethods })
    const outcomes = await Promise.allSettled(items.map(deliver))
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') logger.error({ err: outcome.reason }, 'outbox: recording an outcome failed')
    }
    return items.length > 0
  }

  function schedule(ms: number): void {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(kick, ms)
  }

  function kick(): void {
    if (stopped) return
    if (round) {
      again = true
      return
    }
    clearTimeout(timer)
    round = runRound()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'outbox: delivery round failed')
        return false
      })
      .then((busy) => {
        round = undefined
        const next = busy || again
        again = false
        schedule(next ? 0 : pollMs)
      })
  }

  return {
    async enqueue(item) {
      const created = await store.enqueue(item, clock.now())
      if (created) kick()
      return { created }
    },
    resultOf: (key) => store.get(key),
    start() {
      if (!stopped) return
      stopped = false
      kick()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await round
    },
    kick,
  }
}
