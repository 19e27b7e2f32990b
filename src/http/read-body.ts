// Reading request bodies for every route: counted while they stream and cut at the limit, decoded as strict UTF-8,
// and, for JSON, bounded in nesting before anything (parsing, schemas, redaction, hashing) walks them.
import type { Context } from 'hono'
import { jsonDepthOver, MAX_JSON_DEPTH } from '../core/json-depth.ts'
import { type JsonErrorAt, jsonErrorAt } from '../core/json-error-at.ts'
import { readUpTo } from '../core/read-capped.ts'
import { decodeUtf8Strict } from '../core/utf8.ts'
import { AppError } from '../errors.ts'

/** Reads the body as a stream and stops at `maxBytes`: a chunked body declares no length and is never held whole. */
export async function readCapped(c: Context, maxBytes: number, hint?: string): Promise<Buffer> {
  const tooLarge = () =>
    new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, {
      status: 413,
      ...(hint === undefined ? {} : { hint }),
    })
  const declared = c.req.header('content-length')
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge()
  const body = await readUpTo(c.req.raw.body, maxBytes)
  if (body === null) throw tooLarge()
  return body
}

/** The body as text; bytes that are not UTF-8 are refused, as the Slack receiver does, instead of stored as U+FFFD. */
export function decodeUtf8(raw: Uint8Array): string {
  const text = decodeUtf8Strict(raw)
  if (text === undefined) {
    throw new AppError('invalid_encoding', 'The body is not valid UTF-8.', {
      status: 400,
      hint: 'Send the JSON encoded as UTF-8.',
    })
  }
  return text
}

/**
 * Parses JSON text whose nesting is within MAX_JSON_DEPTH. A syntax error is reported by `notJson` (each route
 * answers it its own way) with the parser's message followed by where it stopped ("(line 2, column 13)"), and that
 * place as data for the error's details.
 */
export function parseBoundedJson(
  text: string,
  notJson: (message: string, at: JsonErrorAt | undefined) => AppError,
): unknown {
  if (jsonDepthOver(text, MAX_JSON_DEPTH)) {
    throw new AppError('json_too_deep', `The JSON nests deeper than ${MAX_JSON_DEPTH} levels.`, {
      status: 400,
      hint: 'Flatten the payload, or send the deep part as a string.',
      details: { max_depth: MAX_JSON_DEPTH },
    })
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const at = jsonErrorAt(text, message)
    throw notJson(at ? `${message} (line ${at.line}, column ${at.column})` : message, at)
  }
}
