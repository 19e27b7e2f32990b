// The files v2 upload flow: getUploadURLExternal → POST bytes to upload_url → completeUploadExternal.

import { extname } from 'node:path'
import { type ApiContext, type ApiResult, fail, type Handler, int, type Params, str } from './api-context.ts'
import type { Block, FileRecord, FileSummary } from './store.ts'
import { checkMessageContent, resolveThread, storeMessage } from './web-api-chat.ts'

function summary(file: FileRecord): FileSummary {
  return {
    id: file.id,
    name: file.filename,
    title: file.title,
    filetype: file.snippet_type ?? (extname(file.filename).slice(1) || undefined),
  }
}

const getUploadUrl: Handler = (params, ctx) => {
  const filename = str(params, 'filename')
  const length = int(params, 'length')
  if (!filename || length === undefined) return fail('invalid_arguments')
  const id = ctx.store.nextId('F', 10)
  ctx.store.files.set(id, {
    id,
    filename,
    title: filename,
    snippet_type: str(params, 'snippet_type'),
    alt_text: str(params, 'alt_text'),
    length,
    bytes: undefined,
    content: '',
    uploaded: false,
    completed: false,
    channel_id: undefined,
    thread_ts: undefined,
    initial_comment: undefined,
    message_ts: undefined,
  })
  return { ok: true, upload_url: `${ctx.baseUrl}/upload/${id}`, file_id: id }
}

/** Stores uploaded bytes. Answers like Slack's upload host: `200 OK - <bytes>`, or 404 for an unknown file. */
export function handleUpload(ctx: ApiContext, fileId: string, bytes: Buffer): { status: number; text: string } {
  const file = ctx.store.files.get(fileId)
  if (!file || file.completed) return { status: 404, text: 'file_not_found' }
  file.bytes = bytes
  file.content = bytes.toString('utf8')
  file.uploaded = true
  return { status: 200, text: `OK - ${bytes.length}` }
}

function parseFiles(params: Params): { id: string; title?: string }[] | undefined {
  const files = params.files
  if (!Array.isArray(files)) return undefined
  const parsed: { id: string; title?: string }[] = []
  for (const entry of files) {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { id?: unknown }).id !== 'string')
      return undefined
    const { id, title } = entry as { id: string; title?: unknown }
    parsed.push(typeof title === 'string' ? { id, title } : { id })
  }
  return parsed
}

const completeUpload: Handler = (params, ctx): ApiResult => {
  const entries = parseFiles(params)
  if (!entries || entries.length === 0) return fail('invalid_arguments')
  const files: FileRecord[] = []
  for (const entry of entries) {
    const file = ctx.store.files.get(entry.id)
    // Slack cannot find a file whose bytes never arrived; completing twice is refused too.
    if (!file?.uploaded || file.completed) return fail('file_not_found')
    files.push(file)
  }
  const channelRef = str(params, 'channel_id') ?? str(params, 'channels')
  const channel = channelRef === undefined ? undefined : ctx.dir.resolveChannel(channelRef)
  if (channelRef !== undefined && channel === undefined) return fail('channel_not_found')
  const initialComment = str(params, 'initial_comment')
  const blocks = initialComment === undefined ? params.blocks : undefined
  const problem = checkMessageContent({ text: initialComment, blocks, attachments: undefined }, ctx, false)
  if (problem) return problem
  let threadTs: string | undefined
  if (channel) {
    const resolved = resolveThread(ctx, channel, str(params, 'thread_ts'))
    if (resolved === null) return fail('thread_not_found')
    threadTs = resolved
  }
  entries.forEach((entry, i) => {
    const file = files[i]
    if (file && entry.title) file.title = entry.title
  })
  const message = channel
    ? storeMessage(ctx, {
        channel,
        text: initialComment ?? '',
        blocks: blocks as Block[] | undefined,
        attachments: undefined,
        thread_ts: threadTs,
        subtype: 'file_share',
        files: files.map(summary),
      })
    : undefined
  for (const file of files) {
    Object.assign(file, { completed: true, channel_id: channel, thread_ts: threadTs, initial_comment: initialComment })
    file.message_ts = message?.ts
  }
  return {
    ok: true,
    files: files.map((f) => ({
      ...summary(f),
      size: f.bytes?.length ?? 0,
      mimetype: 'text/plain',
      ...(channel && message ? { shares: { public: { [channel]: [{ ts: message.ts, thread_ts: threadTs }] } } } : {}),
    })),
  }
}

export const fileMethods: Record<string, Handler> = {
  'files.getUploadURLExternal': getUploadUrl,
  'files.completeUploadExternal': completeUpload,
}
