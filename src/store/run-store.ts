// Runs, step results, waits, votes, timers and the event chain: every state change is one transaction here.
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm'
import { eventHash } from '../core/hash-chain.ts'
import { ACTIVE_STATUSES } from '../core/run-status.ts'
import type {
  CommitResult,
  NewEvent,
  RunRecord,
  RunStore,
  StepRunRecord,
  TimerRecord,
  Transition,
  VoteRecord,
  WaitRecord,
} from '../engine/run-ports.ts'
import type { Database, Tx } from './database.ts'
import { runEvents, runs, stepRuns, timers, votes, waits } from './schema.ts'
import { claimTrigger, releaseSkippedClaim } from './trigger-claims.ts'

class Abort extends Error {
  constructor(readonly conflict: NonNullable<CommitResult['conflict']>) {
    super(conflict)
  }
}

/** Rolls back a transact() whose transition hit a fence, keeping the caller's result. */
class AbortWith extends Abort {
  constructor(
    conflict: NonNullable<CommitResult['conflict']>,
    readonly result: unknown,
  ) {
    super(conflict)
  }
}

const toRun = (row: typeof runs.$inferSelect): RunRecord => row as unknown as RunRecord
const toWait = (row: typeof waits.$inferSelect): WaitRecord => row as unknown as WaitRecord

interface RunHead {
  owner: string | null
  status: string
  count: number
  hash: string
}

async function readHead(tx: Tx, runId: string): Promise<RunHead | undefined> {
  return tx
    .select({ owner: runs.leaseOwner, status: runs.status, count: runs.eventCount, hash: runs.lastEventHash })
    .from(runs)
    .where(eq(runs.id, runId))
    .get()
}

/** Inserts the events chained after `head`; returns the new head for the caller to store on the run row. */
async function insertEvents(
  tx: Tx,
  runId: string,
  at: number,
  head: { count: number; hash: string },
  events: NewEvent[],
) {
  let prev = head.hash
  let seq = head.count
  const rows = events.map((e) => {
    seq++
    const event = { runId, seq, type: e.type, at, actor: e.actor ?? null, stepId: e.stepId ?? null, data: e.data ?? {} }
    const hash = eventHash(prev, event)
    const row = { ...event, prevHash: prev, hash }
    prev = hash
    return row
  })
  if (rows.length > 0) await tx.insert(runEvents).values(rows)
  return { eventCount: seq, lastEventHash: prev }
}

async function appendEvents(tx: Tx, runId: string, at: number, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return
  const head = await readHead(tx, runId)
  if (!head) throw new Error(`run ${runId} vanished`)
  const next = await insertEvents(tx, runId, at, head, events)
  await tx.update(runs).set(next).where(eq(runs.id, runId))
}

/** Starts the oldest queued run of the flow and key when a slot is free. */
async function promoteQueued(
  tx: Tx,
  slot: NonNullable<Transition['releaseSlot']>,
  at: number,
): Promise<string | undefined> {
  const sameKey = slot.key === null ? isNull(runs.concurrencyKey) : eq(runs.concurrencyKey, slot.key)
  const active = await tx
    .select({ n: sql<number>`count(*)` })
    .from(runs)
    .where(and(eq(runs.flowSlug, slot.flowSlug), sameKey, inArray(runs.status, [...ACTIVE_STATUSES])))
    .get()
  if ((active?.n ?? 0) >= slot.limit) return undefined
  const next = await tx
    .select({ id: runs.id })
    .from(runs)
    .where(and(eq(runs.flowSlug, slot.flowSlug), sameKey, eq(runs.status, 'queued')))
    .orderBy(asc(runs.createdAt), asc(runs.id))
    .limit(1)
    .get()
  if (!next) return undefined
  await tx
    .update(runs)
    .set({ status: 'running', runnableAt: at, startedAt: at, updatedAt: at })
    .where(eq(runs.id, next.id))
  await appendEvents(tx, next.id, at, [{ type: 'run.dequeued', data: {} }])
  return next.id
}

