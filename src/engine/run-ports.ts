// The engine's storage port for runs: read models and one atomic unit of work (a Transition) per state change.
import type { VoteSummary } from '../core/approvals/policy.ts'
import type { Cursor, RunStatus, WaitKind, WaitStatus } from '../core/run-status.ts'

export interface RunRecord {
  id: string
  flowSlug: string
  revisionId: number
  version: number | null
  status: RunStatus
  inputs: Record<string, unknown>
  initiator: string
  trigger: string
  concurrencyKey: string | null
  cursor: Cursor
  waitingOn: WaitingOn | null
  output: unknown
  error: RunErrorInfo | null
  leaseOwner: string | null
  leaseExpiresAt: number | null
  runnableAt: number | null
  slack: unknown
  eventCount: number
  /** Claims from an instance that died holding the lease, since the run's last commit. */
  takeovers: number
  /** A child run (started by a `flow` step): the parent run, and the step visit its end completes. */
  parentRunId?: string | null
  parentStep?: string | null
  parentVisit?: number | null
  /** How deep in a chain of child flows (0: started by nobody's step). */
  depth?: number
  createdAt: number
  startedAt: number | null
  endedAt: number | null
  updatedAt: number
}

export interface WaitingOn {
  step: string
  kind: WaitKind
  wait_id?: string
  until?: number
}

export interface RunErrorInfo {
  code: string
  message: string
  step?: string
  /** What to do about it, when the step's error said (an unlisted connection, a missing requirement). */
  hint?: string
  details?: unknown
}

export interface StepRunRecord {
  runId: string
  stepId: string
  visit: number
  kind: string
  status: 'succeeded' | 'failed' | 'skipped'
  attempt: number
  output: unknown
  error: unknown
  billable: boolean
  startedAt: number
  endedAt: number | null
}

export interface WaitRecord {
  id: string
  runId: string
  stepId: string
  visit: number
  kind: WaitKind
  status: WaitStatus
  deadlineAt: number | null
  spec: Record<string, unknown> | null
  digest: string | null
  payload: unknown
  payloadHash: string | null
  result: unknown
  jobType: string | null
  leaseOwner: string | null
  leaseExpiresAt: number | null
  attempts: number
  createdAt: number
  completedAt: number | null
}

export interface VoteRecord {
  waitId: string
  voter: string
  decision: string
  comment: string | null
  digest: string
  via: string
  /** The API token that cast it (null through Slack). */
  tokenId?: string | null
  tokenName?: string | null
  at: number
}

export interface RunEventRecord {
  runId: string
  seq: number
  type: string
  at: number
  actor: string | null
  stepId: string | null
  data: unknown
  prevHash: string
  hash: string
}

export interface TimerRecord {
  id: number
  kind: string
  key: string
  runId: string | null
  waitId: string | null
  fireAt: number
  data: Record<string, unknown> | null
}

export interface NewEvent {
  type: string
  actor?: string | null
  stepId?: string | null
  data?: unknown
}

export type RunPatch = Partial<
  Pick<
    RunRecord,
    | 'status'
    | 'cursor'
    | 'waitingOn'
    | 'output'
    | 'error'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'runnableAt'
    | 'startedAt'
    | 'endedAt'
    | 'slack'
    | 'takeovers'
  >
>

export interface TimerArm {
  key: string
  kind: string
  fireAt: number
  waitId?: string | null
  data?: Record<string, unknown> | null
}

