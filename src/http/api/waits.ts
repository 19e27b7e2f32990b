// /api/v1/waits: list open waits, read a wait's callback URL (admin), complete a wait or an input, vote.
import { Hono } from 'hono'
import type { VoteDecision } from '../../core/approvals/policy.ts'
import type { Engine } from '../../engine/engine.ts'
import { AppError, notFound } from '../../errors.ts'
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
import { ok, optionalString, readJson } from '../envelope.ts'
import { waitView } from '../views.ts'

const DECISIONS: Record<string, VoteDecision> = {
  approve: 'approve',
  reject: 'reject',
  'request-changes': 'request_changes',
}

export function waitRoutes(engine: Engine) {
  const { reads, decisions, approvals } = engine
  const app = new Hono<ApiEnv>()

  app.get('/', requireRunsReadOrDecide(), async (c) => {
    const status = c.req.query('status') ?? 'open'
    const principal = c.get('principal')
    // A voter's token lists approvals only (asked for or not); other kinds need runs:read.
    const approvalsOnly = readAccessOf(principal) === 'approvals'
    const kind = c.req.query('kind') ?? (approvalsOnly ? 'approval' : undefined)
    if (approvalsOnly && kind !== 'approval') throw notAnApprovalRead(principal, `listing '${kind}' waits`)
    const list = await reads.listWaits({
      status: status === 'all' ? undefined : (status.split(',') as never),
      runId: c.req.query('run'),
      kind: kind as never,
      limit: Math.min(Number(c.req.query('limit') ?? 50) || 50, 500),
    })
    const views = await Promise.all(
      list
        .filter((w) => w.kind !== 'sleep' || status !== 'open')
        .map(async (w) => waitView(w, w.kind === 'approval' ? await reads.votes(w.id) : [])),
    )
    return ok(c, { waits: views })
  })

  app.get('/:id', requireRunsReadOrDecide(), async (c) => {
    const wait = await reads.wait(c.req.param('id'))
    if (!wait)
      throw notFound('wait_not_found', `No wait with id '${c.req.param('id')}'.`, {
        hint: "Run 'greenlight waits list'.",
      })
    const principal = c.get('principal')
    if (wait.kind !== 'approval' && readAccessOf(principal) !== 'all')
      throw notAnApprovalRead(principal, `a ${wait.kind} wait`)
    return ok(c, { wait: waitView(wait, await reads.votes(wait.id)) })
  })

  // Admins only, and recorded in the run's events: whoever holds the URL can complete the wait.
  app.get('/:id/callback-url', requireScope('admin'), async (c) => {
    const { wait, url } = await engine.callbacks.urlFor(c.req.param('id'), requesterOf(c.get('principal')))
    return ok(c, { wait: waitView(wait, []), callback_url: url })
  })

  app.post('/:id/complete', requireScope('runs:write'), async (c) => {
    const body = await readJson(c)
    if (!('payload' in body)) throw new AppError('invalid_body', 'Send { "payload": … }.')
    return ok(
      c,
      { completed: await decisions.submit(c.req.param('id'), body.payload, requesterOf(c.get('principal'))) },
      202,
    )
  })

  app.post('/:id/:decision', requireScope('approvals:decide'), async (c) => {
    const decision = DECISIONS[c.req.param('decision')]
    if (!decision) throw notFound('not_found', `No route for POST ${c.req.path}.`)
    const body = await readJson(c)
    const principal = c.get('principal')
    if ('edits' in body && decision !== 'approve')
      throw new AppError('invalid_edits', 'Only an approval carries edits; a rejection or change request cannot.', {
        hint: `Send the edits to POST /api/v1/waits/${c.req.param('id')}/approve.`,
      })
    const result = await approvals.vote({
      waitId: c.req.param('id'),
      voter: actorOf(principal),
      decision,
      comment: optionalString(body, 'comment', 3000) ?? null,
      via: 'api',
      anonymousToken: principal.asUser === null,
      credential: credentialOf(principal),
      ...(typeof body.digest === 'string' ? { digest: body.digest } : {}),
      // Checked by the engine: declared fields only, text values, each within the limit.
      ...('edits' in body ? { edits: body.edits as Record<string, unknown> } : {}),
    })
    return ok(c, { vote: result }, result.recorded ? 201 : 200)
  })

  return app
}
