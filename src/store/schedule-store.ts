// Schedule timers (rows in `timers`, kind `schedule`, one pending per schedule) and the ticks they fired.
import { and, desc, eq, sql } from 'drizzle-orm'
import { type ArmedTick, SCHEDULE_TIMER, type ScheduleStore } from '../engine/schedules.ts'
import type { Database, Tx } from './database.ts'
import { flowRevisions, flows, scheduleTicks, timers } from './schema.ts'

/** Keys are unique forever (fired rows stay), so each tick of each schedule has its own. */
const timerKey = (slug: string, tick: ArmedTick) => `${SCHEDULE_TIMER}:${slug}:${tick.schedule}:${tick.fireAt}`
// Slugs hold no ':', so this prefix matches exactly the flow's timers. No LIKE: '_' is a wildcard there.
const ofFlow = (slug: string) => {
  const prefix = `${SCHEDULE_TIMER}:${slug}:`
  return and(eq(timers.kind, SCHEDULE_TIMER), sql`substr(${timers.key}, 1, ${prefix.length}) = ${prefix}`)
}

async function pendingOf(tx: Tx | Database['db'], slug: string) {
  const rows = await tx
    .select({ id: timers.id, fireAt: timers.fireAt, data: timers.data })
    .from(timers)
    .where(and(ofFlow(slug), eq(timers.status, 'pending')))
    .all()
  return rows.map((r) => ({
    id: r.id,
    schedule: String((r.data as { schedule?: unknown } | null)?.schedule ?? ''),
    fireAt: r.fireAt,
  }))
}

/** Arms a tick; a canceled row with the same key (a schedule promoted away and back) is armed again. */
async function arm(tx: Tx, slug: string, tick: ArmedTick, at: number): Promise<void> {
  await tx
    .insert(timers)
    .values({
      kind: SCHEDULE_TIMER,
      key: timerKey(slug, tick),
      runId: null,
      waitId: null,
      fireAt: tick.fireAt,
      data: { flow: slug, schedule: tick.schedule },
      status: 'pending',
      createdAt: at,
    })
    .onConflictDoUpdate({
      target: timers.key,
      set: { status: 'pending', claimedBy: null, claimedUntil: null },
      setWhere: eq(timers.status, 'canceled'),
    })
}

export function createScheduleStore(database: Database): ScheduleStore {
  const { db } = database
  return {
    sync: (slug, desired, at) =>
      database.write(async (tx) => {
        const flow = await tx.select({ live: flows.liveVersion }).from(flows).where(eq(flows.slug, slug)).get()
        const revision =
          flow?.live == null
            ? undefined
            : await tx
                .select({ id: flowRevisions.id })
                .from(flowRevisions)
                .where(and(eq(flowRevisions.flowSlug, slug), eq(flowRevisions.version, flow.live)))
                .get()
        const wanted = await desired(revision?.id ?? null)
        const wantedIds = new Set(wanted.map((w) => w.schedule))
        const pending = await pendingOf(tx, slug)
        const canceled: string[] = []
        for (const timer of pending.filter((p) => !wantedIds.has(p.schedule))) {
          await tx.update(timers).set({ status: 'canceled' }).where(eq(timers.id, timer.id))
          canceled.push(timer.schedule)
        }
        const armedIds = new Set(pending.map((p) => p.schedule))
        const armed: string[] = []
        for (const tick of wanted.filter((w) => !armedIds.has(w.schedule))) {
          await arm(tx, slug, tick, at)
          armed.push(tick.schedule)
        }
        return { armed, canceled }
      }),

    advance: (timer, slug, next, at) =>
      database.write(async (tx) => {
        const fired = await tx
          .update(timers)
          .set({ status: 'fired', firedAt: at })
          .where(and(eq(timers.id, timer), eq(timers.status, 'pending')))
          .returning({ id: timers.id })
        if (fired.length === 0 || next === null) return
        // Another instance's sync may have armed this schedule meanwhile; one chain of timers per schedule.
        if ((await pendingOf(tx, slug)).some((p) => p.schedule === next.schedule)) return
        await arm(tx, slug, next, at)
      }),

    recordTick: async (slug, schedule, tickAt, at) => {
      await database.write((tx) =>
        tx
          .insert(scheduleTicks)
          .values({ flowSlug: slug, schedule, tickAt, runId: null, createdAt: at })
          .onConflictDoNothing(),
      )
    },

    pending: async (slug) => (await pendingOf(db, slug)).map(({ schedule, fireAt }) => ({ schedule, fireAt })),

    lastTicks: async (slug) => {
      const rows = await db
        .select({ schedule: scheduleTicks.schedule, tickAt: scheduleTicks.tickAt, runId: scheduleTicks.runId })
        .from(scheduleTicks)
        .where(eq(scheduleTicks.flowSlug, slug))
        .orderBy(desc(scheduleTicks.tickAt))
        .limit(200)
        .all()
      const latest = new Map<string, (typeof rows)[number]>()
      for (const row of rows) if (!latest.has(row.schedule)) latest.set(row.schedule, row)
      return [...latest.values()]
    },
  }
}