/** Everything one state change writes, applied in one transaction or not at all. */
export interface Transition {
  runId: string
  at: number
  /** The change applies only if the run is still leased by this owner… */
  fenceOwner?: string
  /** …or still in one of these statuses. */
  fenceStatus?: readonly RunStatus[]
  run?: RunPatch
  stepRun?: Omit<StepRunRecord, 'runId'>
  /** Results of the pure steps that ran right after `stepRun`, inside the same transaction (see inline-steps.ts). */
  moreStepRuns?: Omit<StepRunRecord, 'runId'>[]
  events?: NewEvent[]
  insertWait?: Omit<WaitRecord, 'leaseOwner' | 'leaseExpiresAt' | 'attempts' | 'completedAt'>
  /** Updates a wait only if its status is still `fromStatus`; otherwise the whole transition is abandoned. */
  updateWait?: { id: string; fromStatus: WaitStatus[]; patch: Partial<WaitRecord> }
  insertVote?: VoteRecord
  armTimers?: TimerArm[]
  /** Moves pending timers of this run (by exact key) to a new time. */
  rescheduleTimers?: { key: string; fireAt: number }[]
  /** Cancels this run's pending timers whose key starts with one of these prefixes. */
  cancelTimers?: string[]
  /** When the run leaves the active statuses: start the oldest queued run of the same flow and key, if any. */
  releaseSlot?: { flowSlug: string; key: string | null; limit: number }
  /**
   * Other runs to cancel first (a retry under `on_conflict: cancel_running` replaces the runs holding its key), the
   * same way a new start cancels them: their open waits and pending timers die with them.
   */
  cancelRuns?: { ids: string[]; actor: string | null }
  /**
   * Billable executions that end no step: a failed attempt that will be retried. Billable step results (`stepRun`,
   * `moreStepRuns`) are counted by the store itself, so every attempt is billed once.
   */
  billAttempts?: { stepId: string; visit: number; attempt: number; kind: string; at: number }[]
  /** The timer this transition fires; it applies only if the timer is still pending, so a timer fires once. */
  fireTimer?: number
  /** A child run a `flow` step starts, created in the same transaction as the step's park (or its result). */
  createRun?: {
    input: NewRun
    concurrency: { limit: number; onConflict: 'queue' | 'skip' | 'cancel_running' } | null
  }
  /** Extra writes in the same transaction (kv steps); receives the store's transaction handle. */
  effect?: (tx: unknown) => Promise<unknown>
  /** The effect's result is the step's output (and the run's, if the run ends here). */
  effectIsOutput?: boolean
}

export interface CommitResult {
  ok: boolean
  /** Why the transition did not apply: the fence or the wait's status no longer matched, or the vote exists. */
  conflict?: 'fence' | 'wait_status' | 'duplicate_vote' | 'timer_fired'
  effectResult?: unknown
  /** A queued run that this commit started. */
  promoted?: string
  /** Parent runs this commit resumed (a child run ended and completed their `flow` step), leased to the committer. */
  resumed?: string[]
  /** The child run `createRun` created, or the one an earlier visit of the step created. */
  created?: string
}

/**
 * Called inside the transaction that ends a child run: the transition that completes its parent's step, or null
 * when the parent no longer waits on it. The store applies it in that same transaction.
 */
export type RunEndHook = (view: TxView, child: RunRecord) => Promise<Transition | null>

export interface NewRun {
  run: Omit<RunRecord, 'eventCount' | 'leaseExpiresAt' | 'leaseOwner' | 'takeovers'> & {
    leaseOwner?: string | null
    leaseExpiresAt?: number | null
  }
  events: NewEvent[]
  /** Active runs of the same flow and key that must be canceled first (on_conflict: cancel_running). */
  cancel?: string[]
  /** A schedule tick or webhook delivery that may start one run only; recorded in the run's transaction. */
  claim?: TriggerClaim
}

/**
 * What makes a triggered start unique: a schedule's tick, or a webhook request's dedupe key (for good) and signed
 * message (for its replay window, so a replay with a fresh unsigned delivery id is still a duplicate).
 */
export type TriggerClaim =
  | { kind: 'schedule_tick'; schedule: string; tickAt: number }
  | { kind: 'webhook_delivery'; dedupeKey?: string; signed?: { fingerprint: string; windowMs: number } }

export interface RunQuery {
  flow?: string
  /** Child runs of this run (started by its `flow` steps). */
  parent?: string
  /** Runs this person (or token) started. */
  initiator?: string
  status?: RunStatus[]
  limit: number
  before?: string
}

