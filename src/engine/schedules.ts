// Cron schedules of live flow versions: one durable timer per schedule, armed on promote, fired by the scheduler's
// timer loop (so one instance fires it), and a unique tick record in the run's transaction (so one run per tick).
import type { Logger } from 'pino'
import { compileValue, type ScheduleTrigger, schedulesOf } from '../core/flow/index.ts'
import { decideTick, nextTick, nextTicks, scheduleId } from '../core/schedule-times.ts'
import { AppError } from '../errors.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { Clock, FlowRepository } from './ports.ts'
import type { RefusedStarts } from './refused-starts.ts'
import type { TimerRecord } from './run-ports.ts'
import type { Runs, StartInput } from './runs.ts'

/** The timer kind of schedule ticks; the scheduler hands these timers to `fire`. */
export const SCHEDULE_TIMER = 'schedule'

/** A schedule of a flow and the time its timer is armed for. */
export interface ArmedTick {
  schedule: string
  fireAt: number
}

/** Storage of schedule timers and ticks (store/schedule-store.ts). */
export interface ScheduleStore {
  /**
   * In one write transaction: reads the flow's live revision, asks `desired` for its schedules' next ticks, cancels
   * the pending timers of schedules that are gone, and arms the schedules that have no pending timer. Timers of
   * schedules that stay are kept, with their time: after downtime they are overdue, and catch-up decides.
   */
  sync(
    slug: string,
    desired: (liveRevisionId: number | null) => Promise<ArmedTick[]>,
    at: number,
  ): Promise<{ armed: string[]; canceled: string[] }>
  /** Marks the timer fired and, if that applied and no other timer of the schedule is pending, arms `next`. */
  advance(timer: number, slug: string, next: ArmedTick | null, at: number): Promise<void>
  /** Records a tick that started no run (its start failed), so it is not retried and its history shows it. */
  recordTick(slug: string, schedule: string, tickAt: number, at: number): Promise<void>
  /** The schedule timers waiting to fire. */
  pending(slug: string): Promise<ArmedTick[]>
  /** The most recent tick of each schedule. */
  lastTicks(slug: string): Promise<{ schedule: string; tickAt: number; runId: string | null }[]>
}

export interface SchedulesDeps {
  store: ScheduleStore
  flows: FlowRepository
  flowOf(revisionId: number): Promise<CompiledFlow>
  runs: Runs & RefusedStarts
  clock: Clock
  logger: Logger
}

interface LiveSchedule {
  id: string
  index: number
  def: ScheduleTrigger
}

const liveSchedules = (flow: CompiledFlow): LiveSchedule[] =>
  schedulesOf(flow.definition.triggers).map((def, index) => ({ id: scheduleId(def, index), index, def }))

const iso = (ms: number) => new Date(ms).toISOString()

