// /api/v1/admin (admin scope): prune now (or count what a prune would remove), the last prune, and an online backup
// of the database taken by this server.
import { Hono } from 'hono'
import type { Backups, Retention } from '../../engine/retention.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok, readJson, requiredString } from '../envelope.ts'

export interface AdminDeps {
  retention: Retention
  backups: Backups
}

function batchSizeOf(body: Record<string, unknown>): number | undefined {
  const value = body.batch_size
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000)
    throw new AppError('invalid_body', "'batch_size' must be a whole number from 1 to 1000.", { status: 400 })
  return value
}

export function adminRoutes(deps: AdminDeps) {
  const app = new Hono<ApiEnv>()
  app.use('*', requireScope('admin'))

  app.post('/prune', async (c) => {
    const body = await readJson(c)
    const dryRun = body.dry_run ?? false
    if (typeof dryRun !== 'boolean')
      throw new AppError('invalid_body', "'dry_run' must be true or false.", { status: 400 })
    const batchSize = batchSizeOf(body)
    const unknown = Object.keys(body).filter((k) => k !== 'dry_run' && k !== 'batch_size')
    if (unknown.length > 0)
      throw new AppError('invalid_body', `Unknown field '${unknown[0]}'.`, {
        status: 400,
        hint: 'A prune takes dry_run and batch_size only.',
      })
    const report = await deps.retention.prune({ dryRun, ...(batchSize === undefined ? {} : { batchSize }) })
    return ok(c, { prune: report })
  })

  app.get('/prune', async (c) => {
    const last = await deps.retention.lastReport()
    return ok(c, { retention: deps.retention.retentionMs === null ? 'off' : 'on', last_prune: last ?? null })
  })

  app.post('/backup', async (c) => {
    const body = await readJson(c)
    const path = requiredString(body, 'path', 4096)
    return ok(c, { backup: await deps.backups.backup(path) }, 201)
  })
  return app
}
