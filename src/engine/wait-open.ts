// Parking a run on a wait, approval, input, job or sleep — or consuming a callback that arrived before the wait.
import type { CompiledFlow, CompiledStep } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import { checkPayload } from './payload-schema.ts'
import type { CommitResult, NewEvent, RunRecord, Transition } from './run-ports.ts'
import { alsoLeased } from './settle.ts'
import type { ParkRequest } from './step-runner.ts'
import { finishStep } from './transitions.ts'

export type OpenResult = { type: 'parked' } | { type: 'lost' } | { type: 'continued'; run: RunRecord; output: unknown }

export async function openWait(
  deps: EngineDeps,
  run: RunRecord,
  flow: CompiledFlow,
  step: CompiledStep,
  park: ParkRequest,
): Promise<OpenResult> {
  const at = deps.clock.now()
  const visit = run.cursor.visit
  const existing = await deps.store.getWaitAt(run.id, step.id, visit)
  const waitId = existing?.id ?? deps.ids.next('wait')
  const events: NewEvent[] = []
  const fence = { fenceOwner: deps.owner, fenceStatus: ['running'] as const }

  // A job's callback URL completes it like a wait's, so an early body completes either.
  if (existing?.status === 'early' && (park.kind === 'wait' || park.kind === 'job')) {
    const problems = checkPayload(park.spec.schema, existing.payload)
    if (problems.length === 0) {
      const { transition, cursor } = finishStep(run, flow, at, {
        step,
        status: 'succeeded',
        output: existing.payload,
        // As when a job's callback arrives while it is open (callbacks.ts).
        billable: park.kind === 'job',
        startedAt: at,
        route: 'next',
        events: [{ type: 'wait.completed', stepId: step.id, data: { wait_id: waitId, early: true } }],
      })
      transition.updateWait = {
        id: waitId,
        fromStatus: ['early'],
        patch: { status: 'completed', spec: park.spec, completedAt: at, result: existing.payload },
      }
      const committed = await deps.store.commit({ ...transition, ...fence })
      if (!committed.ok) return { type: 'lost' }
      deps.onRunChange?.(run.id)
      if (transition.run?.status !== 'running') return { type: 'parked' }
      return { type: 'continued', run: { ...run, ...transition.run, cursor } as RunRecord, output: existing.payload }
    }
    events.push({ type: 'callback.rejected', stepId: step.id, data: { wait_id: waitId, early: true, problems } })
  }

  const row = {
    runId: run.id,
    stepId: step.id,
    visit,
    kind: park.kind,
    status: 'open' as const,
    deadlineAt: park.deadlineAt,
    spec: park.spec,
    digest: park.digest ?? null,
    payload: null,
    payloadHash: null,
    result: null,
    jobType: park.jobType ?? null,
    createdAt: at,
  }
  const notify = park.kind === 'wait' && typeof park.spec.notify === 'string' ? park.spec.notify : undefined
  const transition: Transition = {
    runId: run.id,
    at,
    ...fence,
    run: {
      status: 'waiting',
      waitingOn: {
        step: step.id,
        kind: park.kind,
        wait_id: waitId,
        ...(park.deadlineAt === null ? {} : { until: park.deadlineAt }),
      },
      leaseOwner: null,
      leaseExpiresAt: null,
      runnableAt: null,
    },
    events: [
      ...events,
      {
        type: park.kind === 'sleep' ? 'sleep.started' : 'wait.opened',
        stepId: step.id,
        data: {
          wait_id: waitId,
          kind: park.kind,
          visit,
          deadline_at: park.deadlineAt === null ? null : new Date(park.deadlineAt).toISOString(),
          ...(notify ? { notify } : {}),
        },
      },
      ...(park.events ?? []),
    ],
    armTimers: (park.timers ?? []).map((t) => ({ ...t, key: `w:${waitId}:${t.key}`, waitId })),
    ...(park.createRun ? { createRun: park.createRun } : {}),
  }
  if (existing) transition.updateWait = { id: waitId, fromStatus: [existing.status], patch: { ...row, payload: null } }
  else transition.insertWait = { id: waitId, ...row }
  const committed = await deps.store.commit(transition)
  if (!committed.ok) return { type: 'lost' }
  deps.onRunChange?.(run.id)
  wakeOthers(deps, committed)
  return { type: 'parked' }
}

/** Tells of and continues the runs a commit leased to this instance besides its own (see settle.ts). */
export function wakeOthers(deps: EngineDeps, commit: CommitResult): void {
  const others = alsoLeased(commit)
  if (others.length === 0) return
  for (const id of others) deps.onRunChange?.(id)
  deps.wake?.(others)
}
