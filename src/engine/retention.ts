// Retention: ended runs older than GREENLIGHT_RETENTION go, with everything that belongs only to them, in batches of
// one transaction each; a ledger row per run keeps its chain head for `audit verify`. One instance prunes at a time
// (a lease every batch renews in its own transaction). docs/architecture.md ("Retention") explains why nothing is
// re-sent, re-fired or re-ticked afterwards.
import { formatRetention } from '../core/retention-period.ts'
import { AppError, conflict } from '../errors.ts'
import type { Clock } from './ports.ts'

export const PRUNE_LEASE = 'prune'
export const DEFAULT_PRUNE_BATCH = 100
/** How often a server prunes (and, after a restart, how long since the last prune it waits). */
export const PRUNE_EVERY_MS = 3_600_000
/** The least time from a server's start to its first prune. */
export const PRUNE_START_DELAY_MS = 5 * 60_000
/** The least time between two looks of the timer: a lost lease or a failed prune is tried again after this. */
const RETRY_MS = 60_000

/** Rows removed with pruned runs. */
export interface RunPruneCounts {
  runs: number
  steps: number
  events: number
  waits: number
  votes: number
  timers: number
  outbox: number
  resources: number
  webhook_deliveries: number
  search_rows: number
}

/** Bookkeeping that belongs to no run: run-less Slack items, fired schedule timers, old schedule ticks. */
export interface BookkeepingCounts {
  outbox: number
  schedule_timers: number
  schedule_ticks: number
}

export type PruneCounts = RunPruneCounts & { bookkeeping: BookkeepingCounts }

export interface PruneCursor {
  endedAt: number
  id: string
}

/** Whose turn it is to prune: every batch renews the lease in its transaction, or the batch rolls back. */
export interface LeaseFence {
  name: string
  owner: string
  until: number
}

export interface PrunedRun {
  runId: string
  flowSlug: string
  status: string
  rootRunId: string | null
  runCreatedAt: number
  endedAt: number
  eventCount: number
  lastEventHash: string
  counts: Record<string, number>
  prunedAt: number
}

export interface PruneReport {
  dry_run: boolean
  retention: string
  cutoff: string
  /** What was removed, or with `dry_run` what would be. */
  counts: PruneCounts
  batches: number
  /** Old ended runs left because a run of their tree has not ended, or a Slack item of theirs is still pending. */
  skipped_runs: number
  /** The prune stopped early (a shutdown); the next one continues. */
  interrupted: boolean
  started_at: string
  duration_ms: number
}

export interface PruneStore {
  /** Ended runs that ended before `cutoff` and are no child of a run that still exists, oldest first, past `after`. */
  roots(cutoff: number, after: PruneCursor | null, limit: number): Promise<PruneCursor[]>
  /** What removing the trees of these roots would remove; trees that may not go are counted as skipped. */
  measure(roots: string[], cutoff: number): Promise<{ counts: RunPruneCounts; skipped: number }>
  /** Removes them and writes their ledger rows in one transaction that renews `fence` (or fails, changing nothing). */
  remove(
    roots: string[],
    cutoff: number,
    at: number,
    fence: LeaseFence,
  ): Promise<{ counts: RunPruneCounts; skipped: number }>
  /** Removes (or with `fence` null, counts all of) the run-less bookkeeping older than `cutoff`, `limit` rows a kind. */
  bookkeeping(cutoff: number, limit: number, fence: LeaseFence | null): Promise<BookkeepingCounts>
  acquire(name: string, owner: string, now: number, until: number): Promise<{ owner: string; expiresAt: number } | null>
  release(name: string, owner: string): Promise<void>
  prunedRun(id: string): Promise<PrunedRun | undefined>
  /** The last finished prune's report (kept in kv), so a restarted server knows when the next one is due. */
  lastReport(): Promise<PruneReport | undefined>
  saveReport(report: PruneReport): Promise<void>
}

/** `greenlight backup`: the server writes a consistent copy of its database (store/backup.ts). */
export interface Backups {
  /** Writes a copy to a temporary file of the server's; `discard` deletes it once it was sent. */
  backup(): Promise<{ path: string; bytes: number; duration_ms: number; discard(): void }>
}

export interface RetentionDeps {
  store: PruneStore
  clock: Clock
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void }
  /** This instance's id, the lease owner. */
  owner: string
  /** GREENLIGHT_RETENTION in ms; null: off. */
  retentionMs: number | null
  /** How long the lease holds without a batch renewing it. */
  leaseMs: number
  /** GREENLIGHT_PRUNE_PAUSE_MS: a pause between batches, so a prune leaves the writer to others. */
  pauseMs?: number
}

export interface PruneOptions {
  dryRun?: boolean
  /** The time the retention counts back from (default: now). */
  now?: number
  /** Runs older than this are pruned, instead of `now - retention`. */
  cutoff?: number
  /** Root runs per transaction (their child runs go with them). */
  batchSize?: number
}

const zeroRuns = (): RunPruneCounts => ({
  runs: 0,
  steps: 0,
  events: 0,
  waits: 0,
  votes: 0,
  timers: 0,
  outbox: 0,
  resources: 0,
  webhook_deliveries: 0,
  search_rows: 0,
})

function addInto<T extends object>(total: T, more: T): void {
  const into = total as Record<string, number>
  for (const [key, value] of Object.entries(more)) into[key] = (into[key] ?? 0) + Number(value)
}

export function retentionOff(): AppError {
  return conflict('retention_off', 'Retention is off (GREENLIGHT_RETENTION=off): nothing is pruned.', {
    hint: 'Set GREENLIGHT_RETENTION to a period such as 90d and restart the server.',
  })
}

