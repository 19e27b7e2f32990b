// The outbox repository: durable Slack calls, claimed one at a time per lane (run or channel) in enqueue order.
import { and, count, eq, lte, min } from 'drizzle-orm'
import type {
  ClaimedOutboxItem,
  OutboxEntry,
  OutboxItem,
  OutboxMethod,
  OutboxResult,
  OutboxStatus,
  OutboxStore,
} from '../engine/outbox-port.ts'
import type { Database } from './database.ts'
import { outbox } from './schema.ts'
import type { SqlArg, SqlRunner } from './sql-connection.ts'
import { tableCodec } from './sql-table.ts'

/** The `payload` column holds this envelope: the schema has no `depends_on` column, so the dependency rides along. */
interface StoredPayload {
  args: Record<string, unknown>
  dependsOn: string | null
}

type Row = typeof outbox.$inferSelect

// The claim loop runs after every Slack-visible change: plain SQL on cached statements, not a query built per call.
const outboxTable = tableCodec(outbox)
const stored = (row: Row): StoredPayload => row.payload as StoredPayload

/** Lane of a row: its run, else the channel it posts to; NULL (no ordering) when it has neither. */
const laneOf = (t: string) => `coalesce(${t}.run_id, 'channel:' || json_extract(${t}.payload, '$.args.channel'))`
const UNCLAIMED = '(claimed_until IS NULL OR claimed_until < ?)'

function laneOfRow(row: Row): string | null {
  const channel = stored(row).args.channel
  return row.runId ?? (channel === undefined || channel === null ? null : `channel:${String(channel)}`)
}

const readRows = async (sql: SqlRunner, text: string, args: SqlArg[]): Promise<Row[]> =>
  (await sql.rows(text, args)).map((values) => outboxTable.decodeRow(values))

/** Inserts the item; true when the key is new. */
async function insertOutboxItem(sql: SqlRunner, item: OutboxItem, now: number): Promise<boolean> {
  const payload: StoredPayload = { args: item.payload, dependsOn: item.dependsOn ?? null }
  const insert = outboxTable.insert(
    {
      key: item.key,
      runId: item.runId ?? null,
      method: item.method,
      payload,
      status: 'pending',
      nextAttemptAt: now,
      createdAt: now,
    },
    ' ON CONFLICT (key) DO NOTHING',
  )
  return (await sql.run(insert.sql, insert.args)).changes > 0
}

function toEntry(row: Row): OutboxEntry {
  return {
    key: row.key,
    runId: row.runId,
    method: row.method as OutboxMethod,
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    result: (row.result as OutboxResult | null) ?? null,
    error: row.error,
    createdAt: row.createdAt,
    sentAt: row.sentAt,
  }
}

/** The message a `chat.update` edits: its dependency, or the literal channel and ts. */
function updateTarget(row: Row): string {
  const { args, dependsOn } = stored(row)
  return dependsOn === null ? `msg:${String(args.channel)}:${String(args.ts)}` : `dep:${dependsOn}`
}

/** Due pending items with no earlier pending item in their lane, oldest first. */
async function dueHeads(sql: SqlRunner, now: number, limit: number, exclude: readonly string[]): Promise<Row[]> {
  const excluded = exclude.length > 0 ? ` AND method NOT IN (${exclude.map(() => '?').join(', ')})` : ''
  return readRows(
    sql,
    `${outboxTable.select} WHERE status = 'pending' AND next_attempt_at <= ? AND ${UNCLAIMED}${excluded}
     AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' AND p.id < outbox.id
       AND ${laneOf('p')} = ${laneOf('outbox')})
     ORDER BY id LIMIT ?`,
    [now, now, ...exclude, limit],
  )
}

/** Newer pending updates of the same message as `head`, oldest first. */
async function sameMessageUpdates(sql: SqlRunner, head: Row, now: number): Promise<Row[]> {
  const rows = await readRows(
    sql,
    `${outboxTable.select} WHERE status = 'pending' AND method = 'chat.update' AND id > ? AND ${UNCLAIMED}
     AND ${laneOf('outbox')} IS ? ORDER BY id`,
    [head.id, now, laneOfRow(head)],
  )
  const target = updateTarget(head)
  return rows.filter((row) => updateTarget(row) === target)
}

type Readiness = { ready: true; dependency: OutboxResult | null } | { ready: false; failWith?: string }

async function byKey(sql: SqlRunner, key: string): Promise<Row | undefined> {
  const row = await sql.row(`${outboxTable.select} WHERE key = ?`, [key])
  return row ? outboxTable.decodeRow(row) : undefined
}