export function createSchedules(deps: SchedulesDeps) {
  const { store, flows, clock, logger } = deps
  const inputsCache = new Map<string, ReturnType<typeof compileValue>>()

  async function liveFlow(slug: string): Promise<CompiledFlow | undefined> {
    const flow = await flows.get(slug)
    if (!flow || flow.liveVersion === null) return undefined
    const revision = await flows.revisionByVersion(slug, flow.liveVersion)
    return revision ? deps.flowOf(revision.id) : undefined
  }

  /** Schedule inputs are constants or templates that see no variables (functions such as $now() only). */
  function inputsOf(slug: string, schedule: LiveSchedule): Promise<unknown> {
    const key = `${slug}\n${schedule.id}\n${JSON.stringify(schedule.def.inputs ?? {})}`
    let compiled = inputsCache.get(key)
    if (!compiled) {
      compiled = compileValue(schedule.def.inputs ?? {})
      if (inputsCache.size > 500) inputsCache.clear()
      inputsCache.set(key, compiled)
    }
    return compiled.evaluate({})
  }

  /** Points the flow's schedule timers at its live version: arms new schedules, cancels removed ones. */
  async function sync(slug: string): Promise<{ armed: string[]; canceled: string[] }> {
    const now = clock.now()
    const result = await store.sync(
      slug,
      async (revisionId) => {
        if (revisionId === null) return []
        return liveSchedules(await deps.flowOf(revisionId)).flatMap((s) => {
          const fireAt = nextTick(s.def, now)
          return fireAt === null ? [] : [{ schedule: s.id, fireAt }]
        })
      },
      now,
    )
    if (result.armed.length > 0 || result.canceled.length > 0)
      logger.info({ flow: slug, ...result }, 'schedules synced')
    return result
  }

  async function startTick(slug: string, schedule: LiveSchedule, tickAt: number, late: boolean): Promise<void> {
    const now = clock.now()
    const input: StartInput = {
      slug,
      inputs: {},
      initiator: `schedule:${slug}`,
      trigger: 'schedule',
      slack: null,
      claim: { kind: 'schedule_tick', schedule: schedule.id, tickAt },
      triggerDetails: {
        schedule: schedule.id,
        cron: schedule.def.cron,
        timezone: schedule.def.timezone,
        tick_at: iso(tickAt),
        ...(late ? { caught_up: true } : {}),
      },
    }
    try {
      input.inputs = (await inputsOf(slug, schedule)) as Record<string, unknown>
      const run = await deps.runs.start(input)
      logger.info({ flow: slug, schedule: schedule.id, tick: iso(tickAt), run: run.id }, 'schedule tick started a run')
    } catch (error) {
      if (!(error instanceof AppError)) throw error
      if (error.code === 'duplicate_tick') return
      // Unbound requires: the tick is a run that failed before its first step, seen in runs list and in Slack.
      if (error.code === 'requirements_missing') {
        const failed = await deps.runs.failStart(input, error).catch((refused: unknown) => {
          if (refused instanceof AppError && refused.code === 'duplicate_tick') return undefined
          throw refused
        })
        if (failed) logger.warn({ flow: slug, schedule: schedule.id, tick: iso(tickAt), run: failed.id }, error.message)
        return
      }
      // Not retried: the next tick tries again with whatever was fixed (inputs, connections, concurrency).
      await store.recordTick(slug, schedule.id, tickAt, now)
      logger.warn({ flow: slug, schedule: schedule.id, tick: iso(tickAt), code: error.code }, error.message)
    }
  }

  /** Fires a due schedule timer: maybe one run for the right tick, then the timer for the next tick. */
  async function fire(timer: TimerRecord): Promise<void> {
    const slug = String(timer.data?.flow ?? '')
    const id = String(timer.data?.schedule ?? '')
    const flow = await liveFlow(slug)
    const schedule = flow ? liveSchedules(flow).find((s) => s.id === id) : undefined
    const now = clock.now()
    if (!schedule) {
      // The live version changed under this timer; its sync armed the new schedules.
      await store.advance(timer.id, slug, null, now)
      return
    }
    const decision = decideTick(schedule.def, timer.fireAt, now)
    if (decision.missed > 0) {
      logger.warn(
        { flow: slug, schedule: id, missed: decision.missed, catch_up: schedule.def.catch_up },
        'schedule ticks were missed',
      )
    }
    if (decision.fire) await startTick(slug, schedule, decision.tickAt, decision.late)
    const next = nextTick(schedule.def, Math.max(now, decision.tickAt))
    await store.advance(timer.id, slug, next === null ? null : { schedule: id, fireAt: next }, clock.now())
  }

  let interval: NodeJS.Timeout | undefined

  async function syncAll(): Promise<void> {
    for (const flow of await flows.list()) {
      await sync(flow.slug).catch((error: unknown) =>
        logger.error({ err: error, flow: flow.slug }, 'could not sync schedules'),
      )
    }
  }

  return {
    sync,
    syncAll,
    fire,

    /** The live version's schedules with their next ticks, for `flows show`. */
    async describe(slug: string, count = 3) {
      const flow = await liveFlow(slug)
      if (!flow) return []
      const now = clock.now()
      const last = new Map((await store.lastTicks(slug)).map((t) => [t.schedule, t]))
      const armed = new Map((await store.pending(slug)).map((t) => [t.schedule, t.fireAt]))
      return liveSchedules(flow).map((s) => {
        const tick = last.get(s.id)
        const timer = armed.get(s.id)
        return {
          id: s.id,
          cron: s.def.cron,
          timezone: s.def.timezone,
          catch_up: s.def.catch_up,
          next: nextTicks(s.def, now, count).map(iso),
          // The durable timer's time; in the past only while an overdue tick waits for catch-up to decide.
          armed_at: timer === undefined ? null : iso(timer),
          last_tick: tick ? { at: iso(tick.tickAt), run_id: tick.runId } : null,
        }
      })
    },

    /** Syncs every flow now (a restart may follow a release made by an older build) and again every `everyMs`. */
    async start(everyMs = 60_000): Promise<void> {
      await syncAll()
      interval = setInterval(() => {
        syncAll().catch((error: unknown) => logger.error({ err: error }, 'schedule sync failed'))
      }, everyMs)
      interval.unref()
    },
    stop(): void {
      clearInterval(interval)
      interval = undefined
    },
  }
}

export type Schedules = ReturnType<typeof createSchedules>
