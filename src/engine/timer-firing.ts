// What each durable timer does when it fires; every firing is one transaction that also marks the timer fired.

import { tally } from '../core/approval-policy.ts'
import { DEFAULT_APPROVAL_ROUTES, type Route } from '../core/flow/index.ts'
import type { EngineDeps } from './engine-deps.ts'
import type { TimerRecord, Transition } from './run-ports.ts'
import { resolveWait, routeFailure } from './transitions.ts'

export function createTimerFiring(deps: EngineDeps, resume: (runId: string, leased?: boolean) => void) {
  const { store, clock } = deps

  async function decide(timer: TimerRecord): Promise<Transition | null> {
    if (!timer.runId || !timer.waitId) return null
    const wait = await store.getWait(timer.waitId)
    const run = await store.getRun(timer.runId)
    if (!wait || !run || wait.status !== 'open' || run.status !== 'waiting') return null
    const flow = await deps.flowOf(run.revisionId)
    const at = clock.now()
    const common = { run, flow, wait, at, owner: deps.owner, leaseMs: deps.leaseMs }
    switch (timer.kind) {
      case 'wake':
        return resolveWait({
          ...common,
          status: 'succeeded',
          output: { until: wait.spec?.until ?? new Date(at).toISOString() },
          route: 'next',
          waitStatus: 'completed',
          events: [{ type: 'sleep.ended', stepId: wait.stepId, data: {} }],
        })
      case 'wait_timeout': {
        const proceed = wait.spec?.on_timeout === 'continue'
        const error = {
          code: `${wait.kind}_timed_out`,
          message: `Step '${wait.stepId}' timed out waiting.`,
          step: wait.stepId,
        }
        // `on_timeout: fail` fails the step, which then goes where its `on_error` says, as an agent's /fail does.
        const routed = proceed
          ? { route: 'next' as const, output: wait.spec?.default ?? null }
          : routeFailure(flow.step(wait.stepId), error)
        return resolveWait({
          ...common,
          status: proceed ? 'succeeded' : 'failed',
          ...routed,
          error: proceed ? null : error,
          waitStatus: 'timed_out',
          failStatus: 'timed_out',
          events: [{ type: 'wait.timed_out', stepId: wait.stepId, data: { wait_id: wait.id } }],
        })
      }
      case 'approval_timeout': {
        const votes = await store.votes(wait.id)
        const t = tally(votes as never, Number(wait.spec?.required ?? 1), wait.digest ?? '')
        const route = ((wait.spec?.on as Record<string, Route> | undefined)?.timed_out ??
          DEFAULT_APPROVAL_ROUTES.timed_out) as Route
        return resolveWait({
          ...common,
          status: 'succeeded',
          output: {
            decision: 'timed_out',
            votes: votes.map((v) => ({
              user: v.voter,
              decision: v.decision,
              comment: v.comment,
              at: new Date(v.at).toISOString(),
            })),
            comment: null,
            digest: wait.digest,
            approvals: t.approvals,
          },
          error:
            route === 'fail'
              ? { code: 'approval_timed_out', message: `Nobody decided '${wait.stepId}' in time.` }
              : null,
          route,
          waitStatus: 'timed_out',
          failStatus: 'timed_out',
          events: [
            { type: 'approval.timed_out', stepId: wait.stepId, data: { wait_id: wait.id, approvals: t.approvals } },
          ],
        })
      }
      case 'approval_remind': {
        const n = Number(timer.data?.n ?? 1)
        const every = Number(wait.spec?.remind_every_ms ?? 0)
        const votes = await store.votes(wait.id)
        const t = tally(votes as never, Number(wait.spec?.required ?? 1), wait.digest ?? '')
        return {
          runId: run.id,
          at,
          events: [
            {
              type: 'approval.reminded',
              stepId: wait.stepId,
              data: { wait_id: wait.id, reminder: n, approvals: t.approvals, required: t.required },
            },
          ],
          armTimers:
            every > 0
              ? [
                  {
                    key: `w:${wait.id}:remind:${n + 1}`,
                    kind: 'approval_remind',
                    fireAt: timer.fireAt + every,
                    waitId: wait.id,
                    data: { n: n + 1 },
                  },
                ]
              : [],
        }
      }
      case 'approval_escalate': {
        const to = (wait.spec?.escalate as { to?: { users?: string[]; usergroups?: string[] } } | null)?.to ?? {}
        const members =
          (to.usergroups?.length ?? 0) > 0 ? await deps.directory.members(to.usergroups ?? [], null) : null
        const added = [...new Set([...(to.users ?? []), ...(members ?? [])])]
        const spec = {
          ...wait.spec,
          escalated_to: [...new Set([...((wait.spec?.escalated_to as string[]) ?? []), ...added])],
        }
        return {
          runId: run.id,
          at,
          updateWait: { id: wait.id, fromStatus: ['open'], patch: { spec } },
          events: [
            {
              type: 'approval.escalated',
              stepId: wait.stepId,
              data: { wait_id: wait.id, to: added, usergroups: to.usergroups ?? [] },
            },
          ],
        }
      }
      default:
        deps.logger.warn({ timer: timer.kind }, 'unknown timer kind')
        return null
    }
  }

  return async function fire(timer: TimerRecord): Promise<void> {
    const transition = await decide(timer)
    if (!transition) {
      await store.finishTimer(timer.id, clock.now())
      return
    }
    const commit = await store.commit({ ...transition, fireTimer: timer.id })
    if (commit.ok) {
      deps.onRunChange?.(transition.runId)
      if (transition.run?.status === 'running') resume(transition.runId, true)
      if (commit.promoted) resume(commit.promoted)
    }
  }
}
