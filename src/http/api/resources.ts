// /api/v1/resources: list a run's resources and read one's exact bytes.
import { Hono } from 'hono'
import type { Engine } from '../../engine/engine.ts'
import { parseResourceRef } from '../../engine/resources.ts'
import { notFound } from '../../errors.ts'
import { type ApiEnv, notAnApprovalRead, readAccessOf, requireRunsReadOrDecide, requireScope } from '../auth.ts'
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
  app.get('/:id', requireRunsReadOrDecide(), async (c) => {
    // Hono already percent-decoded the parameter; decoding again throws on a literal '%'.
    const id = parseResourceRef(c.req.param('id'))
    const resource = await engine.resources.get(id)
    if (!resource) throw notFound('resource_not_found', `No resource res://${id}.`)
    const principal = c.get('principal')
    // A voter's token reads what an approval shows (its diff, its attachments), no other resource.
    if (readAccessOf(principal) !== 'all' && !(await engine.approvals.mayReadResource(id, resource.runId)))
      throw notAnApprovalRead(principal, 'a resource no approval shows')
    c.header('content-type', resource.mediaType)
    c.header('x-greenlight-sha256', resource.id)
    return c.body(new Uint8Array(resource.content))
  })
  return app
}
