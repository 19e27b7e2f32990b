// response_url: issued by the payload builders, answered by the fake (5 uses, 30 minutes, like Slack).

import type { ApiContext, Params } from './api-context.ts'
import { bool, str } from './api-context.ts'
import type { Block, ResponseUrlContext } from './store.ts'
import { checkMessageContent, contentOf, editMessage, resolveThread, storeMessage } from './web-api-chat.ts'

export function issueResponseUrl(ctx: ApiContext, context: ResponseUrlContext): string {
  const id = ctx.store.nextId('R', 8)
  ctx.store.responseUrls.set(id, { id, context, issuedAt: ctx.now(), uses: 0 })
  return `${ctx.baseUrl}/respond/${id}`
}

export interface ResponseUrlReply {
  status: number
  body: Record<string, unknown>
}

function apply(ctx: ApiContext, context: ResponseUrlContext, body: Params): ResponseUrlReply {
  const reply = (status: number, error?: string): ResponseUrlReply => ({
    status,
    body: error ? { ok: false, error } : { ok: true },
  })
  const channel = context.channel
  const original = channel && context.message_ts ? ctx.store.findMessage(channel, context.message_ts) : undefined
  if (bool(body, 'delete_original')) {
    if (!original) return reply(404, 'message_not_found')
    original.deleted = true
    return reply(200)
  }
  const content = contentOf(body)
  const problem = checkMessageContent(content, ctx)
  if (problem) return reply(400, String(problem.error))
  if (bool(body, 'replace_original') && original) {
    editMessage(ctx, original, content)
    return reply(200)
  }
  if (!channel) return reply(404, 'channel_not_found')
  if (str(body, 'response_type') === 'in_channel') {
    const threadTs = resolveThread(ctx, channel, str(body, 'thread_ts') ?? context.thread_ts)
    storeMessage(ctx, {
      channel,
      text: content.text ?? '',
      blocks: content.blocks as Block[] | undefined,
      attachments: content.attachments as unknown[] | undefined,
      thread_ts: threadTs ?? undefined,
    })
    return reply(200)
  }
  const at = ctx.now()
  ctx.store.ephemerals.push({
    channel,
    user: context.user ?? '',
    message_ts: ctx.store.nextTs(at),
    thread_ts: str(body, 'thread_ts') ?? context.thread_ts,
    text: content.text ?? '',
    blocks: content.blocks as Block[] | undefined,
    via: 'response_url',
    at,
  })
  return reply(200)
}

/**
 * A POST to a response_url: `delete_original`, `replace_original` (edits the source message), `in_channel`
 * (posts a message) or, by default, an ephemeral to the user the URL was issued for.
 */
export function handleResponseUrlPost(ctx: ApiContext, id: string, body: Params): ResponseUrlReply {
  const record = ctx.store.responseUrls.get(id)
  let result: ResponseUrlReply
  if (!record || ctx.now() - record.issuedAt > ctx.config.responseUrlTtlMs) {
    result = { status: 404, body: { ok: false, error: 'expired_url' } }
  } else if (record.uses >= ctx.config.responseUrlMaxUses) {
    result = { status: 404, body: { ok: false, error: 'used_url' } }
  } else {
    record.uses += 1
    result = apply(ctx, record.context, body)
  }
  ctx.store.responseUrlPosts.push({
    id,
    context: record?.context ?? {},
    body,
    status: result.status,
    at: ctx.now(),
  })
  return result
}
