// The API's body cap. Hono's own middleware asks the request for its body stream first, which makes the Node.js
// adapter build a full fetch Request (an AbortController, a Headers copy, a stream) for every request, GETs
// included. The common cases are decided from the headers alone; only a chunked body is counted as it streams,
// by the reader every other route uses.
import type { MiddlewareHandler } from 'hono'
import { AppError } from '../errors.ts'
import { readCapped } from './read-body.ts'

export function limitBody(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method
    if (method === 'GET' || method === 'HEAD') return next()
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d+$/.test(length)) throw new AppError('invalid_request', 'The content-length header is not a number.')
      if (Number(length) > maxBytes)
        throw new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, { status: 413 })
      // Node's parser reads exactly the declared length, so the handler may read the body whole.
      return next()
    }
    // Chunked: read it here, stopping at the cap, and hand the handler the bytes read.
    const raw = await readCapped(c, maxBytes)
    c.req.raw = new Request(c.req.raw, { body: new Uint8Array(raw) })
    return next()
  }
}
