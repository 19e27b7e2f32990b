// /api/v1/approval-requests: an agent asks people to approve an action (a run of the built-in flow), then reads
// (long-polls) the decision. Behind the MCP tool request_approval and `greenlight request-approval`.
import { Hono } from 'hono'
import { decidingTokenError } from '../../core/agent-scopes.ts'
import { tally } from '../../core/approvals/policy.ts'
import { decodeWaitSpec } from '../../core/wait-spec.ts'
import { type ApprovalRequests, parseApprovalRequest, type RequestOutcome } from '../../engine/approval-requests.ts'
import { type ApiEnv, actorOf, credentialOf, requireScope } from '../auth.ts'
import { ok, readJson } from '../envelope.ts'
import { iso, runView } from '../views.ts'

/** The most one GET holds for a decision, like `GET /runs/:id?settle=`. */
const MAX_HOLD_MS = 60_000

export function requestView(outcome: RequestOutcome) {
  const { wait, votes } = outcome
  const spec = wait ? decodeWaitSpec('approval', wait.spec) : null
  const required = spec?.kind === 'approval' ? spec.required : 1
  const counted = wait ? tally(votes as never, required, wait.digest ?? '') : null
  return {
    run: runView(outcome.run),
    decision: outcome.decision,
    comment: outcome.comment,
    edited: outcome.edited,
    votes: votes.map((v) => ({ user: v.voter, decision: v.decision, comment: v.comment, at: iso(v.at) })),
    tally: counted ? { approvals: counted.approvals, required: counted.required } : null,
    wait_id: wait?.id ?? null,
    digest: wait?.digest ?? null,
    deadline_at: iso(wait?.deadlineAt),
  }
}

export function approvalRequestRoutes(requests: ApprovalRequests) {
  const app = new Hono<ApiEnv>()

  app.post('/', requireScope('runs:write'), async (c) => {
    const principal = c.get('principal')
    const refused = decidingTokenError(principal.scopes)
    if (refused) throw refused
    const request = parseApprovalRequest(await readJson(c))
    const { run, created } = await requests.start(request, {
      initiator: actorOf(principal),
      credential: credentialOf(principal),
    })
    const outcome = await requests.outcome(run.id, 0)
    return ok(c, { request: requestView(outcome), created }, created ? 201 : 200)
  })

  app.get('/:run', requireScope('runs:read'), async (c) => {
    const hold = Math.min(Math.max(Number(c.req.query('timeout_ms') ?? 0) || 0, 0), MAX_HOLD_MS)
    return ok(c, { request: requestView(await requests.outcome(c.req.param('run'), hold)) })
  })

  return app
}
