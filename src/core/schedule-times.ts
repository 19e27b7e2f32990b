// When schedule ticks fall (croner, in the schedule's IANA time zone) and which tick to fire after a delay or downtime.
import { Cron } from 'croner'
import type { ScheduleTrigger } from './flow/index.ts'

/** A tick this late still counts as on time; an older one was missed (the instances were down) and `catch_up` rules. */
export const ON_TIME_GRACE_MS = 60_000

/** The schedule's identity within its flow: position, cron and zone. Changing any of them makes a new schedule. */
export function scheduleId(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>, index: number): string {
  return `${index}:${schedule.cron}@${schedule.timezone}`
}

function cronOf(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>): Cron {
  // No callback, so croner starts no timer: it only computes dates.
  return new Cron(schedule.cron, { timezone: schedule.timezone })
}

/** The first `count` ticks strictly after `after` (unix ms). */
export function nextTicks(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>, after: number, count = 1): number[] {
  return cronOf(schedule)
    .nextRuns(count, new Date(after))
    .map((d) => d.getTime())
}

/** The first tick strictly after `after`, or null when the expression never fires again. */
export function nextTick(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>, after: number): number | null {
  return nextTicks(schedule, after, 1)[0] ?? null
}

/** The most recent tick at or before `at`, or null. */
export function latestTick(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>, at: number): number | null {
  const found = cronOf(schedule)
    .previousRuns(1, new Date(at + 1))
    .map((d) => d.getTime())
    .find((t) => t <= at)
  return found ?? null
}

export type TickDecision =
  | { fire: true; tickAt: number; late: boolean; missed: number }
  | { fire: false; tickAt: number; missed: number }

/**
 * A schedule's timer was due at `dueAt` (itself a tick) and fires at `now`. The latest tick in [dueAt, now] fires when
 * it is on time (within the grace); ticks before it are skipped either way, so a slow instance never fires a burst.
 * When even the latest is older than the grace, the instances were down: `catch_up: latest` fires it once, `none`
 * fires nothing. `missed` counts the ticks that do not fire (for the log).
 */
export function decideTick(
  schedule: Pick<ScheduleTrigger, 'cron' | 'timezone' | 'catch_up'>,
  dueAt: number,
  now: number,
): TickDecision {
  const latest = Math.max(latestTick(schedule, now) ?? dueAt, dueAt)
  const skipped = latest === dueAt ? 0 : countTicks(schedule, dueAt, latest)
  if (now - latest <= ON_TIME_GRACE_MS) return { fire: true, tickAt: latest, late: false, missed: skipped }
  if (schedule.catch_up === 'latest') return { fire: true, tickAt: latest, late: true, missed: skipped }
  return { fire: false, tickAt: latest, missed: skipped + 1 }
}

/** Ticks in [from, to), capped: only a log line reads it. */
function countTicks(schedule: Pick<ScheduleTrigger, 'cron' | 'timezone'>, from: number, to: number, cap = 1_000) {
  const cron = cronOf(schedule)
  let n = 0
  for (let t: Date | null = new Date(from); t !== null && t.getTime() < to && n < cap; t = cron.nextRun(t)) n++
  return n
}
