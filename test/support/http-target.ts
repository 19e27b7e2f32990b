// A loopback HTTP target for http steps: records every request (with its Idempotency-Key) and answers as told.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TargetRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
  idempotencyKey: string | undefined
}

export interface HttpTarget {
  url: string
  requests: TargetRequest[]
  /** Answers the next `count` requests with this status (then 200 again). */
  failNext(status: number, count?: number): void
  /** Answers requests to `path` (query ignored) with `handler` instead of the echo; they are still recorded. */
  handle(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void
  countByKey(): Map<string, number>
  close(): Promise<void>
}

export async function startHttpTarget(): Promise<HttpTarget> {
  const requests: TargetRequest[] = []
  const failures: number[] = []
  const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      const key = req.headers['idempotency-key']
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        idempotencyKey: typeof key === 'string' ? key : undefined,
      })
      const handler = handlers.get((req.url ?? '').split('?')[0] ?? '')
      if (handler) return handler(req, res)
      const status = failures.shift() ?? 200
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          ok: status < 400,
          n: requests.length,
          echo: body ? safeJson(body) : null,
          headers: req.headers,
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status)
    },
    handle(path, handler) {
      handlers.set(path, handler)
    },
    countByKey() {
      const counts = new Map<string, number>()
      for (const r of requests)
        if (r.idempotencyKey) counts.set(r.idempotencyKey, (counts.get(r.idempotencyKey) ?? 0) + 1)
      return counts
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // A response still streaming (a handler's endless body) would otherwise hold close() open.
        server.closeAllConnections()
      }),
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
