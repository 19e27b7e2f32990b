// Where a retry may resume: never at or past an approval that did not grant the artifact the run now carries.
import type { RunEventRecord, RunRecord, StepRunRecord, WaitRecord } from './run-ports.ts'

/**
 * What an approval's latest visit left: a decision, or why there is none. `superseded`: it was approved, but a step
 * before it produced a new output since, so the artifact the run carries is not the one approved.
 */
export type ApprovalStanding =
  | 'approved'
  | 'skipped'
  | 'rejected'
  | 'changes_requested'
  | 'timed_out'
  | 'canceled'
  | 'open'
  | 'failed'
  | 'undecided'
  | 'not_reached'
  | 'superseded'

/** What the gate reads of a run: its cursor, its flow's steps in order, and its history. */
export interface RetryHistory {
  run: Pick<RunRecord, 'cursor'>
  steps: readonly { id: string; kind: string }[]
  stepRuns: readonly StepRunRecord[]
  /** The wait of each approval's latest visit (others may be left out). */
  waits: readonly WaitRecord[]
  /** In run order (by seq). */
  events: readonly RunEventRecord[]
}

export type RetryCheck = { ok: true } | { ok: false; approval: string; outcome: ApprovalStanding }

/** Outcomes people or a timer decided, whose route the flow chose (the run may have gone on past them by design). */
const DECIDED: ReadonlySet<ApprovalStanding> = new Set(['rejected', 'changes_requested', 'timed_out'])
const GRANTED: ReadonlySet<ApprovalStanding> = new Set(['approved', 'skipped'])
/** At the approval itself: asking again about the artifact people turned down (or never answered) is refused. */
const REFUSED_HERE: ReadonlySet<ApprovalStanding> = new Set([...DECIDED, 'canceled', 'open'])
const STEP_RESULTS: ReadonlySet<string> = new Set(['step.succeeded', 'step.failed', 'step.skipped'])

function standingOf(h: RetryHistory, approval: string): ApprovalStanding {
  const visit = h.run.cursor.visits[approval] ?? 0
  if (visit === 0) return 'not_reached'
  const result = h.stepRuns.find((s) => s.stepId === approval && s.visit === visit)
  if (result?.status === 'skipped') return 'skipped'
  if (result) {
    // A decision people (or the timeout) made stands whatever the step's status: a "no" that failed the run reads
    // `failed` but is still a "no".
    const decision = (result.output as { decision?: unknown } | null)?.decision
    if (decision === 'approved' || (typeof decision === 'string' && DECIDED.has(decision as ApprovalStanding)))
      return decision as ApprovalStanding
    return result.status === 'failed' ? 'failed' : 'undecided'
  }
  const wait = h.waits.find((w) => w.stepId === approval && w.visit === visit)
  return wait?.status === 'open' || wait?.status === 'canceled' || wait?.status === 'timed_out'
    ? wait.status
    : 'undecided'
}

/** The seq of the last event of `step`, or -1. */
function lastSeqOf(events: readonly RunEventRecord[], step: string): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]?.stepId === step) return events[i]?.seq ?? -1
  return -1
}

/**
 * Whether a retry may start at `from`. Every approval before it in the flow must have granted the current artifact:
 * its latest visit approved (or skipped by its `if`) with no step before it producing a new output since, or
 * decided by people and routed on by the flow to `from` itself (a `continue` or a `goto`), so the retry repeats what
 * the run already did. An approval that was not granted cannot be retried at either: only a step before it, which
 * produces a new artifact and so asks again.
 */
export function checkRetryFrom(h: RetryHistory, from: string): RetryCheck {
  const at = h.steps.findIndex((s) => s.id === from)
  for (let index = 0; index <= at; index++) {
    const step = h.steps[index]
    if (step?.kind !== 'approval') continue
    let outcome = standingOf(h, step.id)
    if (step.id === from) {
      if (REFUSED_HERE.has(outcome)) return { ok: false, approval: step.id, outcome }
      continue
    }
    const since = lastSeqOf(h.events, step.id)
    const earlier = new Set(h.steps.slice(0, index).map((s) => s.id))
    const produced = h.events.some(
      (e) => e.seq > since && e.stepId !== null && earlier.has(e.stepId) && STEP_RESULTS.has(e.type),
    )
    if (produced && GRANTED.has(outcome)) outcome = 'superseded'
    const reachedByFlow =
      DECIDED.has(outcome) && (h.run.cursor.step === from || h.events.some((e) => e.seq > since && e.stepId === from))
    if (produced || !(GRANTED.has(outcome) || reachedByFlow)) return { ok: false, approval: step.id, outcome }
  }
  return { ok: true }
}

/** The latest step at or before `from` (in flow order) that a retry may start at, or null when none may. */
export function latestAllowed(h: RetryHistory, from: string): string | null {
  for (let index = h.steps.findIndex((s) => s.id === from); index >= 0; index--) {
    const step = h.steps[index]
    if (step && checkRetryFrom(h, step.id).ok) return step.id
  }
  return null
}
