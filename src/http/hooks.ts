// POST /hooks/:slug: webhook triggers. The raw bytes are read once, capped, and handed to the engine, which verifies
// them before anything is parsed; refusals are AppErrors that the app's onError renders.
import { type Context, Hono } from 'hono'
import type { Webhooks } from '../engine/webhooks.ts'
import { AppError } from '../errors.ts'

async function readCapped(c: Context, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, {
      status: 413,
      hint: 'Send a smaller payload, or map only what the flow needs from a smaller event.',
    })
  const declared = Number(c.req.header('content-length') ?? 0)
  if (declared > maxBytes) throw tooLarge()
  // Read as a stream and stop at the cap: a chunked body declares no length, and is not buffered whole.
  const reader = c.req.raw.body?.getReader()
  if (!reader) return Buffer.alloc(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

export function hookRoutes(webhooks: Webhooks, maxBodyBytes: number) {
  const app = new Hono()
  app.post('/:slug', async (c) => {
    const target = await webhooks.find(c.req.param('slug'))
    const raw = await readCapped(c, maxBodyBytes)
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value
    })
    const run = await webhooks.receive(target, {
      raw,
      contentType: c.req.header('content-type'),
      headers,
      query: c.req.query(),
    })
    return c.json(
      { ok: true, data: { status: 'accepted', run_id: run.id, run: { id: run.id, status: run.status } } },
      202,
    )
  })
  return app
}
