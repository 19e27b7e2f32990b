// The durable outbox as the engine and the Slack listeners see it: enqueue a Slack call once, read its outcome later.

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
