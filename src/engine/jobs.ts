// Pull-based jobs: workers claim open `job` waits of their type under a lease, heartbeat, and complete or fail them.
// Completion is fenced by the lease token in the same transaction as the run's advance, so it happens exactly once:
// a worker whose lease was taken over (it stalled past the lease) is refused with 409.

import { randomBytes } from 'node:crypto'
import { specOf } from '../core/wait-spec.ts'
import { conflict, notFound } from '../errors.ts'
import { payloadHash } from './callbacks.ts'
import type { EngineDeps } from './engine-deps.ts'
import { continueInline } from './inline-steps.ts'
import { externalize } from './resources.ts'
import type { WaitRecord } from './run-ports.ts'
import { createSettle } from './settle.ts'
import { resolveWait, routeFailure } from './transitions.ts'

export interface ClaimedJob {
  id: string
  runId: string
  stepId: string
  visit: number
  spec: unknown
  attempts: number
  leaseExpiresAt: number | null
  deadlineAt: number | null
}

export interface JobLeaseStore {
  /** Leases the oldest claimable job of `type` (open, unleased or lease expired) to `lease`; bumps its attempts. */
  claim(type: string, now: number, leaseMs: number, lease: string): Promise<ClaimedJob | undefined>
  /** Extends the lease while `lease` still holds it; false once it was taken over or the job ended. */
  extend(id: string, lease: string, until: number): Promise<boolean>
}

export const MIN_LEASE_MS = 1_000
export const MAX_LEASE_MS = 3_600_000

const leaseLost = () =>
  conflict(
    'lease_lost',
    'This job is no longer leased to you (the lease expired and another worker took it, or the job ended).',
    {
      hint: 'Stop working on it; heartbeat more often than the lease length.',
    },
  )

export function createJobs(
  deps: EngineDeps & { leases: JobLeaseStore; resume: (runId: string, leased?: boolean) => void },
) {
  const { store, clock, leases } = deps
  const { commitAndContinue, transactAndContinue } = createSettle(deps, deps.resume)

  async function requireJob(id: string): Promise<WaitRecord> {
    const wait = await store.getWait(id)
    if (wait?.kind !== 'job') throw notFound('job_not_found', `No job with id '${id}'.`)
    return wait
  }

  async function resolve(
    id: string,
    lease: string,
    outcome: { type: 'complete'; result: unknown; raw: Buffer } | { type: 'fail'; reason: string },
  ): Promise<{ status: 'completed' | 'failed' | 'duplicate'; runId: string; step: string }> {
    const wait = await requireJob(id)
    const hash = outcome.type === 'complete' ? payloadHash(outcome.raw) : null
    let stored: unknown = null
    if (outcome.type === 'complete') {
      stored =
        wait.status === 'open' && wait.leaseOwner === lease
          ? (await externalize(deps.resources, outcome.result, deps.resourceThresholdBytes, wait.runId, outcome.raw))
              .value
          : outcome.result
    }
    const at = clock.now()
    const { result, commit } = await transactAndContinue(async (view) => {
      const current = await view.getWait(id)
      if (!current) return { transition: null, result: 'missing' as const }
      if (current.leaseOwner !== lease) return { transition: null, result: 'lost' as const }
      if (current.status !== 'open') {
        const same = outcome.type === 'complete' && current.status === 'completed' && current.payloadHash === hash
        return { transition: null, result: same ? ('duplicate' as const) : ('lost' as const) }
      }
      const run = await view.getRun(current.runId)
      if (run?.status !== 'waiting') return { transition: null, result: 'lost' as const }
      const flow = await deps.flowOf(run.revisionId)
      const step = flow.step(current.stepId)
      const common = { run, flow, wait: current, at, owner: deps.owner, leaseMs: deps.leaseMs, billable: true }
      if (outcome.type === 'complete') {
        const resolved = resolveWait({
          ...common,
          status: 'succeeded',
          output: stored,
          route: 'next',
          waitStatus: 'completed',
          waitPatch: { payload: stored, payloadHash: hash },
          events: [
            {
              type: 'job.completed',
              stepId: current.stepId,
              actor: `worker:${current.jobType}`,
              data: { job_id: id, attempt: current.attempts, bytes: outcome.raw.length },
            },
          ],
        })
        const transition = await continueInline(deps, view, run, flow, resolved)
        return { transition, result: 'completed' as const }
      }
      const error = {
        code: 'job_failed',
        message: outcome.reason.slice(0, 2000) || 'The worker reported a failure.',
        step: step.id,
      }
      return {
        transition: resolveWait({
          ...common,
          status: 'failed',
          ...routeFailure(step, error),
          error,
          waitStatus: 'failed',
          events: [
            {
              type: 'job.failed',
              stepId: current.stepId,
              actor: `worker:${current.jobType}`,
              data: { job_id: id, attempt: current.attempts, reason: error.message },
            },
          ],
        }),
        result: 'failed' as const,
      }
    })
    if (result === 'missing') throw notFound('job_not_found', `No job with id '${id}'.`)
    if (result === 'lost' || (commit !== null && !commit.ok)) throw leaseLost()
    return { status: result, runId: wait.runId, step: wait.stepId }
  }

  return {
    /** Leases one job of `type`, or undefined when none is waiting. */
    async claim(type: string, leaseMs: number) {
      const lease = randomBytes(16).toString('hex')
      const now = clock.now()
      const job = await leases.claim(type, now, leaseMs, lease)
      if (!job) return undefined
      const spec = specOf({ kind: 'job', spec: job.spec as Record<string, unknown> | null }, 'job')
      return {
        id: job.id,
        type,
        run_id: job.runId,
        step: job.stepId,
        visit: job.visit,
        attempt: job.attempts,
        lease,
        lease_ms: leaseMs,
        lease_expires_at: new Date(job.leaseExpiresAt ?? now + leaseMs).toISOString(),
        deadline_at: job.deadlineAt === null ? null : new Date(job.deadlineAt).toISOString(),
        payload: spec.payload ?? null,
      }
    },

    async heartbeat(id: string, lease: string, leaseMs: number, progress?: string) {
      const wait = await requireJob(id)
      const at = clock.now()
      if (!(await leases.extend(id, lease, at + leaseMs))) throw leaseLost()
      if (progress) {
        // Progress shows in the run's thread like a callback heartbeat's; the lease itself is not an event.
        await commitAndContinue({
          runId: wait.runId,
          at,
          events: [{ type: 'wait.heartbeat', stepId: wait.stepId, data: { progress: progress.slice(0, 2000) } }],
        })
      }
      return { id, lease_expires_at: new Date(at + leaseMs).toISOString() }
    },

    complete: (id: string, lease: string, result: unknown, raw: Buffer) =>
      resolve(id, lease, { type: 'complete', result, raw }),

    fail: (id: string, lease: string, reason: string) => resolve(id, lease, { type: 'fail', reason }),
  }
}

export type Jobs = ReturnType<typeof createJobs>
