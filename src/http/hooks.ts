// POST /hooks/:slug: webhook triggers. The raw bytes are read once, capped, and handed to the engine, which verifies
// them before anything is parsed; refusals are AppErrors that the app's onError renders.
import { Hono } from 'hono'
import type { Webhooks } from '../engine/webhooks.ts'
import { readCapped } from './read-body.ts'

export function hookRoutes(webhooks: Webhooks, maxBodyBytes: number) {
  const app = new Hono()
  app.post('/:slug', async (c) => {
    const target = await webhooks.find(c.req.param('slug'))
    const raw = await readCapped(
      c,
      maxBodyBytes,
      'Send a smaller payload, or map only what the flow needs from a smaller event.',
    )
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
