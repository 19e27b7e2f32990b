// Run and wait statuses (SPEC §3) and which changes between them are allowed.

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled', 'timed_out'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'canceled', 'timed_out']
/** Runs that hold a concurrency slot. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['running', 'waiting']

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status)
}

export function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value)
}

/** `flow`: a parent run waiting on a child run it started (a `flow` step). */
export type WaitKind = 'wait' | 'approval' | 'input' | 'job' | 'sleep' | 'flow'
/** `early`: a callback arrived before its wait step started; it is consumed when the step starts. */
export type WaitStatus = 'early' | 'open' | 'completed' | 'failed' | 'timed_out' | 'canceled'

/** Where the interpreter stands: the step to run next and how often each step has been entered. */
export interface Cursor {
  step: string | null
  visit: number
  attempt: number
  visits: Record<string, number>
  /** Each step's visits before the run's last retry: `max_visits` counts only the visits after it. */
  retriedAfter?: Record<string, number>
}

export const initialCursor = (firstStep: string | null): Cursor => ({
  step: firstStep,
  visit: 1,
  attempt: 1,
  visits: firstStep === null ? {} : { [firstStep]: 1 },
})

/** Enters `step` (or ends, with null): a new visit of it, first attempt. */
export function enter(cursor: Cursor, step: string | null): Cursor {
  if (step === null) return { ...cursor, step: null, visit: 0, attempt: 1 }
  const visit = (cursor.visits[step] ?? 0) + 1
  return {
    step,
    visit,
    attempt: 1,
    visits: { ...cursor.visits, [step]: visit },
    ...(cursor.retriedAfter ? { retriedAfter: cursor.retriedAfter } : {}),
  }
}

/** The cursor a retry resumes with: entering `step` anew, with a fresh `max_visits` budget for every step. */
export function enterForRetry(cursor: Cursor, step: string): Cursor {
  return enter({ ...cursor, retriedAfter: { ...cursor.visits } }, step)
}

/** How many times the current step has been entered, counted toward its `max_visits` (since the last retry). */
export function visitsCounted(cursor: Cursor): number {
  return cursor.step === null ? 0 : cursor.visit - (cursor.retriedAfter?.[cursor.step] ?? 0)
}
