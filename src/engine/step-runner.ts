// What a step runner is: given the evaluated configuration of one step visit, produce an outcome.

import type { Logger } from 'pino'
import type { EvaluateOptions, StepKind } from '../core/flow/index.ts'
import type { WaitKind } from '../core/run-status.ts'
import type { CompiledStep } from './compiled-flow.ts'
import type { ResourceStore } from './resources.ts'
import type { NewEvent, RunRecord, TimerArm, Transition } from './run-ports.ts'

export interface StepContext {
  run: RunRecord
  step: CompiledStep
  visit: number
  attempt: number
  /** The kind's configuration with {{ }} evaluated. */
  config: Record<string, unknown>
  scope: Record<string, unknown>
  /** `<run>:<step>:<visit>`: the same on every retry of a visit, so targets can deduplicate. */
  idempotencyKey: string
  signal: AbortSignal
  now: number
  logger: Logger
  resources: ResourceStore
  /** How expressions evaluated by the runner may run (inside a transaction: never in isolation). */
  expressions: EvaluateOptions
}

export interface ParkRequest {
  kind: WaitKind
  /** A child run to create in the same transaction as the wait (a `flow` step). */
  createRun?: Transition['createRun']
  spec: Record<string, unknown>
  deadlineAt: number | null
  digest?: string | null
  jobType?: string | null
  timers?: TimerArm[]
  events?: NewEvent[]
}

export type StepOutcome =
  | { type: 'done'; output: unknown; events?: NewEvent[]; createRun?: Transition['createRun'] }
  /** Output computed inside the commit transaction (kv): exactly once with the run's advance. */
  | { type: 'effect'; effect: (tx: unknown) => Promise<unknown>; events?: NewEvent[] }
  | { type: 'park'; park: ParkRequest }

export interface StepRunner {
  kind: StepKind
  /** Counted by `greenlight usage`; triggers, waits, approvals, inputs and sleeps are not. */
  billable: boolean
  /**
   * Computes its output from the scope alone, with no effect anywhere and nothing awaited but its own evaluation, so
   * it may run inside the transaction that resumes its run (inline-steps.ts).
   */
  pure?: boolean
  run(ctx: StepContext): Promise<StepOutcome>
}

/** A kv step's operation, applied by the store inside the commit transaction. */
export interface KvOperation {
  op: 'get' | 'set' | 'delete' | 'incr' | 'append'
  key: string
  value?: unknown
  ttlMs?: number
  ifNotExists?: boolean
  now: number
}

export interface KvResult {
  key: string
  value: unknown
  existed: boolean
  written?: boolean
}

/** The port the kv step runs its operation through: the store implements it on the step's commit transaction. */
export type KvEffect = (op: KvOperation) => (tx: unknown) => Promise<KvResult>
