// chat.* methods: messages per channel with threads, edit history and ephemerals; Block Kit limits enforced.

import { type ApiContext, type ApiResult, bool, fail, type Handler, type Params, str } from './api-context.ts'
import { blocksJsonLength, MESSAGE_TEXT_MAX_CHARS, validateBlocks } from './block-kit-limits.ts'
import type { Block, FileSummary, StoredMessage } from './store.ts'

export interface MessageContent {
  text: string | undefined
  blocks: unknown
  attachments: unknown
}

export interface NewMessage {
  channel: string
  text: string
  blocks: Block[] | undefined
  attachments: unknown[] | undefined
  thread_ts?: string | undefined
  reply_broadcast?: boolean
  metadata?: unknown
  subtype?: 'file_share'
  files?: FileSummary[]
}

/** The message as Slack returns it (in `chat.postMessage` answers and `block_actions` payloads). */
export function toSlackMessage(m: StoredMessage, appId: string, teamId: string): Record<string, unknown> {
  return {
    type: 'message',
    ...(m.subtype ? { subtype: m.subtype } : {}),
    text: m.text,
    user: m.user,
    bot_id: m.bot_id,
    app_id: appId,
    team: teamId,
    ts: m.ts,
    ...(m.thread_ts ? { thread_ts: m.thread_ts, parent_user_id: m.user } : {}),
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.attachments ? { attachments: m.attachments } : {}),
    ...(m.files ? { files: m.files } : {}),
    ...(m.history.length > 1 ? { edited: { user: m.user, ts: m.ts } } : {}),
  }
}

/** Slack's content checks for a message surface; `undefined` when the content is acceptable. */
export function checkMessageContent(
  content: MessageContent,
  ctx: ApiContext,
  requireContent = true,
): ApiResult | undefined {
  const { text, blocks, attachments } = content
  if (typeof blocks === 'string') return fail('invalid_blocks_format')
  if (blocks !== undefined) {
    const errors = validateBlocks(blocks, 'message')
    if (errors.length > 0) {
      return fail('invalid_blocks', { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } })
    }
    if (blocksJsonLength(blocks) > ctx.config.messageBlocksMaxChars) return fail('msg_blocks_too_long')
  }
  if (text !== undefined && text.length > MESSAGE_TEXT_MAX_CHARS) return fail('msg_too_long')
  const empty = !text && (!Array.isArray(blocks) || blocks.length === 0) && attachments === undefined
  if (requireContent && empty) return fail('no_text')
  return undefined
}

export function contentOf(params: Params): MessageContent {
  return { text: str(params, 'text'), blocks: params.blocks, attachments: params.attachments }
}

/** Resolves `thread_ts` to the parent ts (a reply's ts threads under its parent, as in Slack). */
export function resolveThread(
  ctx: ApiContext,
  channel: string,
  threadTs: string | undefined,
): string | null | undefined {
  if (!threadTs) return undefined
  const target = ctx.store.findMessage(channel, threadTs)
  if (!target) return null
  return target.thread_ts ?? target.ts
}

export function storeMessage(ctx: ApiContext, input: NewMessage): StoredMessage {
  const at = ctx.now()
  const message: StoredMessage = {
    channel: input.channel,
    ts: ctx.store.nextTs(at),
    ...(input.thread_ts ? { thread_ts: input.thread_ts } : {}),
    user: ctx.config.botUserId,
    bot_id: ctx.config.botId,
    text: input.text,
    blocks: input.blocks,
    attachments: input.attachments,
    ...(input.subtype ? { subtype: input.subtype } : {}),
    ...(input.files ? { files: input.files } : {}),
    reply_broadcast: input.reply_broadcast ?? false,
    metadata: input.metadata,
    deleted: false,
    history: [{ text: input.text, blocks: input.blocks, attachments: input.attachments, at }],
  }
  ctx.store.channelMessages(input.channel).push(message)
  return message
}

