// The durable interpreter: runs a leased run's steps until it parks, ends, or waits to retry. Every step result is
// committed together with the run's advance, fenced by the lease, so a completed step never runs again.
import { type EvaluateOptions, parseDuration } from '../core/flow/index.ts'
import { DEFAULT_MAX_RUN_EVENTS } from '../core/run-limits.ts'
import { isTerminal, visitsCounted } from '../core/run-status.ts'
import { AppError, RetryableError, TerminalError } from '../errors.ts'
import type { CompiledFlow, CompiledStep } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import { externalize } from './resources.ts'
import type { RunRecord, Transition } from './run-ports.ts'
import { buildScope, latestOutputs } from './scope.ts'
import type { StepOutcome } from './step-runner.ts'
import { endRun, errorInfo, finishStep, routeFailure } from './transitions.ts'
import { openWait, wakeOthers } from './wait-open.ts'

const truthy = (value: unknown): boolean =>
  !(
    value === false ||
    value === null ||
    value === undefined ||
    value === 0 ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  )

function withTimeout<T>(work: Promise<T>, ms: number | undefined, controller: AbortController): Promise<T> {
  if (ms === undefined) return work
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new RetryableError('step_timeout', `The step took longer than ${ms} ms.`))
    }, ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** Evaluates one step visit's configuration and runs its runner, within the step's `timeout`. */
export async function runStep(
  deps: EngineDeps,
  run: RunRecord,
  step: CompiledStep,
  scope: Record<string, unknown>,
  expressions: EvaluateOptions = {},
): Promise<StepOutcome> {
  const runner = deps.runners.get(step.kind)
  if (!runner) throw new TerminalError('no_runner', `Steps of kind '${step.kind}' cannot run on this server yet.`)
  let config = ((await namingStep(step, step.config.evaluate(scope, expressions))) ?? {}) as Record<string, unknown>
  // A step that parks returns at once, so its step-level timeout bounds the wait instead (unless the kind sets one).
  if (step.def.timeout !== undefined && PARKING_KINDS.has(step.kind) && config.timeout === undefined)
    config = { ...config, timeout: step.def.timeout }
  const controller = new AbortController()
  const timeoutMs = step.def.timeout === undefined || step.kind === 'ssh' ? undefined : parseDuration(step.def.timeout)
  const work = runner.run({
    run,
    step,
    visit: run.cursor.visit,
    attempt: run.cursor.attempt,
    config,
    scope,
    idempotencyKey: `${run.id}:${step.id}:${run.cursor.visit}`,
    signal: controller.signal,
    now: deps.clock.now(),
    logger: deps.logger,
    resources: deps.resources,
    expressions,
  })
  return withTimeout(namingStep(step, work), timeoutMs, controller)
}

/** An expression over budget names the step it belongs to, so the run's error says where to look. */
export async function namingStep<T>(step: CompiledStep, work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (error instanceof AppError && error.code === 'expression_limit' && !error.message.startsWith('Step '))
      throw new TerminalError(error.code, `Step '${step.id}': ${error.message}`, {
        ...(error.hint === undefined ? {} : { hint: error.hint }),
        details: { ...error.details, step: step.id },
        cause: error,
      })
    throw error
  }
}

/** More events than one step visit records (started, retried, succeeded, waits, …): bounds a run's growth per step. */
const EVENTS_PER_STEP_BOUND = 16

/** Kinds whose runner parks the run on a wait with its own `timeout`. */
const PARKING_KINDS = new Set(['wait', 'approval', 'input', 'job', 'flow'])

