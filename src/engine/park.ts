// What a step that parks asks for (wait, input, job, approval, sleep, a child flow): one builder, so every kind
// gets its deadline and its timeout timer the same way and the interpreter opens every wait through openWait.
import { parseDuration } from '../core/flow/index.ts'
import type { WaitKind } from '../core/run-status.ts'
import type { NewEvent, TimerArm, Transition } from './run-ports.ts'
import type { StepOutcome } from './step-runner.ts'

export interface ParkOptions {
  /** The step's `timeout` (a duration): the wait's deadline, armed as a timer of `timeoutTimer`. */
  timeout?: string | undefined
  /** The timer that ends the wait at its deadline (default `wait_timeout`; approvals have their own). */
  timeoutTimer?: 'wait_timeout' | 'approval_timeout'
  /** A deadline given outright (a sleep's wake time), instead of `timeout`. */
  deadlineAt?: number
  digest?: string
  jobType?: string
  /** More timers (reminders, escalations, a sleep's wake). */
  timers?: TimerArm[]
  events?: NewEvent[]
  /** A child run created with the wait (a `flow` step). */
  createRun?: Transition['createRun']
}

export function parkFor(
  now: number,
  kind: WaitKind,
  spec: Record<string, unknown>,
  options: ParkOptions = {},
): Extract<StepOutcome, { type: 'park' }> {
  const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout)
  const deadlineAt = options.deadlineAt ?? (timeoutMs === undefined ? null : now + timeoutMs)
  const timeoutTimers: TimerArm[] =
    timeoutMs === undefined || deadlineAt === null
      ? []
      : [{ key: 'timeout', kind: options.timeoutTimer ?? 'wait_timeout', fireAt: deadlineAt }]
  return {
    type: 'park',
    park: {
      kind,
      spec,
      deadlineAt,
      timers: [...timeoutTimers, ...(options.timers ?? [])],
      ...(options.digest === undefined ? {} : { digest: options.digest }),
      ...(options.jobType === undefined ? {} : { jobType: options.jobType }),
      ...(options.events === undefined ? {} : { events: options.events }),
      ...(options.createRun === undefined ? {} : { createRun: options.createRun }),
    },
  }
}