/** Applies an edit (chat.update or `replace_original`); omitted blocks/attachments keep the old ones. */
export function editMessage(ctx: ApiContext, message: StoredMessage, content: MessageContent): void {
  if (content.text !== undefined) message.text = content.text
  if (content.blocks !== undefined) message.blocks = content.blocks as Block[]
  if (content.attachments !== undefined) message.attachments = content.attachments as unknown[]
  message.history.push({ text: message.text, blocks: message.blocks, attachments: message.attachments, at: ctx.now() })
}

function channelOf(params: Params, ctx: ApiContext): string | undefined {
  return ctx.dir.resolveChannel(str(params, 'channel') ?? '')
}

const postMessage: Handler = (params, ctx) => {
  const channel = channelOf(params, ctx)
  if (!channel) return fail('channel_not_found')
  const content = contentOf(params)
  const problem = checkMessageContent(content, ctx)
  if (problem) return problem
  const threadTs = resolveThread(ctx, channel, str(params, 'thread_ts'))
  if (threadTs === null) return fail('thread_not_found')
  const message = storeMessage(ctx, {
    channel,
    text: content.text ?? '',
    blocks: content.blocks as Block[] | undefined,
    attachments: content.attachments as unknown[] | undefined,
    thread_ts: threadTs,
    reply_broadcast: threadTs !== undefined && bool(params, 'reply_broadcast'),
    metadata: params.metadata,
  })
  return {
    ok: true,
    channel,
    ts: message.ts,
    message: toSlackMessage(message, ctx.config.appId, ctx.dir.teamId),
  }
}

const update: Handler = (params, ctx) => {
  const channel = channelOf(params, ctx)
  const ts = str(params, 'ts')
  if (!ts) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: ts'] } })
  const message = channel === undefined ? undefined : ctx.store.findMessage(channel, ts)
  if (!channel || !message) return fail('message_not_found')
  if (message.user !== ctx.config.botUserId) return fail('cant_update_message')
  const content = contentOf(params)
  const problem = checkMessageContent(content, ctx, false)
  if (problem) return problem
  editMessage(ctx, message, content)
  return {
    ok: true,
    channel,
    ts,
    text: message.text,
    message: toSlackMessage(message, ctx.config.appId, ctx.dir.teamId),
  }
}

const postEphemeral: Handler = (params, ctx) => {
  const channel = channelOf(params, ctx)
  if (!channel) return fail('channel_not_found')
  const user = str(params, 'user')
  if (!user) return fail('user_not_found')
  const members = ctx.dir.channels.get(channel)?.members
  if (members && !members.includes(user)) return fail('user_not_in_channel')
  const content = contentOf(params)
  const problem = checkMessageContent(content, ctx)
  if (problem) return problem
  const at = ctx.now()
  const messageTs = ctx.store.nextTs(at)
  ctx.store.ephemerals.push({
    channel,
    user,
    message_ts: messageTs,
    thread_ts: str(params, 'thread_ts'),
    text: content.text ?? '',
    blocks: content.blocks as Block[] | undefined,
    via: 'chat.postEphemeral',
    at,
  })
  return { ok: true, message_ts: messageTs }
}

const deleteMessage: Handler = (params, ctx) => {
  const channel = channelOf(params, ctx)
  const ts = str(params, 'ts') ?? ''
  const message = channel === undefined ? undefined : ctx.store.findMessage(channel, ts)
  if (!channel || !message) return fail('message_not_found')
  message.deleted = true
  return { ok: true, channel, ts }
}

const getPermalink: Handler = (params, ctx) => {
  const channel = channelOf(params, ctx)
  const ts = str(params, 'message_ts') ?? ''
  const message = channel === undefined ? undefined : ctx.store.findMessage(channel, ts)
  if (!channel || !message) return fail('message_not_found')
  const thread = message.thread_ts ? `?thread_ts=${message.thread_ts}&cid=${channel}` : ''
  const permalink = `https://${ctx.dir.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}${thread}`
  return { ok: true, channel, permalink }
}

export const chatMethods: Record<string, Handler> = {
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.postEphemeral': postEphemeral,
  'chat.delete': deleteMessage,
  'chat.getPermalink': getPermalink,
}
