// Everything the fake Slack records: calls, messages with edit history, ephemerals, views, files, triggers.

export type Block = Record<string, unknown>

export interface CallRecord {
  /** Web API method, or `files.upload_url` / `response_url` for the non-API endpoints. */
  method: string
  /** Parsed arguments; JSON-string fields (`blocks`, `view`, `files`, …) are already parsed. */
  params: Record<string, unknown>
  token: string | undefined
  /** Epoch ms (the fake's clock). */
  at: number
  status: number
  response: Record<string, unknown>
}

export interface MessageVersion {
  text: string
  blocks: Block[] | undefined
  attachments: unknown[] | undefined
  at: number
}

export interface FileSummary {
  id: string
  name: string
  title: string
  filetype: string | undefined
}

export interface StoredMessage {
  channel: string
  ts: string
  /** Parent ts for replies (absent on top-level messages). */
  thread_ts?: string
  user: string
  bot_id: string
  text: string
  blocks: Block[] | undefined
  attachments: unknown[] | undefined
  subtype?: 'file_share'
  files?: FileSummary[]
  reply_broadcast: boolean
  metadata: unknown
  deleted: boolean
  /** Every version, oldest first; the last one is the current content. */
  history: MessageVersion[]
}

export interface EphemeralRecord {
  channel: string
  user: string
  message_ts: string
  thread_ts: string | undefined
  text: string
  blocks: Block[] | undefined
  via: 'chat.postEphemeral' | 'response_url'
  at: number
}

export interface ViewRecord {
  id: string
  type: 'modal' | 'home'
  /** Owner: the user a home tab was published for, or who opened the modal (when the trigger knew it). */
  user: string | undefined
  external_id: string | undefined
  callback_id: string | undefined
  private_metadata: string
  hash: string
  root_view_id: string
  previous_view_id: string | null
  /** The view as last set (what Slack would return), without the bookkeeping fields. */
  view: Record<string, unknown>
  /** Every version, oldest first. */
  history: Record<string, unknown>[]
  at: number
}

export interface FileRecord {
  id: string
  filename: string
  title: string
  snippet_type: string | undefined
  alt_text: string | undefined
  /** Declared by `files.getUploadURLExternal`. */
  length: number
  bytes: Buffer | undefined
  /** `bytes` as UTF-8 text (empty until uploaded). */
  content: string
  uploaded: boolean
  completed: boolean
  channel_id: string | undefined
  thread_ts: string | undefined
  initial_comment: string | undefined
  /** ts of the file_share message posted by `files.completeUploadExternal`. */
  message_ts: string | undefined
}

export interface TriggerRecord {
  id: string
  user: string | undefined
  issuedAt: number
  used: boolean
}

export interface ResponseUrlContext {
  channel?: string
  user?: string
  /** Source message, for `replace_original` / `delete_original`. */
  message_ts?: string
  thread_ts?: string
}

export interface ResponseUrlRecord {
  id: string
  context: ResponseUrlContext
  issuedAt: number
  uses: number
}

export interface ResponseUrlPost {
  id: string
  context: ResponseUrlContext
  body: Record<string, unknown>
  status: number
  at: number
}

export class Store {
  calls: CallRecord[] = []
  readonly channels = new Map<string, StoredMessage[]>()
  ephemerals: EphemeralRecord[] = []
  views: ViewRecord[] = []
  readonly homes = new Map<string, ViewRecord>()
  readonly files = new Map<string, FileRecord>()
  readonly triggers = new Map<string, TriggerRecord>()
  readonly responseUrls = new Map<string, ResponseUrlRecord>()
  responseUrlPosts: ResponseUrlPost[] = []
  private lastTsMicros = 0
  private counter = 0

  /** A real-looking, unique, strictly increasing message ts (`1700000000.000100`) taken from the clock. */
  nextTs(nowMs: number): string {
    this.lastTsMicros = Math.max(nowMs * 1000, this.lastTsMicros + 100)
    const micros = this.lastTsMicros
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`
  }

  /** Slack-looking ids: `V0000000001`, `F0000000002`, … */
  nextId(prefix: string, length = 10): string {
    this.counter += 1
    return `${prefix}${this.counter.toString(36).toUpperCase().padStart(length, '0')}`
  }

  channelMessages(channel: string): StoredMessage[] {
    let list = this.channels.get(channel)
    if (!list) {
      list = []
      this.channels.set(channel, list)
    }
    return list
  }

  findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.channels.get(channel)?.find((m) => m.ts === ts && !m.deleted)
  }

  reset(): void {
    this.calls = []
    this.channels.clear()
    this.ephemerals = []
    this.views = []
    this.homes.clear()
    this.files.clear()
    this.triggers.clear()
    this.responseUrls.clear()
    this.responseUrlPosts = []
  }
}