async function dependencyOf(sql: SqlRunner, row: Row): Promise<Readiness> {
  const { dependsOn } = stored(row)
  if (dependsOn === null) return { ready: true, dependency: null }
  const dep = await byKey(sql, dependsOn)
  if (!dep) return { ready: false, failWith: `dependency_not_found: ${dependsOn}` }
  if (dep.status === 'sent') return { ready: true, dependency: (dep.result as OutboxResult | null) ?? {} }
  if (dep.status === 'pending') return { ready: false }
  return { ready: false, failWith: `dependency_${dep.status}: ${dependsOn}${dep.error ? ` (${dep.error})` : ''}` }
}

async function claimOne(sql: SqlRunner, row: Row, owner: string, now: number, claimMs: number): Promise<boolean> {
  const claimed = await sql.run(
    `UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
     WHERE id = ? AND status = 'pending' AND ${UNCLAIMED}`,
    [owner, now + claimMs, row.id, now],
  )
  return claimed.changes > 0
}

async function finish(sql: SqlRunner, id: number, set: Partial<Row>): Promise<boolean> {
  const assign = outboxTable.assignments({ ...set, claimedBy: null, claimedUntil: null })
  const changed = await sql.run(`UPDATE outbox SET ${assign.sql} WHERE id = ? AND status = 'pending'`, [
    ...assign.args,
    id,
  ])
  return changed.changes > 0
}

export function createOutboxStore(database: Database): OutboxStore {
  const { db } = database

  const claimDue: OutboxStore['claimDue'] = (owner, now, claimMs, limit, options = {}) =>
    database.write(async (_tx, sql) => {
      // Over-fetch: some heads wait on a dependency, and those do not count towards `limit`.
      const heads = await dueHeads(sql, now, limit * 4, options.excludeMethods ?? [])
      const out: ClaimedOutboxItem[] = []
      for (const head of heads) {
        if (out.length >= limit) break
        const readiness = await dependencyOf(sql, head)
        if (!readiness.ready) {
          if (readiness.failWith) await finish(sql, head.id, { status: 'failed', error: readiness.failWith })
          continue
        }
        let chosen = head
        const supersedes: string[] = []
        if (head.method === 'chat.update') {
          const newer = await sameMessageUpdates(sql, head, now)
          const newest = newer.at(-1)
          if (newest) {
            for (const old of [head, ...newer.slice(0, -1)]) {
              await finish(sql, old.id, { status: 'superseded', error: `superseded_by: ${newest.key}` })
              supersedes.push(old.key)
            }
            chosen = newest
          }
        }
        const reclaimed = chosen.claimedBy !== null
        if (!(await claimOne(sql, chosen, owner, now, claimMs))) continue
        const { args, dependsOn } = stored(chosen)
        out.push({
          id: chosen.id,
          key: chosen.key,
          runId: chosen.runId,
          method: chosen.method as OutboxMethod,
          args,
          dependsOn,
          dependency: readiness.dependency,
          attempts: chosen.attempts + 1,
          createdAt: chosen.createdAt,
          reclaimed,
          supersedes,
        })
      }
      return out
    })

  return {
    enqueue: (item, now) => database.write((_tx, sql) => insertOutboxItem(sql, item, now)),
    claimDue,
    markSent: (id, result, now) =>
      database.write((_tx, sql) => finish(sql, id, { status: 'sent', result, sentAt: now, error: null })),
    markRetry: (id, error, nextAttemptAt) => database.write((_tx, sql) => finish(sql, id, { error, nextAttemptAt })),
    markFailed: (id, error) => database.write((_tx, sql) => finish(sql, id, { status: 'failed', error })),
    get: async (key) => {
      const row = await byKey(database.sql, key)
      return row ? toEntry(row) : undefined
    },
    runsBehind: async (prefix) =>
      (
        await database.sql.all(
          `SELECT r.id FROM runs r
           WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = ? || r.id || ':' || r.event_count)
           ORDER BY r.updated_at DESC`,
          [prefix],
        )
      ).map((row) => String(row.id)),
    pending: async (now) => {
      const [pending] = await db
        .select({ n: count(), oldest: min(outbox.createdAt) })
        .from(outbox)
        .where(eq(outbox.status, 'pending'))
      const [due] = await db
        .select({ n: count() })
        .from(outbox)
        .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now)))
      const [failed] = await db.select({ n: count() }).from(outbox).where(eq(outbox.status, 'failed'))
      return {
        pending: pending?.n ?? 0,
        due: due?.n ?? 0,
        failed: failed?.n ?? 0,
        oldestPendingAt: pending?.oldest ?? null,
      }
    },
  }
}
