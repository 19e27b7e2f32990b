// /api/v1/resources: list a run's resources and read one's exact bytes.
import { Hono } from 'hono'
import type { Engine } from '../../engine/engine.ts'
import { parseResourceRef } from '../../engine/resources.ts'
import { notFound } from '../../errors.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok } from '../envelope.ts'
import { iso } from '../views.ts'

export function resourceRoutes(engine: Engine) {
  const app = new Hono<ApiEnv>()
  app.get('/', requireScope('runs:read'), async (c) => {
    const list = await engine.resources.list({
      runId: c.req.query('run'),
      limit: Math.min(Number(c.req.query('limit') ?? 100) || 100, 1000),
    })
    return ok(c, {
      resources: list.map((r) => ({
        ref: `res://${r.id}`,
        size: r.size,
        media_type: r.mediaType,
        run_id: r.runId,
        created_at: iso(r.createdAt),
      })),
    })
  })
  app.get('/:id', requireScope('runs:read'), async (c) => {
    // Hono already percent-decoded the parameter; decoding again throws on a literal '%'.
    const id = parseResourceRef(c.req.param('id'))
    const resource = await engine.resources.get(id)
    if (!resource) throw notFound('resource_not_found', `No resource res://${id}.`)
    c.header('content-type', resource.mediaType)
    c.header('x-greenlight-sha256', resource.id)
    return c.body(new Uint8Array(resource.content))
  })
  return app
}
