// /api/v1/connections (admin): set, list, show, delete. Configurations name secrets; values never pass here.
import { Hono } from 'hono'
import type { Connections } from '../../engine/connections.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok, readJson } from '../envelope.ts'

export function connectionRoutes(connections: Connections) {
  const app = new Hono<ApiEnv>()
  app.get('/', requireScope('admin'), async (c) => ok(c, { connections: await connections.list() }))
  app.get('/:name', requireScope('admin'), async (c) =>
    ok(c, { connection: await connections.show(c.req.param('name')) }),
  )
  app.put('/:name', requireScope('admin'), async (c) => {
    const result = await connections.set(c.req.param('name'), await readJson(c))
    return ok(c, { connection: result.connection, created: result.created }, result.created ? 201 : 200)
  })
  app.delete('/:name', requireScope('admin'), async (c) => {
    await connections.delete(c.req.param('name'))
    return ok(c, { connection: { name: c.req.param('name'), deleted: true } })
  })
  return app
}
