// The outbox repository: durable Slack calls, claimed one at a time per lane (run or channel) in enqueue order.
import { and, asc, count, eq, gt, isNull, lt, lte, min, notExists, notInArray, or, type SQL, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import type { OutboxEntry, OutboxItem, OutboxMethod, OutboxResult, OutboxStatus } from '../slack/outbox-port.ts'
import type { Database, Tx } from './database.ts'
import { outbox } from './schema.ts'

/** The `payload` column holds this envelope: the schema has no `depends_on` column, so the dependency rides along. */
interface StoredPayload {
  args: Record<string, unknown>
  dependsOn: string | null
}

type Row = typeof outbox.$inferSelect

export interface ClaimedOutboxItem {
  id: number
  key: string
  runId: string | null
  method: OutboxMethod
  args: Record<string, unknown>
  dependsOn: string | null
  /** The dependency's result (the dependency is `sent`), or null when the item has none. */
  dependency: OutboxResult | null
  /** Attempts so far, this one included. */
  attempts: number
  createdAt: number
  /** An earlier claim expired without an outcome: that attempt may have reached Slack. */
  reclaimed: boolean
  /** Keys of the older pending updates of the same message this one replaced. */
  supersedes: string[]
}

export interface OutboxCounts {
  pending: number
  /** Pending and due now (not waiting on a backoff). */
  due: number
  failed: number
  oldestPendingAt: number | null
}

export interface OutboxStore {
  /** INSERT … ON CONFLICT(key) DO NOTHING; true when the row is new. */
  enqueue(item: OutboxItem, now: number): Promise<boolean>
  /**
   * Claims up to `limit` due items. Only the oldest pending item of each lane is claimable, so an item is sent only
   * after every earlier item of its run is `sent`, `failed` or `superseded`. Items whose dependency is not `sent`
   * wait; items whose dependency failed (or is unknown) are failed here. A due `chat.update` claims the newest
   * pending update of the same message instead and marks the older ones `superseded`.
   */
  claimDue(
    owner: string,
    now: number,
    claimMs: number,
    limit: number,
    options?: { excludeMethods?: readonly string[] },
  ): Promise<ClaimedOutboxItem[]>
  /** Records Slack's answer; a no-op (false) unless the item is still pending, so the first answer wins. */
  markSent(id: number, result: OutboxResult, now: number): Promise<boolean>
  markRetry(id: number, error: string, nextAttemptAt: number): Promise<boolean>
  markFailed(id: number, error: string): Promise<boolean>
  get(key: string): Promise<OutboxEntry | undefined>
  pending(now: number): Promise<OutboxCounts>
  /**
   * The durable mirror cursor: runs whose newest event has no `<prefix><run id>:<event count>` item, i.e. whose
   * latest state never reached the outbox (a crash between a commit and its enqueue), newest first.
   */
  runsBehind(prefix: string): Promise<string[]>
}

const p = alias(outbox, 'p')

const stored = (row: Row): StoredPayload => row.payload as StoredPayload

/** Lane of a row: its run, else the channel it posts to; NULL (no ordering) when it has neither. */
const laneOf = (t: typeof outbox | typeof p): SQL =>
  sql`coalesce(${t.runId}, 'channel:' || json_extract(${t.payload}, '$.args.channel'))`

function laneOfRow(row: Row): string | null {
  const channel = stored(row).args.channel
  return row.runId ?? (channel === undefined || channel === null ? null : `channel:${String(channel)}`)
}

const unclaimed = (now: number) => or(isNull(outbox.claimedUntil), lt(outbox.claimedUntil, now))

/** Inserts the item inside a caller's transaction, so an engine transition and its Slack message commit together. */
export async function insertOutboxItem(tx: Tx, item: OutboxItem, now: number): Promise<boolean> {
  const payload: StoredPayload = { args: item.payload, dependsOn: item.dependsOn ?? null }
  const inserted = await tx
    .insert(outbox)
    .values({
      key: item.key,
      runId: item.runId ?? null,
      method: item.method,
      payload,
      status: 'pending',
      nextAttemptAt: now,
      createdAt: now,
    })
    .onConflictDoNothing({ target: outbox.key })
    .returning({ id: outbox.id })
  return inserted.length > 0
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

async function dueHeads(tx: Tx, now: number, limit: number, exclude: readonly string[]): Promise<Row[]> {
  const earlierPending = tx
    .select({ one: sql`1` })
    .from(p)
    .where(and(eq(p.status, 'pending'), lt(p.id, outbox.id), sql`${laneOf(p)} = ${laneOf(outbox)}`))
  return tx
    .select()
    .from(outbox)
    .where(
      and(
        eq(outbox.status, 'pending'),
        lte(outbox.nextAttemptAt, now),
        unclaimed(now),
        exclude.length > 0 ? notInArray(outbox.method, [...exclude]) : undefined,
        notExists(earlierPending),
      ),
    )
    .orderBy(asc(outbox.id))
    .limit(limit)
    .all()
}

/** Newer pending updates of the same message as `head`, oldest first. */
async function sameMessageUpdates(tx: Tx, head: Row, now: number): Promise<Row[]> {
  const rows = await tx
    .select()
    .from(outbox)
    .where(
      and(
        eq(outbox.status, 'pending'),
        eq(outbox.method, 'chat.update'),
        gt(outbox.id, head.id),
        unclaimed(now),
        sql`${laneOf(outbox)} IS ${laneOfRow(head)}`,
      ),
    )
    .orderBy(asc(outbox.id))
    .all()
  const target = updateTarget(head)
  return rows.filter((row) => updateTarget(row) === target)
}

type Readiness = { ready: true; dependency: OutboxResult | null } | { ready: false; failWith?: string }

async function dependencyOf(tx: Tx, row: Row): Promise<Readiness> {
  const { dependsOn } = stored(row)
  if (dependsOn === null) return { ready: true, dependency: null }
  const dep = await tx.select().from(outbox).where(eq(outbox.key, dependsOn)).get()
  if (!dep) return { ready: false, failWith: `dependency_not_found: ${dependsOn}` }
  if (dep.status === 'sent') return { ready: true, dependency: (dep.result as OutboxResult | null) ?? {} }
  if (dep.status === 'pending') return { ready: false }
  return { ready: false, failWith: `dependency_${dep.status}: ${dependsOn}${dep.error ? ` (${dep.error})` : ''}` }
}

async function claimOne(tx: Tx, row: Row, owner: string, now: number, claimMs: number): Promise<boolean> {
  const claimed = await tx
    .update(outbox)
    .set({ claimedBy: owner, claimedUntil: now + claimMs, attempts: sql`${outbox.attempts} + 1` })
    .where(and(eq(outbox.id, row.id), eq(outbox.status, 'pending'), unclaimed(now)))
    .returning({ id: outbox.id })
  return claimed.length > 0
}

async function finish(tx: Tx, id: number, set: Partial<Row>): Promise<boolean> {
  const changed = await tx
    .update(outbox)
    .set({ ...set, claimedBy: null, claimedUntil: null })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')))
    .returning({ id: outbox.id })
  return changed.length > 0
}

export function createOutboxStore(database: Database): OutboxStore {
  const { db } = database

  const claimDue: OutboxStore['claimDue'] = (owner, now, claimMs, limit, options = {}) =>
    database.write(async (tx) => {
      // Over-fetch: some heads wait on a dependency, and those do not count towards `limit`.
      const heads = await dueHeads(tx, now, limit * 4, options.excludeMethods ?? [])
      const out: ClaimedOutboxItem[] = []
      for (const head of heads) {
        if (out.length >= limit) break
        const readiness = await dependencyOf(tx, head)
        if (!readiness.ready) {
          if (readiness.failWith) await finish(tx, head.id, { status: 'failed', error: readiness.failWith })
          continue
        }
        let chosen = head
        const supersedes: string[] = []
        if (head.method === 'chat.update') {
          const newer = await sameMessageUpdates(tx, head, now)
          const newest = newer.at(-1)
          if (newest) {
            for (const old of [head, ...newer.slice(0, -1)]) {
              await finish(tx, old.id, { status: 'superseded', error: `superseded_by: ${newest.key}` })
              supersedes.push(old.key)
            }
            chosen = newest
          }
        }
        const reclaimed = chosen.claimedBy !== null
        if (!(await claimOne(tx, chosen, owner, now, claimMs))) continue
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
    enqueue: (item, now) => database.write((tx) => insertOutboxItem(tx, item, now)),
    claimDue,
    markSent: (id, result, now) =>
      database.write((tx) => finish(tx, id, { status: 'sent', result, sentAt: now, error: null })),
    markRetry: (id, error, nextAttemptAt) => database.write((tx) => finish(tx, id, { error, nextAttemptAt })),
    markFailed: (id, error) => database.write((tx) => finish(tx, id, { status: 'failed', error })),
    get: async (key) => {
      const row = await db.select().from(outbox).where(eq(outbox.key, key)).get()
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