export function createInterpreter(deps: EngineDeps) {
  const { store, clock, logger } = deps
  const billableKind = (kind: string) => deps.runners.get(kind)?.billable ?? false

  /** Applies a transition fenced by our lease; false means another instance owns the run now: stop touching it. */
  async function commitOwned(t: Transition): Promise<{ ok: boolean; effectResult?: unknown; promoted?: string }> {
    // Any commit of ours means the run got past whatever killed instances before: the count starts again.
    const run = { ...t.run, takeovers: 0 }
    const result = await store.commit({ ...t, run, fenceOwner: deps.owner, fenceStatus: ['running'] })
    if (!result.ok)
      logger.warn({ run: t.runId, conflict: result.conflict }, 'lost the lease; leaving the run to its new owner')
    if (result.ok) deps.onRunChange?.(t.runId)
    if (result.promoted) deps.onRunChange?.(result.promoted)
    if (result.ok) wakeOthers(deps, result)
    return result
  }

  /** Retries with backoff when allowed; otherwise routes by on_error. Returns the run to continue with, or null. */
  async function handleError(
    run: RunRecord,
    flow: CompiledFlow,
    step: CompiledStep,
    error: unknown,
  ): Promise<{ run: RunRecord; output: unknown } | null> {
    const at = clock.now()
    const cursor = run.cursor
    const policy = step.def.retry
    if (!(error instanceof TerminalError) && policy && cursor.attempt < policy.attempts) {
      const base = parseDuration(policy.backoff ?? '1s') ?? 1000
      const cap =
        policy.max_backoff === undefined
          ? Number.POSITIVE_INFINITY
          : (parseDuration(policy.max_backoff) ?? Number.POSITIVE_INFINITY)
      let delay = Math.min(base * 2 ** (cursor.attempt - 1), cap)
      if (error instanceof RetryableError && error.retryAfterMs !== undefined)
        delay = Math.max(delay, error.retryAfterMs)
      await commitOwned({
        runId: run.id,
        at,
        run: {
          cursor: { ...cursor, attempt: cursor.attempt + 1 },
          runnableAt: at + delay,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        // The failed attempt ran (and is billed) even though no step result records it.
        ...(billableKind(step.kind)
          ? { billAttempts: [{ stepId: step.id, visit: cursor.visit, attempt: cursor.attempt, kind: step.kind, at }] }
          : {}),
        events: [
          {
            type: 'step.retrying',
            stepId: step.id,
            data: { attempt: cursor.attempt, delay_ms: delay, error: errorInfo(error) },
          },
        ],
      })
      return null
    }
    const found = errorInfo(error, step.id)
    const info = deps.redactor ? deps.redactor.value(found) : found
    const { route, output } = routeFailure(step, info)
    const { transition, cursor: next } = finishStep(run, flow, at, {
      step,
      status: 'failed',
      output,
      runOutput: { error: info },
      error: info,
      billable: billableKind(step.kind),
      startedAt: at,
      route,
    })
    const committed = await commitOwned(transition)
    if (!committed.ok || isTerminal(transition.run?.status ?? 'running')) return null
    return { run: { ...run, ...transition.run, cursor: next } as RunRecord, output: { error: info } }
  }

  /**
   * A run taken over from dead instances N times in a row without a commit: whatever it runs kills its instance
   * (memory, a native crash), so running it again would only kill this one too. Its step fails, terminally.
   */
  function crashedRepeatedly(run: RunRecord, flow: CompiledFlow) {
    const limit = deps.maxTakeovers ?? 3
    if (run.takeovers < limit || run.cursor.step === null) return undefined
    const step = flow.step(run.cursor.step)
    const error = new TerminalError(
      'crashed_repeatedly',
      `Step '${step.id}' was in flight when an instance died, ${run.takeovers} times in a row; it is not run again.`,
      {
        hint: "Look at the instances' logs for what ended them (out of memory, a native crash); fix the step, then `greenlight runs retry`.",
        details: { takeovers: run.takeovers, step: step.id },
      },
    )
    logger.error({ run: run.id, step: step.id, takeovers: run.takeovers }, 'step crashed its instance repeatedly')
    return { step, error }
  }

  /**
   * A run that has recorded GREENLIGHT_MAX_RUN_EVENTS events fails before its next step instead of growing without
   * bound (a goto loop, a retry storm). The count is read only when the steps taken since the run was read could
   * have brought it near the limit, so a normal step costs no extra read.
   */
  async function eventLimit(run: RunRecord, stepsSinceRead: number) {
    const limit = deps.maxRunEvents ?? DEFAULT_MAX_RUN_EVENTS
    if (run.eventCount + stepsSinceRead * EVENTS_PER_STEP_BOUND < limit) return undefined
    const count = stepsSinceRead === 0 ? run.eventCount : ((await store.getRun(run.id))?.eventCount ?? run.eventCount)
    if (count < limit) return undefined
    logger.warn({ run: run.id, events: count, limit }, 'run reached the event limit')
    return {
      code: 'event_limit',
      message: `The run recorded ${count} events; at most ${limit} are allowed (GREENLIGHT_MAX_RUN_EVENTS).`,
      hint: 'Look for a goto loop or a step retried without end; fix the flow, or raise GREENLIGHT_MAX_RUN_EVENTS.',
      events: count,
      limit,
    }
  }

  async function advance(initial: RunRecord): Promise<void> {
    let run = initial
    const flow = await deps.flowOf(run.revisionId)
    const outputs = latestOutputs(await store.stepRuns(run.id))
    const renew = setInterval(
      () => {
        store
          .renewLease(run.id, deps.owner, clock.now() + deps.leaseMs)
          .catch((error: unknown) => logger.warn({ err: error }, 'lease renewal failed'))
      },
      Math.max(250, deps.leaseMs / 3),
    )
    try {
      const crashed = crashedRepeatedly(run, flow)
      if (crashed) {
        const next = await handleError(run, flow, crashed.step, crashed.error)
        if (!next) return
        outputs.set(crashed.step.id, next.output)
        run = next.run
      }
      for (let steps = 0; ; steps++) {
        const stepId = run.cursor.step
        if (stepId === null) {
          await commitOwned(endRun(run, flow, clock.now(), 'succeeded', { output: run.output ?? null }))
          return
        }
        const step = flow.step(stepId)
        const overLimit = await eventLimit(run, steps)
        if (overLimit) {
          await commitOwned(endRun(run, flow, clock.now(), 'failed', { error: { ...overLimit, step: step.id } }))
          return
        }
        if (visitsCounted(run.cursor) > step.def.max_visits) {
          await commitOwned(
            endRun(run, flow, clock.now(), 'failed', {
              error: {
                code: 'max_visits_exceeded',
                message: `Step '${step.id}' was entered more than ${step.def.max_visits} times.`,
                step: step.id,
              },
            }),
          )
          return
        }
        const startedAt = clock.now()
        const scope = buildScope(run, flow, outputs, { publicUrl: deps.publicUrl(), key: deps.secretKey })
        let outcome: StepOutcome | 'skipped'
        try {
          outcome =
            step.condition && !truthy(await namingStep(step, step.condition.evaluate(scope)))
              ? 'skipped'
              : await runStep(deps, run, step, scope)
        } catch (error) {
          const next = await handleError(run, flow, step, error)
          if (!next) return
          outputs.set(step.id, next.output)
          run = next.run
          continue
        }
        if (outcome !== 'skipped' && outcome.type === 'park') {
          const parked = await openWait(deps, run, flow, step, outcome.park)
          if (parked.type === 'parked' || parked.type === 'lost') return
          outputs.set(step.id, parked.output)
          run = parked.run
          continue
        }
        const at = clock.now()
        const produced = outcome === 'skipped' || outcome.type !== 'done' ? null : outcome.output
        const raw = deps.redactor ? deps.redactor.value(produced) : produced
        const { value: output } = await externalize(deps.resources, raw, deps.resourceThresholdBytes, run.id)
        const { transition, cursor } = finishStep(run, flow, at, {
          step,
          status: outcome === 'skipped' ? 'skipped' : 'succeeded',
          output,
          billable: outcome !== 'skipped' && billableKind(step.kind),
          startedAt,
          route: 'next',
          events: outcome === 'skipped' ? [] : outcome.events,
        })
        if (outcome !== 'skipped' && outcome.type === 'done' && outcome.createRun)
          transition.createRun = outcome.createRun
        if (outcome !== 'skipped' && outcome.type === 'effect') {
          transition.effect = outcome.effect
          transition.effectIsOutput = true
        }
        const committed = await commitOwned(transition)
        if (!committed.ok || transition.run?.status !== 'running') return
        const finalOutput = outcome !== 'skipped' && outcome.type === 'effect' ? committed.effectResult : output
        outputs.set(step.id, finalOutput)
        run = { ...run, ...transition.run, cursor, output: finalOutput }
      }
    } catch (error) {
      // An engine fault (not a step failure): leave the lease to expire so another attempt picks the run up.
      logger.error({ err: error, run: run.id }, 'interpreter fault')
    } finally {
      clearInterval(renew)
    }
  }

  return { advance, commitOwned }
}

export type Interpreter = ReturnType<typeof createInterpreter>
