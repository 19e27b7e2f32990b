// Pruning (engine/retention.ts): ended runs with everything that is only theirs, and old run-less bookkeeping. Every
// batch is one write transaction that first renews the prune lease: a batch commits whole or not at all, so a prune
// killed mid-way leaves a consistent database, and an instance whose lease was taken over changes nothing.
//
// Run ids travel as one JSON array parameter (`IN (SELECT value FROM json_each(?))`): one statement text per query,
// however many runs a batch holds, and each lookup still uses the run_id index of its table.
import { TERMINAL_STATUSES } from '../core/run-status.ts'
import type {
  BookkeepingCounts,
  LeaseFence,
  PrunedRun,
  PruneReport,
  PruneStore,
  RunPruneCounts,
} from '../engine/retention.ts'
import { conflict } from '../errors.ts'
import type { Database } from './database.ts'
import type { SqlArg, SqlRunner } from './sql-connection.ts'

const IDS = '(SELECT value FROM json_each(?))'
const ENDED = `(${TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ')})`
const REPORT_KEY = 'retention:last_prune'

interface TreeRun {
  root: string
  id: string
  status: string
  endedAt: number | null
  hasParent: boolean
  sending: boolean
  eventCount: number
}

/** The runs of each root's tree (the root, its children, theirs …), with what decides whether the tree may go. */
async function treesOf(sql: SqlRunner, roots: string[]): Promise<TreeRun[]> {
  const rows = await sql.rows(
    `WITH RECURSIVE tree(root, id) AS (
       SELECT value, value FROM json_each(?)
       UNION
       SELECT tree.root, r.id FROM runs r JOIN tree ON r.parent_run_id = tree.id
     )
     SELECT tree.root, r.id, r.status, r.ended_at,
       r.parent_run_id IS NOT NULL AND EXISTS (SELECT 1 FROM runs p WHERE p.id = r.parent_run_id),
       EXISTS (SELECT 1 FROM outbox o WHERE o.run_id = r.id AND o.status = 'pending'),
       r.event_count
     FROM tree CROSS JOIN runs r ON r.id = tree.id`,
    [JSON.stringify(roots)],
  )
  return rows.map(([root, id, status, endedAt, hasParent, sending, events]) => ({
    root: String(root),
    id: String(id),
    status: String(status),
    endedAt: endedAt === null ? null : Number(endedAt),
    hasParent: Number(hasParent) === 1,
    sending: Number(sending) === 1,
    eventCount: Number(events),
  }))
}

/**
 * The runs that may go: whole trees whose root ended before the cutoff and is nobody's child, and all of whose runs
 * have ended with no Slack item still to send. Checked inside the removing transaction: a run retried meanwhile stays.
 */
function prunable(tree: TreeRun[], cutoff: number): { runs: TreeRun[]; skipped: number } {
  const byRoot = new Map<string, TreeRun[]>()
  for (const run of tree) byRoot.set(run.root, [...(byRoot.get(run.root) ?? []), run])
  const runs: TreeRun[] = []
  let skipped = 0
  for (const [root, members] of byRoot) {
    const head = members.find((m) => m.id === root)
    const ok =
      head !== undefined &&
      !head.hasParent &&
      head.endedAt !== null &&
      head.endedAt < cutoff &&
      members.every(
        (m) => (TERMINAL_STATUSES as readonly string[]).includes(m.status) && m.endedAt !== null && !m.sending,
      )
    if (ok) runs.push(...members)
    else skipped++
  }
  return { runs, skipped }
}

const count = async (sql: SqlRunner, text: string, args: SqlArg[]): Promise<number> =>
  Number((await sql.row(text, args))?.[0] ?? 0)

/** Resources every run that stored them is among `ids`: no kept run lists them. */
async function orphanedResources(sql: SqlRunner, ids: string): Promise<string[]> {
  const rows = await sql.rows(
    `SELECT DISTINCT rr.resource_id FROM resource_runs rr WHERE rr.run_id IN ${IDS}
     AND NOT EXISTS (SELECT 1 FROM resource_runs o WHERE o.resource_id = rr.resource_id AND o.run_id NOT IN ${IDS})`,
    [ids, ids],
  )
  return rows.map(([id]) => String(id))
}

const SEARCH_ROWS = `SELECT id FROM search_index_content WHERE c4 IN ${IDS} AND (c1 <> 'resource' OR c3 IN ${IDS})`

async function measureRuns(sql: SqlRunner, runs: TreeRun[]): Promise<RunPruneCounts> {
  const ids = JSON.stringify(runs.map((r) => r.id))
  const resources = JSON.stringify(await orphanedResources(sql, ids))
  const n = (text: string, args: SqlArg[] = [ids]) => count(sql, text, args)
  return {
    runs: runs.length,
    steps: await n(`SELECT count(*) FROM step_runs WHERE run_id IN ${IDS}`),
    events: await n(`SELECT count(*) FROM run_events WHERE run_id IN ${IDS}`),
    waits: await n(`SELECT count(*) FROM waits WHERE run_id IN ${IDS}`),
    votes: await n(`SELECT count(*) FROM votes WHERE wait_id IN (SELECT id FROM waits WHERE run_id IN ${IDS})`),
    timers: await n(`SELECT count(*) FROM timers WHERE run_id IN ${IDS}`),
    outbox: await n(`SELECT count(*) FROM outbox WHERE run_id IN ${IDS}`),
    resources: (JSON.parse(resources) as string[]).length,
    webhook_deliveries: await n(`SELECT count(*) FROM webhook_deliveries WHERE run_id IN ${IDS}`),
    search_rows: await n(`SELECT count(*) FROM (${SEARCH_ROWS})`, [ids, resources]),
  }
}

