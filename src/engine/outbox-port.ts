// The durable outbox of Slack calls, declared here so both sides may name it: the engine and the Slack listeners
// enqueue through `OutboxPort`, the store implements `OutboxStore`, and slack/outbox.ts delivers what it claims.

export type OutboxMethod =
  | 'chat.postMessage'
  | 'chat.update'
  | 'chat.postEphemeral'
  | 'views.publish'
  | 'views.update'
  | 'files.uploadV2'
  | 'conversations.open'

/**
 * `pending` until delivered (`sent`) or given up (`failed`). `superseded`: a `chat.update` whose content a newer
 * pending update of the same message replaced before it was sent (the run card's debounce).
 */
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'superseded'

export interface OutboxItem {
  /** Idempotency key: enqueueing the same key again does nothing, so a replayed engine step never posts twice. */
  key: string
  /** Items of one run are delivered in enqueue order (items without a run are ordered per `payload.channel`). */
  runId?: string | null
  method: OutboxMethod
  /** The Web API arguments, as JSON (for `files.uploadV2`, pass the text as `content`, not a Buffer). */
  payload: Record<string, unknown>
  /**
   * Key of an earlier item whose result this one needs. The item waits until that one is `sent`, then the outbox
   * fills the fields the payload leaves out (see `fillDependency` in `slack/outbox.ts`): `ts` for a `chat.update`,
   * `thread_ts` for a reply or an upload, `channel` (`channel_id` for uploads), `view_id` for a `views.update`.
   */
  dependsOn?: string
}

/** What the outbox keeps of Slack's answer: enough to thread under, update, or point at what was sent. */
export interface OutboxResult {
  channel?: string
  ts?: string
  /** Set when the sent message is itself a thread reply: replies to it go under this parent. */
  threadTs?: string
  fileIds?: string[]
  viewId?: string
}

export interface OutboxEntry {
  key: string
  runId: string | null
  method: OutboxMethod
  status: OutboxStatus
  attempts: number
  result: OutboxResult | null
  error: string | null
  createdAt: number
  sentAt: number | null
}

export interface OutboxPort {
  /** Stores the item unless its key exists; `created` is false for a repeat. Delivery happens in the background. */
  enqueue(item: OutboxItem): Promise<{ created: boolean }>
  /** The item's state and, once sent, what Slack answered (the posted `ts`, the channel, file ids). */
  resultOf(key: string): Promise<OutboxEntry | undefined>
}

export interface ClaimedOutboxItem {
  id: number
  key: string
  runId: string | null
  method: OutboxMethod
  args: Record<string, unknown>
  dependsOn: string | null
  /** The dependency's result (the dependency is `sent`), or null when the item has none. */
  dependency: OutboxResult | null
  /** Attempts so far, this one included. */
  attempts: number
  createdAt: number
  /** An earlier claim expired without an outcome: that attempt may have reached Slack. */
  reclaimed: boolean
  /** Keys of the older pending updates of the same message this one replaced. */
  supersedes: string[]
}

export interface OutboxCounts {
  pending: number
  /** Pending and due now (not waiting on a backoff). */
  due: number
  failed: number
  oldestPendingAt: number | null
}

export interface OutboxStore {
  /** INSERT … ON CONFLICT(key) DO NOTHING; true when the row is new. */
  enqueue(item: OutboxItem, now: number): Promise<boolean>
  /**
   * Claims up to `limit` due items. Only the oldest pending item of each lane is claimable, so an item is sent only
   * after every earlier item of its run is `sent`, `failed` or `superseded`. Items whose dependency is not `sent`
   * wait; items whose dependency failed (or is unknown) are failed here. A due `chat.update` claims the newest
   * pending update of the same message instead and marks the older ones `superseded`.
   */
  claimDue(
    owner: string,
    now: number,
    claimMs: number,
    limit: number,
    options?: { excludeMethods?: readonly string[] },
  ): Promise<ClaimedOutboxItem[]>
  /** Records Slack's answer; a no-op (false) unless the item is still pending, so the first answer wins. */
  markSent(id: number, result: OutboxResult, now: number): Promise<boolean>
  markRetry(id: number, error: string, nextAttemptAt: number): Promise<boolean>
  markFailed(id: number, error: string): Promise<boolean>
  get(key: string): Promise<OutboxEntry | undefined>
  pending(now: number): Promise<OutboxCounts>
  /**
   * The durable mirror cursor: runs whose newest event has no `<prefix><run id>:<event count>` item, i.e. whose
   * latest state never reached the outbox (a crash between a commit and its enqueue), newest first.
   */
  runsBehind(prefix: string): Promise<string[]>
}