async function applyTransition(tx: Tx, t: Transition): Promise<CommitResult> {
  if (t.fireTimer !== undefined) {
    const fired = await tx
      .update(timers)
      .set({ status: 'fired', firedAt: t.at })
      .where(and(eq(timers.id, t.fireTimer), eq(timers.status, 'pending')))
      .returning({ id: timers.id })
    if (fired.length === 0) throw new Abort('timer_fired')
  }
  // One read serves the fences and the event chain's head; one update writes the run and the new head.
  const head = await readHead(tx, t.runId)
  if (!head) throw new Abort('fence')
  if (t.fenceOwner !== undefined && head.owner !== t.fenceOwner) throw new Abort('fence')
  if (t.fenceStatus !== undefined && !t.fenceStatus.includes(head.status as never)) throw new Abort('fence')
  if (t.updateWait) {
    const updated = await tx
      .update(waits)
      .set(t.updateWait.patch as Partial<typeof waits.$inferInsert>)
      .where(and(eq(waits.id, t.updateWait.id), inArray(waits.status, t.updateWait.fromStatus)))
      .returning({ id: waits.id })
    if (updated.length === 0) throw new Abort('wait_status')
  }
  if (t.insertVote) {
    const inserted = await tx.insert(votes).values(t.insertVote).onConflictDoNothing().returning({ id: votes.id })
    if (inserted.length === 0) throw new Abort('duplicate_vote')
  }
  if (t.insertWait) await tx.insert(waits).values({ ...t.insertWait, attempts: 0 } as typeof waits.$inferInsert)
  const effectResult = t.effect ? await t.effect(tx) : undefined
  if (t.effectIsOutput && t.stepRun) t.stepRun.output = effectResult ?? null
  if (t.effectIsOutput && t.run?.output !== undefined) t.run.output = effectResult ?? null
  if (t.stepRun) {
    const row = { ...t.stepRun, runId: t.runId }
    await tx
      .insert(stepRuns)
      .values(row)
      .onConflictDoUpdate({ target: [stepRuns.runId, stepRuns.stepId, stepRuns.visit], set: row })
  }
  const chain = await insertEvents(tx, t.runId, t.at, head, t.events ?? [])
  await tx
    .update(runs)
    .set({ ...t.run, ...chain, updatedAt: t.at } as Partial<typeof runs.$inferInsert>)
    .where(eq(runs.id, t.runId))
  if (t.cancelTimers && t.cancelTimers.length > 0) {
    await tx
      .update(timers)
      .set({ status: 'canceled' })
      .where(
        and(
          eq(timers.runId, t.runId),
          eq(timers.status, 'pending'),
          // A prefix match without LIKE: ids contain '_', which LIKE treats as a wildcard.
          or(...t.cancelTimers.map((prefix) => sql`substr(${timers.key}, 1, ${prefix.length}) = ${prefix}`)),
        ),
      )
  }
  for (const move of t.rescheduleTimers ?? []) {
    await tx
      .update(timers)
      .set({ fireAt: move.fireAt, claimedBy: null, claimedUntil: null })
      .where(and(eq(timers.runId, t.runId), eq(timers.key, move.key), eq(timers.status, 'pending')))
  }
  for (const timer of t.armTimers ?? []) {
    await tx
      .insert(timers)
      .values({
        ...timer,
        runId: t.runId,
        status: 'pending',
        createdAt: t.at,
        waitId: timer.waitId ?? null,
        data: timer.data ?? null,
      })
      .onConflictDoNothing()
  }
  const promoted = t.releaseSlot ? await promoteQueued(tx, t.releaseSlot, t.at) : undefined
  return { ok: true, effectResult, ...(promoted ? { promoted } : {}) }
}

/** A run this instance may pick up now: running, due, and not leased by a live instance. */
const runnable = (now: number) =>
  and(eq(runs.status, 'running'), lte(runs.runnableAt, now), or(isNull(runs.leaseOwner), lt(runs.leaseExpiresAt, now)))

/** A timer that is due and not claimed by a live instance. */
const dueTimer = (now: number) =>
  and(
    eq(timers.status, 'pending'),
    lte(timers.fireAt, now),
    or(isNull(timers.claimedUntil), lt(timers.claimedUntil, now)),
  )

