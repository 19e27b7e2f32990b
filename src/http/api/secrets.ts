// /api/v1/secrets (admin): set, list names, delete. Values go in and never come out.
import { Hono } from 'hono'
import type { Secrets } from '../../engine/secrets.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok, readJson, requiredString } from '../envelope.ts'
import { iso } from '../views.ts'

export function secretRoutes(secrets: Secrets) {
  const app = new Hono<ApiEnv>()
  app.get('/', requireScope('admin'), async (c) =>
    ok(c, {
      secrets: (await secrets.list()).map((s) => ({
        name: s.name,
        created_at: iso(s.createdAt),
        updated_at: iso(s.updatedAt),
      })),
    }),
  )
  app.put('/:name', requireScope('admin'), async (c) => {
    const body = await readJson(c)
    const result = await secrets.set(c.req.param('name'), requiredString(body, 'value', 70_000))
    return ok(c, { secret: result }, result.created ? 201 : 200)
  })
  app.delete('/:name', requireScope('admin'), async (c) => {
    await secrets.delete(c.req.param('name'))
    return ok(c, { secret: { name: c.req.param('name'), deleted: true } })
  })
  return app
}
