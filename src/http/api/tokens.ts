// /api/v1/tokens (admin): create, list, revoke; /api/v1/whoami for any token.
import { Hono } from 'hono'
import type { Tokens } from '../../engine/tokens.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, actorOf, requireScope } from '../auth.ts'
import { ok, optionalString, readJson, requiredString } from '../envelope.ts'

export function tokenRoutes(tokens: Tokens) {
  const app = new Hono<ApiEnv>()

  app.get('/', requireScope('admin'), async (c) => ok(c, { tokens: await tokens.list() }))

  app.post('/', requireScope('admin'), async (c) => {
    const body = await readJson(c)
    const scopes = body.scopes
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
      throw new AppError('invalid_body', "'scopes' must be a list of scope names.")
    }
    const created = await tokens.create({
      name: requiredString(body, 'name', 64),
      scopes,
      asUser: optionalString(body, 'as_user', 32) ?? null,
      createdBy: actorOf(c.get('principal')),
    })
    return ok(c, { token: { ...created.record, secret: created.token } }, 201)
  })

  app.delete('/:ref', requireScope('admin'), async (c) => ok(c, { token: await tokens.revoke(c.req.param('ref')) }))

  return app
}

export function whoamiRoute() {
  const app = new Hono<ApiEnv>()
  app.get('/', (c) => {
    const p = c.get('principal')
    return ok(c, { token: { id: p.tokenId, name: p.name, scopes: p.scopes, as_user: p.asUser } })
  })
  return app
}
