// Pure steps (transform) that follow a resolved wait run inside the wait's own transaction: the callback or vote that
// resumes the run also records them and moves past them, so a run like `wait → transform` ends in one commit instead
// of two plus a hand-over to the scheduler. Anything else (an error, a large output, a step with a timeout or a
// condition, any step with effects) stops here, and the scheduler takes the run on from that step as before.
import { visitsCounted } from '../core/run-status.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import { runStep } from './interpreter.ts'
import type { RunRecord, Transition, TxView } from './run-ports.ts'
import { buildScope, latestOutputs } from './scope.ts'
import { finishStep } from './transitions.ts'

/** Bounds how long one transaction computes; a longer chain of transforms continues on the scheduler. */
const MAX_INLINE_STEPS = 8

function mergeInto(first: Transition, next: Transition): Transition {
  const { stepRun, ...rest } = next
  return {
    ...first,
    run: { ...first.run, ...rest.run },
    moreStepRuns: [...(first.moreStepRuns ?? []), ...(stepRun ? [stepRun] : [])],
    events: [...(first.events ?? []), ...(rest.events ?? [])],
    cancelTimers: [...(first.cancelTimers ?? []), ...(rest.cancelTimers ?? [])],
    ...(rest.releaseSlot ? { releaseSlot: rest.releaseSlot } : {}),
  }
}

/**
 * Extends `resolved` (a transition that closes a wait of `run` and leaves it running on this instance) with the pure
 * steps that come next. Returns `resolved` itself when the next step is not one of them.
 */
export async function continueInline(
  deps: EngineDeps,
  view: TxView,
  run: RunRecord,
  flow: CompiledFlow,
  resolved: Transition,
): Promise<Transition> {
  const inlinable = (current: RunRecord) => {
    if (current.status !== 'running' || current.cursor.step === null) return undefined
    const step = flow.step(current.cursor.step)
    const pure = deps.runners.get(step.kind)?.pure === true
    return pure &&
      !step.condition &&
      step.def.timeout === undefined &&
      visitsCounted(current.cursor) <= step.def.max_visits
      ? step
      : undefined
  }
  let current = { ...run, ...resolved.run } as RunRecord
  let step = inlinable(current)
  // Nothing to run here: no read of the step results either.
  if (!step || !resolved.stepRun) return resolved
  const outputs = latestOutputs(await view.stepRuns(run.id))
  // As stored (secrets masked): the scope must be the one the scheduler would build from the database.
  const mask = (value: unknown) => (deps.redactor ? deps.redactor.value(value) : value)
  outputs.set(resolved.stepRun.stepId, mask(resolved.stepRun.output))
  let transition = resolved
  for (let i = 0; step && i < MAX_INLINE_STEPS; i++) {
    const scope = buildScope(current, flow, outputs, { publicUrl: deps.publicUrl(), key: deps.secretKey })
    const outcome = await runStep(deps, current, step, scope, { inlineOnly: true }).catch(() => undefined)
    // A failing step goes to the scheduler, which applies its retry and on_error exactly as for any other step; so
    // does one whose expression needs the isolated evaluator, which a transaction must not wait on.
    if (outcome?.type !== 'done') break
    const produced = mask(outcome.output)
    // Outputs are stored as plain JSON; a large one becomes a resource, which is written outside this transaction.
    const json = JSON.stringify(produced ?? null) ?? 'null'
    if (Buffer.byteLength(json) > deps.resourceThresholdBytes) break
    const output = JSON.parse(json) as unknown
    const { transition: next, cursor } = finishStep(current, flow, transition.at, {
      step,
      status: 'succeeded',
      output,
      billable: deps.runners.get(step.kind)?.billable ?? false,
      startedAt: transition.at,
      route: 'next',
      ...(outcome.events ? { events: outcome.events } : {}),
    })
    transition = mergeInto(transition, next)
    outputs.set(step.id, output)
    current = { ...current, ...next.run, cursor, output } as RunRecord
    step = inlinable(current)
  }
  return transition
}
