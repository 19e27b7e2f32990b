// The API's body cap. Hono's own middleware asks the request for its body stream first, which makes the Node.js
// adapter build a full fetch Request (an AbortController, a Headers copy, a stream) for every request, GETs
// included. The common cases are decided from the headers alone; only a chunked body is counted as it streams.
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../errors.ts'

export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, { status: 413 })
  }
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge })
  return async (c, next) => {
    const method = c.req.method
    if (method === 'GET' || method === 'HEAD') return next()
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d+$/.test(length)) throw new AppError('invalid_request', 'The content-length header is not a number.')
      if (Number(length) > maxBytes) tooLarge()
      return next()
    }
    return streamed(c, next)
  }
}
