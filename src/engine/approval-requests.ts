// Ad-hoc approvals: each request is an ordinary run of the built-in flow, started by whoever asks, so it is pinned,
// audited and decided with every approval rule; an idempotency key makes asking again return the same run.
import {
  type ApprovalRequest,
  approvalRequestSchema,
  type RequestDecision,
  requestInputs,
} from '../core/approval-request.ts'
import { REQUEST_FLOW_SLUG } from '../core/request-flow.ts'
import { isTerminal } from '../core/run-status.ts'
import { AppError, isAppError } from '../errors.ts'
import type { Credential } from './authorization.ts'
import type { RunReads } from './reads.ts'
import type { RunRecord, VoteRecord, WaitRecord } from './run-ports.ts'
import type { Runs } from './runs.ts'

/** How long a new request's answer waits for its approval to open. */
const OPEN_WAIT_MS = 5_000

export interface RequestOutcome {
  run: RunRecord
  /** The approval (open or decided); null while the run has not reached it yet. */
  wait: WaitRecord | null
  votes: VoteRecord[]
  /** Null while people have not decided. */
  decision: RequestDecision | null
  comment: string | null
  /** With edit fields: each field's approved value and whether an approver changed it. */
  edited: Record<string, { value: string; was_edited: boolean }> | null
}

/** Checks a request body; every problem at once, with the field it is about. */
export function parseApprovalRequest(body: unknown): ApprovalRequest {
  const parsed = approvalRequestSchema.safeParse(body)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
  throw new AppError(
    'invalid_request',
    `The approval request is invalid: ${problems.map((p) => `${p.path || 'body'}: ${p.message}`).join('; ')}.`,
    {
      status: 400,
      hint: 'Send {title, body?, diff?, payload?, approvers?: {users, usergroups}, required?, timeout?, channel?, idempotency_key?}.',
      details: { problems },
    },
  )
}

export function createApprovalRequests(deps: { runs: Runs; reads: RunReads }) {
  const { runs, reads } = deps

  async function outcome(run: RunRecord): Promise<RequestOutcome> {
    const [wait] = await reads.listWaits({ runId: run.id, kind: 'approval', limit: 1 })
    const votes = wait ? await reads.votes(wait.id) : []
    const result = (wait?.result ?? null) as {
      decision?: RequestDecision
      comment?: string | null
      edited?: RequestOutcome['edited']
    } | null
    const ended = isTerminal(run.status) ? (run.status === 'canceled' ? 'canceled' : 'failed') : null
    const decision = result?.decision ?? ended
    return {
      run,
      wait: wait ?? null,
      votes,
      decision,
      comment: result?.comment ?? null,
      edited: result?.edited ?? null,
    }
  }

  return {
    /** Starts the request's run, or answers the run an earlier request with the same key started. */
    async start(
      request: ApprovalRequest,
      who: { initiator: string; credential: Credential },
    ): Promise<{ run: RunRecord; created: boolean }> {
      const key = request.idempotency_key
      try {
        const run = await runs.start({
          slug: REQUEST_FLOW_SLUG,
          inputs: requestInputs(request),
          initiator: who.initiator,
          credential: who.credential,
          trigger: 'api',
          slack: request.channel ? { channel: request.channel } : null,
          // The key is the asker's own: two agents picking the same key still ask twice.
          ...(key === undefined
            ? {}
            : {
                claim: { kind: 'webhook_delivery', dedupeKey: JSON.stringify(['request', who.initiator, key]) },
                triggerDetails: { idempotency_key: key },
              }),
        })
        // Its one step parks at once: answered when the approval is open, its message and tally known.
        return { run: (await runs.settle(run.id, OPEN_WAIT_MS, 'parked')).run, created: true }
      } catch (error) {
        const earlier = isAppError(error) && error.code === 'duplicate_delivery' ? error.details.run_id : undefined
        if (typeof earlier !== 'string') throw error
        return { run: await runs.requireRun(earlier), created: false }
      }
    },

    /** The request's state, after waiting up to `waitMs` for it to be decided. */
    async outcome(runId: string, waitMs: number): Promise<RequestOutcome> {
      const run = await runs.requireRun(runId)
      if (run.flowSlug !== REQUEST_FLOW_SLUG) {
        throw new AppError('not_an_approval_request', `Run ${runId} is a run of '${run.flowSlug}', not a request.`, {
          status: 404,
          hint: "Read it with 'greenlight runs show'.",
        })
      }
      const settled = waitMs > 0 ? (await runs.settle(runId, waitMs, 'ended')).run : run
      return outcome(settled)
    },
  }
}

export type ApprovalRequests = ReturnType<typeof createApprovalRequests>
