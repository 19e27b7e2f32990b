// What each durable timer does when it fires; every firing is one transaction that also marks the timer fired.
// Approval timers (timeout, reminders, escalation) belong to the approvals (engine/approvals.ts).
import { specOf } from '../core/wait-spec.ts'
import { APPROVAL_TIMERS, type Approvals } from './approvals.ts'
import type { EngineDeps } from './engine-deps.ts'
import type { TimerRecord, Transition } from './run-ports.ts'
import { createSettle } from './settle.ts'
import { resolveWait, routeFailure } from './transitions.ts'

export function createTimerFiring(
  deps: EngineDeps,
  approvals: Pick<Approvals, 'fired'>,
  resume: (runId: string, leased?: boolean) => void,
) {
  const { store, clock } = deps
  const { commitAndContinue } = createSettle(deps, resume)

  async function decide(timer: TimerRecord): Promise<Transition | null> {
    if (!timer.runId || !timer.waitId) return null
    const wait = await store.getWait(timer.waitId)
    const run = await store.getRun(timer.runId)
    if (!wait || !run || wait.status !== 'open' || run.status !== 'waiting') return null
    const flow = await deps.flowOf(run.revisionId)
    if (APPROVAL_TIMERS.has(timer.kind))
      return wait.kind === 'approval' ? approvals.fired(timer, wait, run, flow) : null
    const at = clock.now()
    const common = { run, flow, wait, at, owner: deps.owner, leaseMs: deps.leaseMs }
    switch (timer.kind) {
      case 'wake':
        return resolveWait({
          ...common,
          status: 'succeeded',
          output: { until: (wait.kind === 'sleep' && specOf(wait, 'sleep').until) || new Date(at).toISOString() },
          route: 'next',
          waitStatus: 'completed',
          events: [{ type: 'sleep.ended', stepId: wait.stepId, data: {} }],
        })
      case 'wait_timeout': {
        const spec = wait.kind === 'wait' ? specOf(wait, 'wait') : null
        const proceed = spec?.onTimeout === 'continue'
        const error = {
          code: `${wait.kind}_timed_out`,
          message: `Step '${wait.stepId}' timed out waiting.`,
          step: wait.stepId,
        }
        // `on_timeout: fail` fails the step, which then goes where its `on_error` says, as an agent's /fail does.
        const routed = proceed
          ? { route: 'next' as const, output: spec?.default ?? null }
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
    await commitAndContinue({ ...transition, fireTimer: timer.id })
  }
}
