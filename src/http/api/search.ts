// /api/v1/search: full-text search over runs, events, resources and flow sources (the `search` step's query path).
import { Hono } from 'hono'
import type { Engine } from '../../engine/engine.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok } from '../envelope.ts'

export function searchRoutes(engine: Engine) {
  const app = new Hono<ApiEnv>()
  app.get('/', requireScope('runs:read'), async (c) => {
    const ins = c.req.queries('in')
    const result = await engine.reads.search({
      query: c.req.query('q') ?? '',
      in: ins && ins.length > 0 ? ins.join(',') : undefined,
      flow: c.req.query('flow'),
      limit: c.req.query('limit'),
    })
    return ok(c, result)
  })
  return app
}
