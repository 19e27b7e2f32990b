// Drives runs and timers on this instance: claims runnable runs with leases, fires due timers, and resumes runs at
// once when a callback or vote arrives here. Several instances may share one database.
import type { EngineDeps } from './engine-deps.ts'
import type { Interpreter } from './interpreter.ts'
import type { TimerRecord } from './run-ports.ts'

export interface SchedulerOptions {
  pollMs?: number
  /** Runs advanced at once on this instance. */
  concurrency?: number
}

export function createScheduler(
  deps: EngineDeps,
  interpreter: Interpreter,
  fire: (timer: TimerRecord) => Promise<void>,
  options: SchedulerOptions = {},
) {
  const { store, clock, logger, owner, leaseMs } = deps
  const pollMs = options.pollMs ?? 100
  const concurrency = options.concurrency ?? 64
  const active = new Map<string, Promise<void>>()
  const again = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let stopped = true
  let ticking: Promise<void> | undefined

  function track(runId: string, work: () => Promise<void>): void {
    if (active.has(runId)) {
      again.add(runId)
      return
    }
    const promise = work()
      .catch((error: unknown) => logger.error({ err: error, run: runId }, 'run execution failed'))
      .finally(() => {
        active.delete(runId)
        if (again.delete(runId) && !stopped) resume(runId)
      })
    active.set(runId, promise)
  }

  /**
   * Continue a run here now, if its lease is free or ours. `leased`: the commit that resumed it already gave this
   * instance the lease, so a read replaces the claiming write.
   */
  function resume(runId: string, leased = false): void {
    if (stopped) return
    track(runId, async () => {
      const current = leased ? await store.getRun(runId) : undefined
      const run =
        current?.leaseOwner === owner && current.status === 'running'
          ? current
          : await store.claimRun(runId, owner, clock.now(), leaseMs)
      if (run) await interpreter.advance(run)
    })
  }

  async function tick(): Promise<void> {
    const now = clock.now()
    const room = concurrency - active.size
    if (room > 0) {
      for (const run of await store.claimRunnable(owner, now, leaseMs, Math.min(room, 32))) {
        track(run.id, () => interpreter.advance(run))
      }
    }
    for (const due of await store.claimDueTimers(owner, now, leaseMs, 64)) {
      await fire(due).catch((error: unknown) => logger.error({ err: error, timer: due.id }, 'timer failed'))
    }
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      ticking = tick()
        .catch((error: unknown) => logger.error({ err: error }, 'scheduler tick failed'))
        .finally(() => {
          ticking = undefined
          schedule()
        })
    }, pollMs)
  }

  return {
    resume,
    start(): void {
      if (!stopped) return
      stopped = false
      schedule()
    },
    /**
     * Stops claiming work, lets running steps finish, and frees this instance's leases for others. With `giveUp`
     * (a shutdown's deadline), steps still running when it settles are abandoned: their leases are released too, so
     * another instance continues those runs at once, and their late commits are fenced off. Returns how many runs
     * were abandoned.
     */
    async stop(giveUp?: Promise<unknown>): Promise<{ abandoned: number }> {
      stopped = true
      clearTimeout(timer)
      const drained = (async () => {
        await ticking
        await Promise.allSettled([...active.values()])
        return true
      })()
      const done = giveUp === undefined ? await drained : await Promise.race([drained, giveUp.then(() => false)])
      const abandoned = done ? 0 : active.size
      await store.releaseLeases(owner)
      return { abandoned }
    },
    /** Runs one scheduling pass now (tests with a controlled clock). */
    tick,
    get activeCount() {
      return active.size
    },
  }
}

export type Scheduler = ReturnType<typeof createScheduler>
