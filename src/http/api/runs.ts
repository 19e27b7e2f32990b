// /api/v1/runs and /api/v1/usage: start, list, show, events, cancel, retry, audit.
import { Hono } from 'hono'
import { isRunStatus, type RunStatus } from '../../core/run-status.ts'
import type { Engine } from '../../engine/engine.ts'
import type { RunRecord } from '../../engine/run-ports.ts'
import { AppError } from '../../errors.ts'
import {
  type ApiEnv,
  actorOf,
  credentialOf,
  notAnApprovalRead,
  readAccessOf,
  requesterOf,
  requireRunsReadOrDecide,
  requireScope,
} from '../auth.ts'
import { ok, optionalString, readJson, requiredString } from '../envelope.ts'
import { eventView, runView, stepView, waitView } from '../views.ts'

export function runRoutes(engine: Engine) {
  const { runs, reads, approvals } = engine
  const app = new Hono<ApiEnv>()
  /** A run shown alone: with where a retry would start and whether it may (null when it cannot be retried). */
  const oneRun = async (run: RunRecord) => ({ ...runView(run), retry: await runs.retryPlan(run) })

  app.post('/', requireScope('runs:write'), async (c) => {
    const body = await readJson(c)
    const inputs = body.inputs ?? {}
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))
      throw new AppError('invalid_body', "'inputs' must be an object.")
    const run = await runs.start({
      slug: requiredString(body, 'flow', 100),
      draft: body.draft === true,
      inputs: inputs as Record<string, unknown>,
      initiator: actorOf(c.get('principal')),
      credential: credentialOf(c.get('principal')),
      trigger: 'api',
    })
    if (body.wait === true) {
      const timeout = typeof body.timeout_ms === 'number' ? Math.min(Math.max(body.timeout_ms, 0), 300_000) : 60_000
      const settled = await runs.settle(run.id, timeout)
      return ok(c, { run: await oneRun(settled.run), timed_out: settled.timedOut }, 201)
    }
    return ok(c, { run: await oneRun(run) }, 201)
  })

  app.get('/', requireScope('runs:read'), async (c) => {
    const status = (c.req.query('status') ?? '').split(',').filter(Boolean)
    const bad = status.filter((s) => !isRunStatus(s))
    if (bad.length > 0) throw new AppError('invalid_status', `Unknown status: ${bad.join(', ')}.`)
    const limit = Number(c.req.query('limit') ?? 20)
    const list = await runs.list({
      flow: c.req.query('flow'),
      status: status as RunStatus[],
      limit: Number.isFinite(limit) ? limit : 20,
      before: c.req.query('before'),
    })
    return ok(c, { runs: list.map(runView) })
  })

  app.get('/:id', requireRunsReadOrDecide(), async (c) => {
    const principal = c.get('principal')
    // A voter's token reads a run that has an approval (the one it decides), no other.
    if (readAccessOf(principal) !== 'all' && !(await approvals.mayReadRun(c.req.param('id'))))
      throw notAnApprovalRead(principal, 'a run without an approval')
    // ?settle=ended|parked long-polls (up to timeout_ms, at most 60 s) so clients need not poll.
    const settleMode = c.req.query('settle')
    if (settleMode !== undefined && settleMode !== 'ended' && settleMode !== 'parked') {
      throw new AppError('invalid_query', "'settle' must be 'ended' or 'parked'.")
    }
    const timeout = Math.min(Math.max(Number(c.req.query('timeout_ms') ?? 30_000) || 0, 0), 60_000)
    const run = settleMode
      ? (await runs.settle(c.req.param('id'), timeout, settleMode)).run
      : await runs.requireRun(c.req.param('id'))
    if (c.req.query('view') === 'brief') return ok(c, { run: await oneRun(run) })
    const detail = await reads.runDetail(run)
    return ok(c, {
      run: await oneRun(run),
      steps: detail.steps.map(stepView),
      wait: detail.wait ? waitView(detail.wait, detail.votes) : null,
      children: detail.children.map((child) => ({
        id: child.id,
        flow: child.flowSlug,
        version: child.version,
        status: child.status,
        step: child.parentStep ?? null,
        visit: child.parentVisit ?? null,
      })),
    })
  })

  app.get('/:id/events', requireScope('runs:read'), async (c) => {
    const run = await runs.requireRun(c.req.param('id'))
    return ok(c, { run_id: run.id, events: (await reads.events(run.id)).map(eventView) })
  })

  app.get('/:id/audit', requireScope('runs:read'), async (c) =>
    ok(c, { audit: await engine.audit.verify(c.req.param('id')) }),
  )

  app.post('/:id/cancel', requireScope('runs:write'), async (c) => {
    return ok(c, { run: await oneRun(await runs.cancel(c.req.param('id'), requesterOf(c.get('principal')))) })
  })

  app.post('/:id/retry', requireScope('runs:write'), async (c) => {
    const body = await readJson(c)
    const principal = c.get('principal')
    const run = await runs.retry(
      c.req.param('id'),
      optionalString(body, 'from', 64),
      actorOf(principal),
      credentialOf(principal),
    )
    return ok(c, { run: await oneRun(run) })
  })

  return app
}

export function usageRoutes(engine: Engine) {
  const app = new Hono<ApiEnv>()
  app.get('/', requireScope('runs:read'), async (c) => {
    const month = c.req.query('month') ?? new Date().toISOString().slice(0, 7)
    return ok(c, { usage: await engine.runs.usage(month) })
  })
  return app
}

export { waitView }
