// /api/v1/jobs (scope jobs:work): workers long-poll for jobs of their type, heartbeat, and complete or fail them.
import type { EventEmitter } from 'node:events'
import { Hono } from 'hono'
import { type Jobs, MAX_LEASE_MS, MIN_LEASE_MS } from '../../engine/jobs.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, requireScope } from '../auth.ts'
import { ok, optionalString, readJson, requiredString } from '../envelope.ts'

const MAX_WAIT_MS = 30_000
const DEFAULT_LEASE_MS = 60_000
const JOB_TYPE = /^[a-z][a-z0-9_.:-]{0,62}$/

function intParam(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError('invalid_parameter', `'${name}' must be an integer from ${min} to ${max}.`, {
      details: { [name]: raw },
    })
  }
  return value
}

/** Resolves after `ms`, or earlier when a run changes (a job may have opened) or the client went away. */
function nap(changes: EventEmitter, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      changes.off('run', done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    changes.on('run', done)
    signal?.addEventListener('abort', done, { once: true })
  })
}

export function jobRoutes(jobs: Jobs, changes: EventEmitter) {
  const app = new Hono<ApiEnv>()
  app.use('*', requireScope('jobs:work'))

  app.post('/claim', async (c) => {
    const type = c.req.query('type') ?? ''
    if (!JOB_TYPE.test(type)) {
      throw new AppError('invalid_parameter', `'type' must be a job type (as in the flow's job step), got '${type}'.`, {
        hint: 'POST /api/v1/jobs/claim?type=<type>&wait_ms=<0..30000>&lease_ms=<1000..3600000>',
      })
    }
    const waitMs = intParam(c.req.query('wait_ms'), 'wait_ms', 0, MAX_WAIT_MS, 0)
    const leaseMs = intParam(c.req.query('lease_ms'), 'lease_ms', MIN_LEASE_MS, MAX_LEASE_MS, DEFAULT_LEASE_MS)
    const signal = c.req.raw.signal
    const until = Date.now() + waitMs
    for (;;) {
      if (signal?.aborted) return ok(c, { job: null })
      const job = await jobs.claim(type, leaseMs)
      if (job) return ok(c, { job })
      const left = until - Date.now()
      if (left <= 0) return ok(c, { job: null })
      await nap(changes, Math.min(left, 500), signal)
    }
  })

  app.post('/:id/heartbeat', async (c) => {
    const body = await readJson(c)
    const leaseMs = intParam(
      body.lease_ms === undefined ? undefined : String(body.lease_ms),
      'lease_ms',
      MIN_LEASE_MS,
      MAX_LEASE_MS,
      DEFAULT_LEASE_MS,
    )
    const result = await jobs.heartbeat(
      c.req.param('id'),
      requiredString(body, 'lease', 200),
      leaseMs,
      optionalString(body, 'progress', 2000),
    )
    return ok(c, { job: result })
  })

  app.post('/:id/complete', async (c) => {
    const body = await readJson(c)
    const lease = requiredString(body, 'lease', 200)
    if (!('result' in body)) throw new AppError('invalid_body', "'result' is required (any JSON value).")
    const raw = Buffer.from(JSON.stringify(body.result))
    const outcome = await jobs.complete(c.req.param('id'), lease, body.result, raw)
    return ok(c, { job: { id: c.req.param('id'), ...outcome } }, outcome.status === 'duplicate' ? 200 : 202)
  })

  app.post('/:id/fail', async (c) => {
    const body = await readJson(c)
    const outcome = await jobs.fail(
      c.req.param('id'),
      requiredString(body, 'lease', 200),
      optionalString(body, 'reason', 10_000) ?? '',
    )
    return ok(c, { job: { id: c.req.param('id'), ...outcome } }, 202)
  })
  return app
}
