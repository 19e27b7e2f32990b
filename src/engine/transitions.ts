// Builders for the common state changes: finish a step and move on, fail a run, park. Pure: they only describe.
import type { Route } from '../core/flow/index.ts'
import { type Cursor, enter, type RunStatus } from '../core/run-status.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { NewEvent, RunErrorInfo, RunRecord, StepRunRecord, Transition, WaitRecord } from './run-ports.ts'

/**
 * Where a failed step goes by its `on_error` (default `fail`), and the output it leaves for the steps after it:
 * `{ error }` when the run goes on (`continue`, `goto`), nothing when it fails.
 */
export function routeFailure(
  step: { def: { on_error?: Route } },
  error: RunErrorInfo,
): { route: Route; output: { error: RunErrorInfo } | null } {
  const route = step.def.on_error ?? 'fail'
  return { route, output: route === 'fail' ? null : { error } }
}

export function releaseSlotOf(run: RunRecord, flow: CompiledFlow): Transition['releaseSlot'] {
  const concurrency = flow.definition.concurrency
  if (!concurrency) return undefined
  return { flowSlug: run.flowSlug, key: run.concurrencyKey, limit: concurrency.limit ?? 1 }
}

/** The run ends: terminal status, no lease, no timers, and its concurrency slot goes to the next queued run. */
export function endRun(
  run: RunRecord,
  flow: CompiledFlow,
  at: number,
  status: Extract<RunStatus, 'succeeded' | 'failed' | 'canceled' | 'timed_out'>,
  detail: {
    output?: unknown
    error?: RunErrorInfo | null
    actor?: string | null
    /** The API token behind the change (a cancel through the CLI), recorded in the event. */
    token?: { id: string; name: string } | null
    cursor?: Cursor
  },
): Transition {
  return {
    runId: run.id,
    at,
    run: {
      status,
      endedAt: at,
      leaseOwner: null,
      leaseExpiresAt: null,
      runnableAt: null,
      waitingOn: null,
      ...(detail.cursor ? { cursor: detail.cursor } : {}),
      ...(detail.output !== undefined ? { output: detail.output } : {}),
      error: detail.error ?? null,
    },
    cancelTimers: ['w:'],
    events: [
      {
        type: `run.${status}`,
        actor: detail.actor ?? null,
        data: {
          ...(detail.error ? { error: detail.error } : {}),
          ...(detail.token ? { token: detail.token } : {}),
        },
      },
    ],
    releaseSlot: releaseSlotOf(run, flow),
  }
}

/**
 * How one visit of a step ended: every path that records a step result (the interpreter, a step run inside a
 * callback's transaction, an early callback, a resolved wait) describes it this way, and `finishStep` builds it.
 */
export interface StepEnd {
  step: { id: string; kind: string }
  status: StepRunRecord['status']
  /** What the step result records, and what the steps after it read. */
  output: unknown
  /** What the run carries as its output when it ends here, when that differs from `output` (a routed failure). */
  runOutput?: unknown
  error?: RunErrorInfo | null
  billable: boolean
  startedAt: number
  route: Route | 'next'
  /** What ended the step (a callback, the deciding vote), recorded before the step's own end. */
  events?: NewEvent[]
  /** The visit and attempt it ends (default: the run's cursor; a resolved wait names its own visit). */
  visit?: number
  attempt?: number
}

interface StepResult {
  stepRun: Omit<StepRunRecord, 'runId'>
  output: unknown
  route: Route | 'next'
  events?: NewEvent[]
}

/**
 * The step is done: record its result and follow the route (next step, a goto, or the end of the run), in one
 * transition, so a completed step never runs again.
 */
export function finishStep(
  run: RunRecord,
  flow: CompiledFlow,
  at: number,
  end: StepEnd,
  failStatus: 'failed' | 'timed_out' = 'failed',
): { transition: Transition; cursor: Cursor } {
  const stepRun: Omit<StepRunRecord, 'runId'> = {
    stepId: end.step.id,
    visit: end.visit ?? run.cursor.visit,
    kind: end.step.kind,
    status: end.status,
    attempt: end.attempt ?? run.cursor.attempt,
    output: end.output,
    error: end.error ?? null,
    billable: end.billable,
    startedAt: end.startedAt,
    endedAt: at,
  }
  const output = 'runOutput' in end ? end.runOutput : end.output
  return moveOn(
    run,
    flow,
    at,
    { stepRun, output, route: end.route, ...(end.events ? { events: end.events } : {}) },
    failStatus,
  )
}

