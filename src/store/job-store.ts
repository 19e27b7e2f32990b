// Job leases on `waits` rows of kind `job`: claim the oldest open job of a type, extend a lease, all fenced by token.
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm'
import type { JobLeaseStore } from '../engine/jobs.ts'
import type { Database } from './database.ts'
import { waits } from './schema.ts'

export function createJobStore(database: Database): JobLeaseStore {
  const { db } = database
  const claimable = (type: string, now: number) =>
    and(
      eq(waits.kind, 'job'),
      eq(waits.status, 'open'),
      eq(waits.jobType, type),
      or(isNull(waits.leaseExpiresAt), lt(waits.leaseExpiresAt, now)),
      or(isNull(waits.deadlineAt), sql`${waits.deadlineAt} >= ${now}`),
    )
  return {
    async claim(type, now, leaseMs, lease) {
      // A read first, so idle long polls never take the write lock.
      const candidate = await db.select({ id: waits.id }).from(waits).where(claimable(type, now)).limit(1).get()
      if (!candidate) return undefined
      return database.write(async (tx) => {
        const row = await tx
          .select({ id: waits.id })
          .from(waits)
          .where(claimable(type, now))
          .orderBy(asc(waits.createdAt), asc(waits.id))
          .limit(1)
          .get()
        if (!row) return undefined
        return tx
          .update(waits)
          .set({ leaseOwner: lease, leaseExpiresAt: now + leaseMs, attempts: sql`${waits.attempts} + 1` })
          .where(and(eq(waits.id, row.id), claimable(type, now)))
          .returning({
            id: waits.id,
            runId: waits.runId,
            stepId: waits.stepId,
            visit: waits.visit,
            spec: waits.spec,
            attempts: waits.attempts,
            leaseExpiresAt: waits.leaseExpiresAt,
            deadlineAt: waits.deadlineAt,
          })
          .get()
      }) as never
    },

    async extend(id, lease, until) {
      const rows = await database.write((tx) =>
        tx
          .update(waits)
          .set({ leaseExpiresAt: until })
          .where(and(eq(waits.id, id), eq(waits.leaseOwner, lease), eq(waits.status, 'open')))
          .returning({ id: waits.id }),
      )
      return rows.length > 0
    },
  }
}
