// /api/v1/audit/export: the audit export file (JSON Lines) of the runs named, or of those started in a time range.
import { Hono } from 'hono'
import type { Engine } from '../../engine/engine.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, requireScope } from '../auth.ts'

function instant(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(at))
    throw new AppError('invalid_query', `'${name}' must be an ISO 8601 time, such as 2026-11-01T00:00:00Z.`)
  return at
}

export function auditRoutes(engine: Engine) {
  const app = new Hono<ApiEnv>()
  app.get('/export', requireScope('runs:read'), async (c) => {
    const runIds = (c.req.queries('run') ?? []).flatMap((v) => v.split(',')).filter(Boolean)
    const from = instant('from', c.req.query('from'))
    const to = instant('to', c.req.query('to'))
    if (runIds.length === 0 && from === undefined && to === undefined)
      throw new AppError('invalid_query', 'Name the runs (run=…) or a time range (from=…, to=…) to export.')
    if (runIds.length > 0 && (from !== undefined || to !== undefined))
      throw new AppError('invalid_query', 'Name runs or a time range, not both.')
    const { text } = await engine.audit.export({
      runIds,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    })
    c.header('content-type', 'application/x-ndjson; charset=utf-8')
    return c.body(text)
  })
  return app
}