/** Per run, what its ledger row records: steps, waits and votes removed with it, and its event count. */
async function perRun(sql: SqlRunner, ids: string, runs: TreeRun[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map(runs.map((r) => [r.id, { events: r.eventCount, steps: 0, waits: 0, votes: 0 }]))
  const fill = async (field: 'steps' | 'waits' | 'votes', text: string) => {
    for (const [id, n] of await sql.rows(text, [ids])) {
      const entry = out.get(String(id))
      if (entry) entry[field] = Number(n)
    }
  }
  await fill('steps', `SELECT run_id, count(*) FROM step_runs WHERE run_id IN ${IDS} GROUP BY run_id`)
  await fill('waits', `SELECT run_id, count(*) FROM waits WHERE run_id IN ${IDS} GROUP BY run_id`)
  await fill(
    'votes',
    `SELECT w.run_id, count(*) FROM votes v JOIN waits w ON w.id = v.wait_id WHERE w.run_id IN ${IDS} GROUP BY w.run_id`,
  )
  return out
}

async function removeRuns(sql: SqlRunner, runs: TreeRun[], at: number): Promise<RunPruneCounts> {
  const ids = JSON.stringify(runs.map((r) => r.id))
  const resources = JSON.stringify(await orphanedResources(sql, ids))
  const ledger = await perRun(sql, ids, runs)
  for (const run of runs) {
    await sql.run(
      `INSERT OR IGNORE INTO pruned_runs (run_id, flow_slug, status, root_run_id, run_created_at, ended_at,
         event_count, last_event_hash, counts, pruned_at)
       SELECT id, flow_slug, status, ?, created_at, ended_at, event_count, last_event_hash, ?, ? FROM runs WHERE id = ?`,
      [run.root === run.id ? null : run.root, JSON.stringify(ledger.get(run.id)), at, run.id],
    )
  }
  const del = async (text: string, args: SqlArg[] = [ids]) => (await sql.run(text, args)).changes
  // The full-text rows first: finding them reads the runs' ids, not the rows removed below.
  const searchRows = await del(`DELETE FROM search_index WHERE rowid IN (${SEARCH_ROWS})`, [ids, resources])
  const votes = await del(`DELETE FROM votes WHERE wait_id IN (SELECT id FROM waits WHERE run_id IN ${IDS})`)
  const counts: RunPruneCounts = {
    runs: 0,
    steps: await del(`DELETE FROM step_runs WHERE run_id IN ${IDS}`),
    events: await del(`DELETE FROM run_events WHERE run_id IN ${IDS}`),
    waits: await del(`DELETE FROM waits WHERE run_id IN ${IDS}`),
    votes,
    timers: await del(`DELETE FROM timers WHERE run_id IN ${IDS}`),
    outbox: await del(`DELETE FROM outbox WHERE run_id IN ${IDS}`),
    resources: 0,
    webhook_deliveries: await del(`DELETE FROM webhook_deliveries WHERE run_id IN ${IDS}`),
    search_rows: searchRows,
  }
  await del(`DELETE FROM resource_runs WHERE run_id IN ${IDS}`)
  counts.resources = await del(`DELETE FROM resources WHERE id IN ${IDS}`, [resources])
  counts.runs = await del(`DELETE FROM runs WHERE id IN ${IDS}`)
  return counts
}

async function renew(sql: SqlRunner, fence: LeaseFence): Promise<void> {
  const renewed = await sql.run('UPDATE maintenance_leases SET expires_at = ? WHERE name = ? AND owner = ?', [
    fence.until,
    fence.name,
    fence.owner,
  ])
  if (renewed.changes === 0) {
    throw conflict('prune_lease_lost', 'This instance no longer holds the prune lease; the batch was not applied.', {
      hint: 'Another instance took over the prune (this one stalled longer than GREENLIGHT_LEASE_MS); nothing to do.',
    })
  }
}

/**
 * Run-less bookkeeping older than the cutoff. Slack items with no run have random keys (ephemeral replies, App Home
 * views): nothing enqueues their key again. Fired or canceled schedule timers: sync and advance arm only future
 * ticks, so an old key is never armed again. Schedule ticks: each schedule's newest tick stays; older ones are below
 * every timer that can still fire (timers only move forward), so none of them can be claimed again.
 */
const BOOKKEEPING = {
  outbox: `FROM outbox WHERE run_id IS NULL AND status <> 'pending' AND created_at < ?`,
  schedule_timers: `FROM timers WHERE run_id IS NULL AND status IN ('fired', 'canceled') AND fire_at < ?`,
  schedule_ticks: `FROM schedule_ticks t WHERE t.tick_at < ?
    AND t.tick_at < (SELECT max(m.tick_at) FROM schedule_ticks m WHERE m.flow_slug = t.flow_slug AND m.schedule = t.schedule)`,
} as const

export function createPruneStore(database: Database): PruneStore {
  const { sql } = database
  return {
    // `+status` and CROSS JOIN (below, in treesOf) keep the planner on runs_ended and on the tree's few ids: either
    // other plan reads every ended run once per batch.
    async roots(cutoff, after, limit) {
      const rows = await sql.rows(
        `SELECT id, ended_at FROM runs
         WHERE ended_at < ? AND ended_at >= ? AND NOT (ended_at = ? AND id <= ?) AND +status IN ${ENDED}
           AND (parent_run_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = runs.parent_run_id))
         ORDER BY ended_at, id LIMIT ?`,
        [cutoff, after?.endedAt ?? -1, after?.endedAt ?? -1, after?.id ?? '', limit],
      )
      return rows.map(([id, endedAt]) => ({ id: String(id), endedAt: Number(endedAt) }))
    },

    async measure(roots, cutoff) {
      const { runs, skipped } = prunable(await treesOf(sql, roots), cutoff)
      const counts = await measureRuns(sql, runs)
      return { counts, skipped }
    },

    remove: (roots, cutoff, at, fence) =>
      database.write(async (_tx, tx) => {
        await renew(tx, fence)
        const { runs, skipped } = prunable(await treesOf(tx, roots), cutoff)
        if (runs.length === 0) return { counts: await measureRuns(tx, []), skipped }
        return { counts: await removeRuns(tx, runs, at), skipped }
      }),

    async bookkeeping(cutoff, limit, fence) {
      if (fence === null) {
        const n = (from: string) => count(sql, `SELECT count(*) ${from}`, [cutoff])
        return {
          outbox: await n(BOOKKEEPING.outbox),
          schedule_timers: await n(BOOKKEEPING.schedule_timers),
          schedule_ticks: await n(BOOKKEEPING.schedule_ticks),
        }
      }
      return database.write(async (_tx, tx) => {
        await renew(tx, fence)
        const del = async (table: string, key: string, from: string) =>
          (await tx.run(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} ${from} LIMIT ?)`, [cutoff, limit]))
            .changes
        const removed: BookkeepingCounts = {
          outbox: await del('outbox', 'id', BOOKKEEPING.outbox),
          schedule_timers: await del('timers', 'id', BOOKKEEPING.schedule_timers),
          schedule_ticks: await del('schedule_ticks', 'rowid', BOOKKEEPING.schedule_ticks),
        }
        return removed
      })
    },

    acquire: (name, owner, now, until) =>
      database.write(async (_tx, tx) => {
        const taken = await tx.run(
          `INSERT INTO maintenance_leases (name, owner, expires_at, acquired_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
             acquired_at = excluded.acquired_at
           WHERE maintenance_leases.expires_at < excluded.acquired_at OR maintenance_leases.owner = excluded.owner`,
          [name, owner, until, now],
        )
        if (taken.changes > 0) return null
        const holder = await tx.row('SELECT owner, expires_at FROM maintenance_leases WHERE name = ?', [name])
        return { owner: String(holder?.[0] ?? 'unknown'), expiresAt: Number(holder?.[1] ?? 0) }
      }),

    release: async (name, owner) => {
      await database.write((_tx, tx) =>
        tx.run('DELETE FROM maintenance_leases WHERE name = ? AND owner = ?', [name, owner]),
      )
    },

    async prunedRun(id) {
      const row = await sql.row(
        `SELECT run_id, flow_slug, status, root_run_id, run_created_at, ended_at, event_count, last_event_hash, counts,
           pruned_at FROM pruned_runs WHERE run_id = ?`,
        [id],
      )
      if (!row) return undefined
      const [runId, flowSlug, status, rootRunId, runCreatedAt, endedAt, eventCount, lastEventHash, counts, prunedAt] =
        row
      return {
        runId: String(runId),
        flowSlug: String(flowSlug),
        status: String(status),
        rootRunId: rootRunId === null ? null : String(rootRunId),
        runCreatedAt: Number(runCreatedAt),
        endedAt: Number(endedAt),
        eventCount: Number(eventCount),
        lastEventHash: String(lastEventHash),
        counts: JSON.parse(String(counts)) as Record<string, number>,
        prunedAt: Number(prunedAt),
      } satisfies PrunedRun
    },

    async lastReport() {
      const row = await sql.row('SELECT value FROM kv WHERE key = ?', [REPORT_KEY])
      return row ? (JSON.parse(String(row[0])) as PruneReport) : undefined
    },

    async saveReport(report) {
      await database.write((_tx, tx) =>
        tx.run(
          `INSERT INTO kv (key, value, expires_at, updated_at) VALUES (?, ?, NULL, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          [REPORT_KEY, JSON.stringify(report), Date.parse(report.started_at)],
        ),
      )
    },
  }
}