export function createRetention(deps: RetentionDeps) {
  const { store, clock, logger, owner } = deps
  let stopping = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined

  async function pruneOnce(options: PruneOptions): Promise<PruneReport> {
    const dryRun = options.dryRun ?? false
    const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000)
      throw new AppError('invalid_batch_size', 'The batch size must be a whole number from 1 to 1000.', { status: 400 })
    if (options.cutoff === undefined && deps.retentionMs === null) throw retentionOff()
    const startedAt = clock.now()
    const now = options.now ?? startedAt
    const cutoff = options.cutoff ?? now - (deps.retentionMs as number)
    const fence = (): LeaseFence => ({ name: PRUNE_LEASE, owner, until: clock.now() + deps.leaseMs })
    if (!dryRun) {
      const holder = await store.acquire(PRUNE_LEASE, owner, startedAt, startedAt + deps.leaseMs)
      if (holder) {
        throw conflict('prune_busy', `Instance ${holder.owner} is pruning now; one prune runs at a time.`, {
          hint: 'Wait for it to finish (its lease renews every batch), then prune again if needed.',
          details: { owner: holder.owner, lease_expires_at: new Date(holder.expiresAt).toISOString() },
        })
      }
    }
    const counts: PruneCounts = { ...zeroRuns(), bookkeeping: { outbox: 0, schedule_timers: 0, schedule_ticks: 0 } }
    let batches = 0
    let skipped = 0
    let interrupted = false
    try {
      let after: PruneCursor | null = null
      for (;;) {
        if (stopping) {
          interrupted = true
          break
        }
        const roots = await store.roots(cutoff, after, batchSize)
        if (roots.length === 0) break
        after = roots.at(-1) ?? null
        const ids = roots.map((r) => r.id)
        const batch = dryRun ? await store.measure(ids, cutoff) : await store.remove(ids, cutoff, clock.now(), fence())
        addInto(counts, batch.counts)
        skipped += batch.skipped
        batches++
        if (deps.pauseMs && !dryRun) await new Promise((resolve) => setTimeout(resolve, deps.pauseMs))
      }
      if (!interrupted) {
        if (dryRun) addInto(counts.bookkeeping, await store.bookkeeping(cutoff, 0, null))
        else {
          for (;;) {
            const removed = await store.bookkeeping(cutoff, batchSize * 10, fence())
            addInto(counts.bookkeeping, removed)
            if (removed.outbox + removed.schedule_timers + removed.schedule_ticks === 0 || stopping) break
          }
        }
      }
    } finally {
      if (!dryRun) await store.release(PRUNE_LEASE, owner).catch(() => undefined)
    }
    const report: PruneReport = {
      dry_run: dryRun,
      retention: formatRetention(deps.retentionMs),
      cutoff: new Date(cutoff).toISOString(),
      counts,
      batches,
      skipped_runs: skipped,
      interrupted,
      started_at: new Date(startedAt).toISOString(),
      duration_ms: clock.now() - startedAt,
    }
    if (!dryRun) {
      await store.saveReport(report)
      logger.info({ ...counts, batches, skipped_runs: skipped, duration_ms: report.duration_ms }, 'pruned')
    }
    return report
  }

  /** Prunes now (`greenlight prune`, the server's timer, the growth bench); `dryRun` counts and removes nothing. */
  async function prune(options: PruneOptions = {}): Promise<PruneReport> {
    const work = pruneOnce(options)
    if (!options.dryRun) running = work.catch(() => undefined)
    return work
  }

  async function tick(): Promise<void> {
    try {
      await prune()
    } catch (error) {
      if (error instanceof AppError && error.code === 'prune_busy') logger.info({ code: error.code }, error.message)
      else logger.error({ err: error }, 'prune failed')
    }
  }

  return {
    prune,
    /** When a prune (or its lease) says who prunes and what it removed last. */
    lastReport: () => store.lastReport(),
    prunedRun: (id: string) => store.prunedRun(id),
    retentionMs: deps.retentionMs,
    /**
     * Prunes every `everyMs`, counted from the start of the last prune any instance made (a restart does not reset it); the
     * lease makes the instances take turns. Off when retention is off.
     */
    async start(everyMs = PRUNE_EVERY_MS, firstAfterMs = PRUNE_START_DELAY_MS): Promise<void> {
      if (deps.retentionMs === null) return
      stopping = false
      /** How long until a prune is due: `everyMs` after the last one any instance started (its report in kv). */
      const dueIn = async (): Promise<number> => {
        const last = await store.lastReport().catch(() => undefined)
        return (last ? Date.parse(last.started_at) : Number.NEGATIVE_INFINITY) + everyMs - clock.now()
      }
      const plan = (ms: number) => {
        timer = setTimeout(() => void fire(), Math.max(0, Math.min(ms, 2_147_000_000)))
        timer.unref()
      }
      // Each instance looks when its timer fires: whoever pruned last, the next prune is due an interval later.
      // Looking again at least a minute later keeps a loser of the lease (or a failing prune) from spinning.
      const fire = async (): Promise<void> => {
        try {
          if ((await dueIn()) <= 0) await tick()
        } finally {
          if (!stopping) plan(Math.max(RETRY_MS, await dueIn().catch(() => everyMs)))
        }
      }
      // Never at once: a server that restarts is busy catching up, and a crash loop must not prune on every start.
      plan(Math.max(firstAfterMs, await dueIn()))
    },
    /** Stops the timer; a prune in progress ends after its current batch. */
    async stop(): Promise<void> {
      stopping = true
      clearTimeout(timer)
      await running
    },
  }
}

export type Retention = ReturnType<typeof createRetention>
