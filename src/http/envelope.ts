// The JSON envelope every API answer uses; the CLI prints it nearly as is.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AppError } from '../errors.ts'
import { decodeUtf8, parseBoundedJson } from './read-body.ts'

export function ok(c: Context, data: unknown, status: ContentfulStatusCode = 200): Response {
  return c.json({ ok: true, data }, status)
}

export function fail(c: Context, error: AppError): Response {
  return c.json({ ok: false, error: error.toJSON() }, error.status as ContentfulStatusCode)
}

/**
 * Parses a JSON body or answers a clear 400 instead of throwing from deep inside a handler. The body is read as JSON
 * whatever its content type, as callbacks are (`curl -d` sends application/x-www-form-urlencoded): the bearer token
 * already rules out a browser's cross-site form, so the header adds nothing but a way to be refused for valid JSON.
 */
export async function readJson(c: Context): Promise<Record<string, unknown>> {
  // The body cap (limitBody) already stopped an oversized body; here: strict UTF-8 and bounded nesting.
  const body = parseBoundedJson(
    decodeUtf8(new Uint8Array(await c.req.arrayBuffer())),
    (message, at) =>
      new AppError('invalid_json', `The request body is not valid JSON: ${message}`, {
        status: 400,
        details: at ? { ...at } : {},
      }),
  )
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_body', 'The request body must be a JSON object.', { status: 400 })
  }
  return body as Record<string, unknown>
}

export function optionalString(body: Record<string, unknown>, key: string, max = 10_000): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value.length > max) {
    throw new AppError('invalid_body', `'${key}' must be a string of at most ${max} characters.`, { status: 400 })
  }
  // SQLite ends a TEXT value read back at its first NUL: refuse one rather than store text that returns cut short.
  if (value.includes('\u0000')) {
    throw new AppError('invalid_body', `'${key}' must not contain NUL characters (U+0000).`, { status: 400 })
  }
  return value
}

export function requiredString(body: Record<string, unknown>, key: string, max = 10_000): string {
  const value = optionalString(body, key, max)
  if (value === undefined || value === '') {
    throw new AppError('invalid_body', `'${key}' is required.`, { status: 400 })
  }
  return value
}
