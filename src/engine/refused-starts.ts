// A schedule tick or webhook delivery refused because the flow's `requires` are not bound becomes a run that failed
// before its first step (SPEC §8), so `runs list`, the audit trail and Slack show it, not only a log line.
import { initialCursor } from '../core/run-status.ts'
import { type AppError, conflict } from '../errors.ts'
import { resolveInputs } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import type { FlowRepository } from './ports.ts'
import type { RunErrorInfo, RunRecord } from './run-ports.ts'
import { runStartedEvent, type StartInput } from './runs.ts'

export function createRefusedStarts(deps: EngineDeps & { flows: FlowRepository }) {
  return {
    /**
     * Records `input`, which `refusal` stopped, as a failed run of the live version with that error. The tick or
     * delivery is consumed as a start would consume it (a redelivery is a duplicate of this run); once the
     * requirement is bound, `runs retry` runs it from its first step. Throws `refusal` when there is no live
     * version to pin, and a conflict when the tick or delivery was already handled.
     */
    async failStart(input: StartInput, refusal: AppError): Promise<RunRecord> {
      const flow = await deps.flows.get(input.slug)
      const revision =
        flow && flow.liveVersion !== null ? await deps.flows.revisionByVersion(flow.slug, flow.liveVersion) : undefined
      if (!flow || !revision) throw refusal
      const compiled = await deps.flowOf(revision.id)
      let inputs = input.inputs
      try {
        inputs = resolveInputs(compiled.definition.inputs, input.inputs)
      } catch {
        // Inputs that would not resolve are kept as given: the missing requirement is what the run failed on.
      }
      const at = deps.clock.now()
      const error: RunErrorInfo = { code: refusal.code, message: refusal.message, details: refusal.details }
      const { run, duplicateOf } = await deps.store.createRun(
        {
          run: {
            id: deps.ids.next('run'),
            flowSlug: flow.slug,
            revisionId: revision.id,
            version: revision.version,
            status: 'failed',
            inputs,
            initiator: input.initiator,
            trigger: input.trigger,
            concurrencyKey: null,
            // At no step: no step ran, and a retry starts at the first.
            cursor: initialCursor(null),
            waitingOn: null,
            output: null,
            error,
            runnableAt: null,
            slack: input.slack ?? null,
            createdAt: at,
            startedAt: at,
            endedAt: at,
            updatedAt: at,
          },
          events: [
            runStartedEvent(input, flow.slug, revision, inputs),
            { type: 'run.failed', actor: null, data: { error } },
          ],
          ...(input.claim ? { claim: input.claim } : {}),
        },
        null,
      )
      if (duplicateOf !== undefined) {
        const code = input.claim?.kind === 'schedule_tick' ? 'duplicate_tick' : 'duplicate_delivery'
        throw conflict(code, `This ${code === 'duplicate_tick' ? 'tick' : 'delivery'} was already handled.`, {
          details: { run_id: duplicateOf },
        })
      }
      deps.onRunChange?.(run.id)
      return run
    },
  }
}

export type RefusedStarts = ReturnType<typeof createRefusedStarts>
