// Request parsing for the fake: JSON, form-encoded (with JSON-string fields) and multipart bodies.

import type { IncomingMessage } from 'node:http'
import type { Params } from './api-context.ts'

/** Fields the Web API client sends as JSON strings inside a form body. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'files', 'metadata', 'file_uploads'])

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** Parses `blocks`, `view`, … when they arrive as JSON strings; leaves a string that is not JSON as it is. */
function decodeJsonFields(params: Params): Params {
  for (const key of Object.keys(params)) {
    const value = params[key]
    if (!JSON_FIELDS.has(key) || typeof value !== 'string') continue
    try {
      params[key] = JSON.parse(value)
    } catch {
      // Kept as a string: handlers answer invalid_blocks_format / invalid_arguments as Slack does.
    }
  }
  return params
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<FormData> {
  return new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData()
}

/** Web API arguments from the query string and the body, whatever encoding the client chose. */
export async function parseParams(
  raw: Buffer,
  contentType: string | undefined,
  query: URLSearchParams,
): Promise<Params> {
  const params: Params = Object.fromEntries(query)
  const type = mediaType(contentType)
  if (raw.length === 0) return decodeJsonFields(params)
  if (type === 'application/json') {
    const parsed: unknown = JSON.parse(raw.toString('utf8'))
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) Object.assign(params, parsed)
  } else if (type === 'multipart/form-data' && contentType) {
    const form = await parseMultipart(raw, contentType)
    for (const [key, value] of form) {
      params[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer())
    }
  } else {
    Object.assign(params, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))))
  }
  return decodeJsonFields(params)
}

/** The file bytes of an upload: the first file part of a multipart body, else the raw body. */
export async function uploadBytes(raw: Buffer, contentType: string | undefined): Promise<Buffer> {
  if (mediaType(contentType) !== 'multipart/form-data' || !contentType) return raw
  const form = await parseMultipart(raw, contentType)
  for (const [, value] of form) if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer())
  const first = form.values().next().value
  return Buffer.from(typeof first === 'string' ? first : '')
}

export function bearerToken(req: IncomingMessage, params: Params): string | undefined {
  const header = req.headers.authorization
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim()
  return typeof params.token === 'string' ? params.token : undefined
}