export function createRunStore(database: Database): RunStore {
  const { db } = database
  // The hottest reads are built once (drizzle prepared queries); building SQL per call was a large share of CPU.
  const byId = sql.placeholder('id')
  const prepared = {
    run: db.select().from(runs).where(eq(runs.id, byId)).prepare(),
    wait: db.select().from(waits).where(eq(waits.id, byId)).prepare(),
    waitAt: db
      .select()
      .from(waits)
      .where(
        and(
          eq(waits.runId, sql.placeholder('run')),
          eq(waits.stepId, sql.placeholder('step')),
          eq(waits.visit, sql.placeholder('visit')),
        ),
      )
      .prepare(),
    stepRuns: db.select().from(stepRuns).where(eq(stepRuns.runId, byId)).orderBy(asc(stepRuns.startedAt)).prepare(),
  }

  return {
    async createRun(input, concurrency) {
      return database.write(async (tx) => {
        const { run } = input
        let status = run.status
        if (input.claim) {
          const claim = await claimTrigger(tx, run.flowSlug, input.claim, run.id, run.createdAt)
          if (!claim.claimed) return { run: run as RunRecord, duplicateOf: claim.runId }
        }
        if (concurrency) {
          const sameKey =
            run.concurrencyKey === null ? isNull(runs.concurrencyKey) : eq(runs.concurrencyKey, run.concurrencyKey)
          const active = await tx
            .select({ id: runs.id })
            .from(runs)
            .where(and(eq(runs.flowSlug, run.flowSlug), sameKey, inArray(runs.status, [...ACTIVE_STATUSES, 'queued'])))
            .orderBy(asc(runs.createdAt))
            .all()
          if (active.length >= concurrency.limit) {
            if (concurrency.onConflict === 'skip') {
              if (input.claim) await releaseSkippedClaim(tx, run.flowSlug, input.claim)
              return { run: run as RunRecord, skippedBecause: active.map((r) => r.id) }
            }
            if (concurrency.onConflict === 'queue') status = 'queued'
            else {
              for (const victim of active) {
                await tx
                  .update(runs)
                  .set({
                    status: 'canceled',
                    endedAt: run.createdAt,
                    updatedAt: run.createdAt,
                    leaseOwner: null,
                    waitingOn: null,
                  })
                  .where(eq(runs.id, victim.id))
                await tx
                  .update(waits)
                  .set({ status: 'canceled' })
                  .where(and(eq(waits.runId, victim.id), eq(waits.status, 'open')))
                await tx
                  .update(timers)
                  .set({ status: 'canceled' })
                  .where(and(eq(timers.runId, victim.id), eq(timers.status, 'pending')))
                await appendEvents(tx, victim.id, run.createdAt, [
                  { type: 'run.canceled', actor: run.initiator, data: { reason: 'concurrency', replaced_by: run.id } },
                ])
              }
            }
          }
        }
        const row = {
          ...run,
          status,
          startedAt: status === 'running' ? run.createdAt : null,
          runnableAt: status === 'running' ? run.createdAt : null,
          leaseOwner: status === 'running' ? (run.leaseOwner ?? null) : null,
          leaseExpiresAt: status === 'running' ? (run.leaseExpiresAt ?? null) : null,
          eventCount: 0,
          lastEventHash: '',
        }
        await tx.insert(runs).values(row as typeof runs.$inferInsert)
        await appendEvents(tx, run.id, run.createdAt, [
          ...input.events,
          ...(status === 'queued' ? [{ type: 'run.queued', data: { key: run.concurrencyKey } }] : []),
        ])
        return { run: { ...(row as RunRecord), status } }
      })
    },

    async transact(decide) {
      try {
        return await database.write(async (tx) => {
          const view = {
            getRun: async (id: string) => {
              const row = await tx.select().from(runs).where(eq(runs.id, id)).get()
              return row ? toRun(row) : undefined
            },
            getWait: async (id: string) => {
              const row = await tx.select().from(waits).where(eq(waits.id, id)).get()
              return row ? toWait(row) : undefined
            },
            getWaitAt: async (runId: string, stepId: string, visit: number) => {
              const row = await tx
                .select()
                .from(waits)
                .where(and(eq(waits.runId, runId), eq(waits.stepId, stepId), eq(waits.visit, visit)))
                .get()
              return row ? toWait(row) : undefined
            },
            votes: async (waitId: string) =>
              (await tx
                .select()
                .from(votes)
                .where(eq(votes.waitId, waitId))
                .orderBy(asc(votes.at), asc(votes.id))
                .all()) as VoteRecord[],
          }
          const { transition, result } = await decide(view)
          try {
            const commit = transition ? await applyTransition(tx, transition) : null
            return { result, commit }
          } catch (error) {
            if (error instanceof Abort) throw new AbortWith(error.conflict, result)
            throw error
          }
        })
      } catch (error) {
        if (error instanceof AbortWith)
          return { result: error.result as never, commit: { ok: false, conflict: error.conflict } }
        throw error
      }
    },

    async commit(t) {
      try {
        return await database.write((tx) => applyTransition(tx, t))
      } catch (error) {
        if (error instanceof Abort) return { ok: false, conflict: error.conflict }
        throw error
      }
    },

    getRun: async (id) => {
      const row = await prepared.run.get({ id })
      return row ? toRun(row) : undefined
    },

    listRuns: async (q) => {
      const where = and(
        q.flow ? eq(runs.flowSlug, q.flow) : undefined,
        q.status && q.status.length > 0 ? inArray(runs.status, q.status) : undefined,
        q.before ? lt(runs.id, q.before) : undefined,
      )
      return (await db.select().from(runs).where(where).orderBy(desc(runs.id)).limit(q.limit).all()).map(toRun)
    },

    stepRuns: async (runId) => (await prepared.stepRuns.all({ id: runId })) as StepRunRecord[],

    events: async (runId, afterSeq = 0) =>
      db
        .select()
        .from(runEvents)
        .where(and(eq(runEvents.runId, runId), gt(runEvents.seq, afterSeq)))
        .orderBy(asc(runEvents.seq))
        .all(),

    claimRunnable: async (owner, now, leaseMs, limit) => {
      // Look without the write lock first: an idle instance polls often and must not queue behind writers.
      const any = await db.select({ id: runs.id }).from(runs).where(runnable(now)).limit(1).get()
      if (!any) return []
      return database.write(async (tx) => {
        const due = await tx
          .select({ id: runs.id })
          .from(runs)
          .where(runnable(now))
          .orderBy(asc(runs.runnableAt))
          .limit(limit)
          .all()
        if (due.length === 0) return []
        const claimed = await tx
          .update(runs)
          .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs })
          .where(
            and(
              inArray(
                runs.id,
                due.map((r) => r.id),
              ),
              or(isNull(runs.leaseOwner), lt(runs.leaseExpiresAt, now)),
            ),
          )
          .returning()
        return claimed.map(toRun)
      })
    },

    claimRun: async (id, owner, now, leaseMs) =>
      database.write(async (tx) => {
        const [row] = await tx
          .update(runs)
          .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs })
          .where(
            and(
              eq(runs.id, id),
              eq(runs.status, 'running'),
              or(isNull(runs.leaseOwner), eq(runs.leaseOwner, owner), lt(runs.leaseExpiresAt, now)),
            ),
          )
          .returning()
        return row ? toRun(row) : undefined
      }),

    renewLease: async (id, owner, until) =>
      database.write(async (tx) => {
        const updated = await tx
          .update(runs)
          .set({ leaseExpiresAt: until })
          .where(and(eq(runs.id, id), eq(runs.leaseOwner, owner)))
          .returning({ id: runs.id })
        return updated.length > 0
      }),

    releaseLeases: async (owner) => {
      await database.write((tx) =>
        tx.update(runs).set({ leaseOwner: null, leaseExpiresAt: null }).where(eq(runs.leaseOwner, owner)),
      )
    },

    getWait: async (id) => {
      const row = await prepared.wait.get({ id })
      return row ? toWait(row) : undefined
    },

    getWaitAt: async (runId, stepId, visit) => {
      const row = await prepared.waitAt.get({ run: runId, step: stepId, visit })
      return row ? toWait(row) : undefined
    },

    listWaits: async (q) =>
      (
        await db
          .select()
          .from(waits)
          .where(
            and(
              q.status ? inArray(waits.status, q.status) : undefined,
              q.runId ? eq(waits.runId, q.runId) : undefined,
              q.kind ? eq(waits.kind, q.kind) : undefined,
            ),
          )
          .orderBy(desc(waits.createdAt))
          .limit(q.limit)
          .all()
      ).map(toWait),

    votes: async (waitId) =>
      (await db
        .select()
        .from(votes)
        .where(eq(votes.waitId, waitId))
        .orderBy(asc(votes.at), asc(votes.id))
        .all()) as VoteRecord[],

    insertEarlyWait: async (wait) =>
      database.write(async (tx) => {
        const inserted = await tx
          .insert(waits)
          .values({ ...wait, attempts: 0 } as typeof waits.$inferInsert)
          .onConflictDoNothing()
          .returning({ id: waits.id })
        return inserted.length > 0
      }),

    claimDueTimers: async (owner, now, claimMs, limit) => {
      const any = await db.select({ id: timers.id }).from(timers).where(dueTimer(now)).limit(1).get()
      if (!any) return []
      return database.write(async (tx) => {
        const due = await tx
          .select({ id: timers.id })
          .from(timers)
          .where(dueTimer(now))
          .orderBy(asc(timers.fireAt))
          .limit(limit)
          .all()
        if (due.length === 0) return []
        const claimed = await tx
          .update(timers)
          .set({ claimedBy: owner, claimedUntil: now + claimMs })
          .where(
            inArray(
              timers.id,
              due.map((t) => t.id),
            ),
          )
          .returning()
        return claimed as TimerRecord[]
      })
    },

    finishTimer: async (id, at) => {
      await database.write((tx) =>
        tx
          .update(timers)
          .set({ status: 'fired', firedAt: at })
          .where(and(eq(timers.id, id), eq(timers.status, 'pending'))),
      )
    },

    usage: async (fromMs, toMs) =>
      db
        .select({ flow: runs.flowSlug, kind: stepRuns.kind, executions: sql<number>`count(*)` })
        .from(stepRuns)
        .innerJoin(runs, eq(runs.id, stepRuns.runId))
        .where(and(eq(stepRuns.billable, true), gte(stepRuns.startedAt, fromMs), lt(stepRuns.startedAt, toMs)))
        .groupBy(runs.flowSlug, stepRuns.kind)
        .all(),
  }
}

export type { VoteRecord }
