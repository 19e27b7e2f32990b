// /api/v1/admin (admin scope): prune now (or count what a prune would remove), the last prune, and an online backup
// of the database taken by this server and sent to the caller.
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import type { Backups, Retention } from '../../engine/retention.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok, readJson } from '../envelope.ts'

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

  // The copy's bytes (application/vnd.sqlite3), streamed from a temporary file deleted once sent or abandoned.
  app.post('/backup', async (c) => {
    const body = await readJson(c)
    if (Object.keys(body).length > 0)
      throw new AppError('invalid_body', 'A backup takes no fields.', { status: 400, hint: 'Send {}.' })
    const copy = await deps.backups.backup()
    const file = createReadStream(copy.path)
    file.once('close', () => copy.discard())
    c.header('content-type', 'application/vnd.sqlite3')
    c.header('content-length', String(copy.bytes))
    c.header('x-greenlight-backup-duration-ms', String(copy.duration_ms))
    return c.body(Readable.toWeb(file) as ReadableStream)
  })
  return app
}