function moveOn(
  run: RunRecord,
  flow: CompiledFlow,
  at: number,
  result: StepResult,
  failStatus: 'failed' | 'timed_out',
): { transition: Transition; cursor: Cursor } {
  const stepId = result.stepRun.stepId
  // What ended the step (a callback, the deciding vote) is recorded before the step's own end.
  const events: NewEvent[] = [
    ...(result.events ?? []),
    {
      type:
        result.stepRun.status === 'failed'
          ? 'step.failed'
          : result.stepRun.status === 'skipped'
            ? 'step.skipped'
            : 'step.succeeded',
      stepId,
      data: {
        visit: result.stepRun.visit,
        attempt: result.stepRun.attempt,
        ...(result.stepRun.error ? { error: result.stepRun.error } : {}),
      },
    },
  ]
  if (result.route === 'fail') {
    const error = (result.stepRun.error as RunErrorInfo | null) ?? {
      code: 'step_failed',
      message: `Step '${stepId}' failed.`,
      step: stepId,
    }
    const end = endRun(run, flow, at, failStatus, { error: { ...error, step: stepId } })
    return {
      transition: { ...end, stepRun: result.stepRun, events: [...events, ...(end.events ?? [])] },
      cursor: run.cursor,
    }
  }
  const target = result.route === 'next' || result.route === 'continue' ? flow.next(stepId) : result.route.goto
  const cursor = enter(run.cursor, target)
  if (target === null) {
    const end = endRun(run, flow, at, 'succeeded', { output: result.output, cursor })
    return { transition: { ...end, stepRun: result.stepRun, events: [...events, ...(end.events ?? [])] }, cursor }
  }
  return {
    transition: {
      runId: run.id,
      at,
      stepRun: result.stepRun,
      run: { status: 'running', cursor, waitingOn: null, runnableAt: at },
      events,
    },
    cursor,
  }
}

export function errorInfo(error: unknown, step?: string): RunErrorInfo {
  const e = error as { code?: unknown; message?: unknown; hint?: unknown; details?: unknown }
  return {
    code: typeof e?.code === 'string' ? e.code : 'step_error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(step ? { step } : {}),
    ...(typeof e?.hint === 'string' && e.hint !== '' ? { hint: e.hint } : {}),
    ...(e?.details && Object.keys(e.details as object).length > 0 ? { details: e.details } : {}),
  }
}

export interface WaitResolution {
  run: RunRecord
  flow: CompiledFlow
  wait: WaitRecord
  at: number
  status: 'succeeded' | 'failed'
  output: unknown
  error?: RunErrorInfo | null
  route: Route | 'next'
  waitStatus: 'completed' | 'failed' | 'timed_out'
  events: NewEvent[]
  /** The instance that will continue the run right away (it takes the lease in the same transaction). */
  owner: string
  leaseMs: number
  failStatus?: 'failed' | 'timed_out'
  billable?: boolean
  /** More fields to set on the wait as it closes (the callback body and its hash). */
  waitPatch?: Partial<WaitRecord>
}

/** A parked step is resolved: close the wait, record the step, and make the run runnable (leased to `owner`). */
export function resolveWait(r: WaitResolution): Transition {
  const { transition } = finishStep(
    r.run,
    r.flow,
    r.at,
    {
      step: { id: r.wait.stepId, kind: r.wait.kind },
      visit: r.wait.visit,
      attempt: 1,
      status: r.status,
      output: r.output,
      error: r.error ?? null,
      // A job is billed however it ended: its worker, `waits complete`, `/fail` or its timeout.
      billable: r.billable ?? r.wait.kind === 'job',
      startedAt: r.wait.createdAt,
      route: r.route,
      events: r.events,
    },
    r.failStatus,
  )
  transition.fenceStatus = ['waiting']
  transition.updateWait = {
    id: r.wait.id,
    fromStatus: ['open'],
    patch: { status: r.waitStatus, result: r.output, completedAt: r.at, ...r.waitPatch },
  }
  // Only waits with a deadline, and approvals (reminders, escalation), ever armed timers.
  if (r.wait.deadlineAt !== null || r.wait.kind === 'approval') {
    transition.cancelTimers = [...(transition.cancelTimers ?? []), `w:${r.wait.id}:`]
  }
  if (transition.run?.status === 'running') {
    transition.run.leaseOwner = r.owner
    transition.run.leaseExpiresAt = r.at + r.leaseMs
  }
  return transition
}