/** Consistent reads inside a write transaction, for decisions that depend on the current state (votes, waits). */
export interface TxView {
  getRun(id: string): Promise<RunRecord | undefined>
  getWait(id: string): Promise<WaitRecord | undefined>
  getWaitAt(runId: string, stepId: string, visit: number): Promise<WaitRecord | undefined>
  votes(waitId: string): Promise<VoteRecord[]>
  stepRuns(runId: string): Promise<StepRunRecord[]>
  /** The other runs of this flow and concurrency key that hold or wait for its slot (active or queued), oldest first. */
  concurrencyHolders(flowSlug: string, key: string | null, exceptRunId: string): Promise<string[]>
  /**
   * The tally's inputs for the votes on `digest`, without reading them all, and whether `voter` already cast
   * `decision` on it.
   */
  voteSummary(
    waitId: string,
    digest: string,
    voter: string,
    decision: string,
  ): Promise<{ summary: VoteSummary; voted: boolean }>
}

export interface UsageRow {
  flow: string
  kind: string
  executions: number
  promptTokens: number
  completionTokens: number
  totalTokens: number
}

export interface RunStore {
  /**
   * Runs `decide` inside one write transaction and applies the transition it returns (if any), atomically.
   * Aborts (returning the conflict) when a fence in the transition fails.
   */
  transact<T>(
    decide: (view: TxView) => Promise<{ transition: Transition | null; result: T }>,
  ): Promise<{ result: T; commit: CommitResult | null }>
  createRun(
    input: NewRun,
    concurrency: { limit: number; onConflict: 'queue' | 'skip' | 'cancel_running' } | null,
  ): Promise<{ run: RunRecord; skippedBecause?: string[]; duplicateOf?: string | null }>
  commit(t: Transition): Promise<CommitResult>
  /** Sets what every transaction that ends a child run also does to its parent (the engine's child flows). */
  onRunEnd?(hook: RunEndHook): void
  getRun(id: string): Promise<RunRecord | undefined>
  listRuns(query: RunQuery): Promise<RunRecord[]>
  stepRuns(runId: string): Promise<StepRunRecord[]>
  /** The run's events in order; only those after `afterSeq` when given. */
  events(runId: string, afterSeq?: number): Promise<RunEventRecord[]>
  /** Leases up to `limit` runs that are running and due (unleased or with an expired lease). */
  claimRunnable(owner: string, now: number, leaseMs: number, limit: number): Promise<RunRecord[]>
  /** Takes the lease of one run if it is free; used to continue a run right after a callback resumes it. */
  claimRun(id: string, owner: string, now: number, leaseMs: number): Promise<RunRecord | undefined>
  renewLease(id: string, owner: string, until: number): Promise<boolean>
  releaseLeases(owner: string): Promise<void>
  getWait(id: string): Promise<WaitRecord | undefined>
  getWaitAt(runId: string, stepId: string, visit: number): Promise<WaitRecord | undefined>
  listWaits(query: {
    status?: WaitStatus[]
    runId?: string
    kind?: WaitKind
    limit: number
    /** Skips this many of the newest first (paging). */
    offset?: number
    /**
     * Only approvals that may wait on this Slack user: they list the user (as an approver or by escalation), or name
     * a user group or a channel, or nobody (the run's channel). A superset the caller narrows with the real rules; it
     * lets the App Home skip, in SQL, the approvals that list other people only.
     */
    mayWaitOn?: string
  }): Promise<WaitRecord[]>
  votes(waitId: string): Promise<VoteRecord[]>
  /** Stores a callback that arrived before its wait; false if one is already there. */
  insertEarlyWait(
    wait: Omit<WaitRecord, 'leaseOwner' | 'leaseExpiresAt' | 'attempts' | 'completedAt'>,
  ): Promise<boolean>
  claimDueTimers(owner: string, now: number, claimMs: number, limit: number): Promise<TimerRecord[]>
  /** Marks a claimed timer done without other changes (its target no longer needs it). */
  finishTimer(id: number, at: number): Promise<void>
  /** Billed executions and the tokens they used, per flow and step kind, started in [fromMs, toMs). */
  usage(fromMs: number, toMs: number): Promise<UsageRow[]>
}
