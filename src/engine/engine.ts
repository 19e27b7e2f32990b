// Wires the engine's parts: interpreter, scheduler, timers, callbacks, approvals, decisions and the run service.

import { EventEmitter } from 'node:events'
import { createApprovalRequests } from './approval-requests.ts'
import { createApprovals } from './approvals.ts'
import { createAudit } from './audit.ts'
import { createAuthorization } from './authorization.ts'
import { createCallbackUrls } from './callback-urls.ts'
import { createCallbacks } from './callbacks.ts'
import { createChildFlows } from './child-flows.ts'
import { createDecisions } from './decisions.ts'
import type { EngineDeps } from './engine-deps.ts'
import { createInterpreter } from './interpreter.ts'
import { createJobs, type JobLeaseStore } from './jobs.ts'
import type { ConnectionLookup, FlowRepository } from './ports.ts'
import { createReads } from './reads.ts'
import { createRefusedStarts } from './refused-starts.ts'
import type { PrunedRun } from './retention.ts'
import { createRuns } from './runs.ts'
import { createScheduler, type SchedulerOptions } from './scheduler.ts'
import { createSchedules, SCHEDULE_TIMER, type ScheduleStore } from './schedules.ts'
import { createTimerFiring } from './timer-firing.ts'

export function createEngine(
  deps: EngineDeps & {
    flows: FlowRepository
    connections: ConnectionLookup
    schedules: ScheduleStore
    jobLeases: JobLeaseStore
    /** GREENLIGHT_ADMINS: Slack users who may cancel any run. */
    admins?: readonly string[]
    /** The retention ledger, for `audit verify` of a pruned run. */
    prunedRun?: (id: string) => Promise<PrunedRun | undefined>
  },
  options: SchedulerOptions = {},
) {
  const changes = new EventEmitter()
  changes.setMaxListeners(0)
  const withEvents: EngineDeps = {
    ...deps,
    onRunChange: (runId) => {
      changes.emit('run', runId)
      deps.onRunChange?.(runId)
    },
  }
  let scheduler: ReturnType<typeof createScheduler> | undefined
  const resume = (runId: string, leased?: boolean) => scheduler?.resume(runId, leased)
  withEvents.wake = (runIds) => {
    for (const id of runIds) resume(id, true)
  }
  const interpreter = createInterpreter(withEvents)
  const authorization = createAuthorization({ directory: deps.directory, admins: deps.admins ?? [] })
  const approvals = createApprovals({ ...withEvents, authorization }, resume)
  const fireTimer = createTimerFiring(withEvents, approvals, resume)
  // Schedule ticks are timers too; `schedules` is defined below, before the scheduler starts.
  scheduler = createScheduler(
    withEvents,
    interpreter,
    (timer) => (timer.kind === SCHEDULE_TIMER ? schedules.fire(timer) : fireTimer(timer)),
    options,
  )
  const runs = {
    ...createRuns({
      ...withEvents,
      flows: deps.flows,
      connections: deps.connections,
      resume,
      changes,
      authorization,
    }),
    ...createRefusedStarts({ ...withEvents, flows: deps.flows }),
  }
  // The `flow` step starts children through the run service; their end completes the parent inside the store.
  const childFlows = createChildFlows(withEvents, runs.prepare)
  deps.runners.set('flow', childFlows.runner)
  deps.store.onRunEnd?.(childFlows.childEnded)
  const schedules = createSchedules({
    store: deps.schedules,
    flows: deps.flows,
    flowOf: deps.flowOf,
    runs,
    clock: deps.clock,
    logger: deps.logger,
  })
  const reads = createReads(deps.store, deps.search)
  return {
    runs,
    requests: createApprovalRequests({ runs, reads }),
    audit: createAudit({
      store: deps.store,
      secretKey: deps.secretKey,
      clock: deps.clock,
      requireRun: runs.requireRun,
      prunedRun: deps.prunedRun,
    }),
    callbacks: { ...createCallbacks(withEvents, resume), ...createCallbackUrls(withEvents) },
    decisions: createDecisions({ ...withEvents, authorization }, resume),
    approvals,
    authorization,
    jobs: createJobs({ ...withEvents, leases: deps.jobLeases, resume }),
    scheduler,
    schedules,
    changes,
    reads,
    resources: deps.resources,
    flowOf: deps.flowOf,
  }
}

export type Engine = ReturnType<typeof createEngine>
