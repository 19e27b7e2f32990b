// Runs, step results, waits, votes, timers and the event chain: every state change is one transaction here.
import type { KeyObject } from 'node:crypto'
import { and, asc, desc, eq, gte, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm'
import type { VoteDecision, VoteSummary } from '../core/approvals/policy.ts'
import { eventHash } from '../core/hash-chain.ts'
import { ACTIVE_STATUSES, TERMINAL_STATUSES } from '../core/run-status.ts'
import type {
  CommitResult,
  NewEvent,
  NewRun,
  RunEndHook,
  RunRecord,
  RunStore,
  StepRunRecord,
  TimerRecord,
  Transition,
  TxView,
  VoteRecord,
  WaitRecord,
} from '../engine/run-ports.ts'
import { NO_TOKENS, tokensOf } from '../engine/usage.ts'
import type { Database, Tx } from './database.ts'
import { billedExecutions, prunedRuns, runEvents, runs, stepRuns, timers, votes, waits } from './schema.ts'
import type { SqlArg, SqlRunner } from './sql-connection.ts'
import { tableCodec } from './sql-table.ts'
import { claimTrigger, releaseSkippedClaim } from './trigger-claims.ts'

// The hot paths (every callback, vote and step) are plain SQL on cached statements; the schema still names the
// columns and maps JSON. Rare queries (listings, usage, claims) keep drizzle's builder.
const runTable = tableCodec(runs)
// An approval's spec (approvers, message, diff reference) is read on every vote and each re-render of its message.
const waitTable = tableCodec(waits, { shared: ['spec'] })
const stepRunTable = tableCodec(stepRuns)
const eventTable = tableCodec(runEvents)
const voteTable = tableCodec(votes)
const timerTable = tableCodec(timers)

const RUN_BY_ID = `${runTable.select} WHERE id = ?`
const WAIT_BY_ID = `${waitTable.select} WHERE id = ?`
const WAIT_AT = `${waitTable.select} WHERE run_id = ? AND step_id = ? AND visit = ?`
/** Every vote is tallied with all the others of its approval: only the columns a vote has, no codec per column. */
const VOTES_OF =
  'SELECT voter, decision, comment, digest, via, token_id, token_name, at FROM votes WHERE wait_id = ? ORDER BY at, id'
const STEP_RUNS_OF = `${stepRunTable.select} WHERE run_id = ? ORDER BY started_at`
const EVENTS_AFTER = `${eventTable.select} WHERE run_id = ? AND seq > ? ORDER BY seq`
const ACTIVE_IN = ACTIVE_STATUSES.map((status) => `'${status}'`).join(', ')

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

/**
 * A claim of a run whose lease another instance still named (it ran out: that instance died or stalled mid-step)
 * counts a takeover; a graceful stop releases its leases first, so it counts none.
 */
const TAKEN_OVER =
  'takeovers = CASE WHEN lease_owner IS NOT NULL AND lease_owner <> ? THEN takeovers + 1 ELSE takeovers END'
const takenOver = (owner: string) =>
  sql`CASE WHEN ${runs.leaseOwner} IS NOT NULL AND ${runs.leaseOwner} <> ${owner} THEN ${runs.takeovers} + 1 ELSE ${runs.takeovers} END`

const toRun = (row: typeof runs.$inferSelect): RunRecord => row as unknown as RunRecord
const toWait = (row: typeof waits.$inferSelect): WaitRecord => row as unknown as WaitRecord

async function getRun(sql: SqlRunner, id: string): Promise<RunRecord | undefined> {
  const row = await sql.row(RUN_BY_ID, [id])
  return row ? toRun(runTable.decodeRow(row)) : undefined
}

async function getWait(sql: SqlRunner, id: string): Promise<WaitRecord | undefined> {
  const row = await sql.row(WAIT_BY_ID, [id])
  return row ? toWait(waitTable.decodeRow(row)) : undefined
}

async function getWaitAt(sql: SqlRunner, runId: string, stepId: string, visit: number) {
  const row = await sql.row(WAIT_AT, [runId, stepId, visit])
  return row ? toWait(waitTable.decodeRow(row)) : undefined
}

/**
 * One statement, however many votes: the approvers in order, the first blocking vote, the latest approval's comment.
 * The order comes from an ordered subquery, not `json_group_array(… ORDER BY …)`: a libSQL server parses statements
 * itself and refuses ORDER BY inside an aggregate.
 */
const VOTE_SUMMARY = `SELECT
  (SELECT json_group_array(voter) FROM (SELECT voter FROM votes
    WHERE wait_id = ? AND digest = ? AND decision = 'approve' ORDER BY at, id)),
  (SELECT json_array(decision, comment) FROM votes
    WHERE wait_id = ? AND digest = ? AND decision <> 'approve' ORDER BY at, id LIMIT 1),
  (SELECT comment FROM votes
    WHERE wait_id = ? AND digest = ? AND decision = 'approve' ORDER BY at DESC, id DESC LIMIT 1),
  EXISTS (SELECT 1 FROM votes WHERE wait_id = ? AND voter = ? AND digest = ? AND decision = ?)`

async function voteSummaryOf(
  sql: SqlRunner,
  waitId: string,
  digest: string,
  voter: string,
  decision: string,
): Promise<{ summary: VoteSummary; voted: boolean }> {
  const args = [waitId, digest, waitId, digest, waitId, digest, waitId, voter, digest, decision]
  const row = await sql.row(VOTE_SUMMARY, args)
  const [approvers, blocking, lastApprovalComment, voted] = row ?? []
  const first = typeof blocking === 'string' ? (JSON.parse(blocking) as [VoteDecision, string | null]) : null
  return {
    summary: {
      approvers: JSON.parse(String(approvers ?? '[]')) as string[],
      blocking: first ? { decision: first[0], comment: first[1] } : null,
      lastApprovalComment: (lastApprovalComment as string | null | undefined) ?? null,
    },
    voted: Number(voted) === 1,
  }
}

async function stepRunsOf(sql: SqlRunner, runId: string): Promise<StepRunRecord[]> {
  return (await sql.rows(STEP_RUNS_OF, [runId])).map((row) => stepRunTable.decodeRow(row) as StepRunRecord)
}

async function votesOf(sql: SqlRunner, waitId: string): Promise<VoteRecord[]> {
  return (await sql.rows(VOTES_OF, [waitId])).map(
    ([voter, decision, comment, digest, via, tokenId, tokenName, at]) => ({
      waitId,
      voter: voter as string,
      decision: decision as string,
      comment: comment as string | null,
      digest: digest as string,
      via: via as string,
      tokenId: (tokenId as string | null) ?? null,
      tokenName: (tokenName as string | null) ?? null,
      at: Number(at),
    }),
  )
}

async function updateRun(sql: SqlRunner, id: string, patch: Partial<typeof runs.$inferInsert>): Promise<void> {
  const set = runTable.assignments(patch)
  await sql.run(`UPDATE runs SET ${set.sql} WHERE id = ?`, [...set.args, id])
}

interface RunHead {
  owner: string | null
  status: string
  count: number
  hash: string
}

function headOf(run: RunRecord): RunHead {
  const { leaseOwner, status, eventCount, lastEventHash } = run as RunRecord & { lastEventHash: string }
  return { owner: leaseOwner, status, count: eventCount, hash: lastEventHash }
}

async function readHead(sql: SqlRunner, runId: string): Promise<RunHead | undefined> {
  return (await sql.get(
    'SELECT lease_owner AS owner, status, event_count AS count, last_event_hash AS hash FROM runs WHERE id = ?',
    [runId],
  )) as RunHead | undefined
}

/** Inserts the events chained after `head`; returns the new head for the caller to store on the run row. */
async function insertEvents(
  sql: SqlRunner,
  key: KeyObject,
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
    const hash = eventHash(key, prev, event)
    const row = { ...event, prevHash: prev, hash }
    prev = hash
    return row
  })
  if (rows.length > 0) {
    const insert = eventTable.insertRows(rows)
    await sql.run(insert.sql, insert.args)
  }
  return { eventCount: seq, lastEventHash: prev }
}

async function appendEvents(
  sql: SqlRunner,
  key: KeyObject,
  runId: string,
  at: number,
  events: NewEvent[],
): Promise<void> {
  if (events.length === 0) return
  const head = await readHead(sql, runId)
  if (!head) throw new Error(`run ${runId} vanished`)
  await updateRun(sql, runId, await insertEvents(sql, key, runId, at, head, events))
}

/** Runs of a flow and concurrency key that hold or wait for its slot (active or queued), except one, oldest first. */
async function concurrencyHolders(sql: SqlRunner, flowSlug: string, key: string | null, exceptRunId: string) {
  const sameKey = key === null ? 'concurrency_key IS NULL' : 'concurrency_key = ?'
  const rows = await sql.rows(
    `SELECT id FROM runs WHERE flow_slug = ? AND ${sameKey} AND id <> ? AND status IN (${ACTIVE_IN}, 'queued')
     ORDER BY created_at, id`,
    key === null ? [flowSlug, exceptRunId] : [flowSlug, key, exceptRunId],
  )
  return rows.map(([id]) => String(id))
}

/**
 * `on_conflict: cancel_running`: the runs holding the key end as canceled, with their open waits and pending timers,
 * in the transaction of the run that replaces them.
 */
async function cancelForConcurrency(
  sql: SqlRunner,
  key: KeyObject,
  victims: readonly string[],
  at: number,
  actor: string | null,
  replacedBy: string,
): Promise<void> {
  for (const victim of victims) {
    await sql.run(
      `UPDATE runs SET status = 'canceled', ended_at = ?, updated_at = ?, lease_owner = NULL, waiting_on = NULL
       WHERE id = ?`,
      [at, at, victim],
    )
    await sql.run(`UPDATE waits SET status = 'canceled' WHERE run_id = ? AND status = 'open'`, [victim])
    await sql.run(`UPDATE timers SET status = 'canceled' WHERE run_id = ? AND status = 'pending'`, [victim])
    await appendEvents(sql, key, victim, at, [
      { type: 'run.canceled', actor, data: { reason: 'concurrency', replaced_by: replacedBy } },
    ])
  }
}

/** Starts the oldest queued run of the flow and key when a slot is free. */
async function promoteQueued(
  sql: SqlRunner,
  key: KeyObject,
  slot: NonNullable<Transition['releaseSlot']>,
  at: number,
): Promise<string | undefined> {
  const sameKey = slot.key === null ? 'concurrency_key IS NULL' : 'concurrency_key = ?'
  const args: SqlArg[] = slot.key === null ? [slot.flowSlug] : [slot.flowSlug, slot.key]
  const active = await sql.get(
    `SELECT count(*) AS n FROM runs WHERE flow_slug = ? AND ${sameKey} AND status IN (${ACTIVE_IN})`,
    args,
  )
  if (Number(active?.n ?? 0) >= slot.limit) return undefined
  const next = await sql.get(
    `SELECT id FROM runs WHERE flow_slug = ? AND ${sameKey} AND status = 'queued' ORDER BY created_at, id LIMIT 1`,
    args,
  )
  if (!next) return undefined
  const id = String(next.id)
  await updateRun(sql, id, { status: 'running', runnableAt: at, startedAt: at, updatedAt: at })
  await appendEvents(sql, key, id, at, [{ type: 'run.dequeued', data: {} }])
  return id
}

/** Inserts a new run (and its first events), in the caller's transaction: a start, or a child run a step starts. */
async function insertRun(
  tx: Tx,
  sql: SqlRunner,
  chainKey: KeyObject,
  input: NewRun,
  concurrency: { limit: number; onConflict: 'queue' | 'skip' | 'cancel_running' } | null,
): Promise<{ run: RunRecord; skippedBecause?: string[]; duplicateOf?: string | null }> {
  const { run } = input
  // A parent step visit has one child: after a crash the step runs again and finds it.
  if (run.parentRunId) {
    const child = await sql.get(
      'SELECT id FROM runs WHERE parent_run_id = ? AND parent_step = ? AND parent_visit = ?',
      [run.parentRunId, run.parentStep ?? null, run.parentVisit ?? null],
    )
    if (child) return { run: run as RunRecord, duplicateOf: String(child.id) }
  }
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
      else
        await cancelForConcurrency(
          sql,
          chainKey,
          active.map((r) => r.id),
          run.createdAt,
          run.initiator,
          run.id,
        )
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
    takeovers: 0,
  }
  const insert = runTable.insert(row as typeof runs.$inferInsert)
  await sql.run(insert.sql, insert.args)
  await appendEvents(sql, chainKey, run.id, run.createdAt, [
    ...input.events,
    ...(status === 'queued' ? [{ type: 'run.queued', data: { key: run.concurrencyKey } }] : []),
  ])
  return { run: { ...(row as RunRecord), status } }
}

/**
 * `known`: the run's head as read earlier in this same transaction (nothing else can have written it since), which
 * saves reading it again.
 */
async function applyTransition(
  sql: SqlRunner,
  key: KeyObject,
  tx: unknown,
  t: Transition,
  known?: RunHead,
  onRunEnd?: RunEndHook,
): Promise<CommitResult> {
  if (t.fireTimer !== undefined) {
    const fired = await sql.run(
      `UPDATE timers SET status = 'fired', fired_at = ? WHERE id = ? AND status = 'pending'`,
      [t.at, t.fireTimer],
    )
    if (fired.changes === 0) throw new Abort('timer_fired')
  }
  // One read serves the fences and the event chain's head; one update writes the run and the new head.
  const head = known ?? (await readHead(sql, t.runId))
  if (!head) throw new Abort('fence')
  if (t.fenceOwner !== undefined && head.owner !== t.fenceOwner) throw new Abort('fence')
  if (t.fenceStatus !== undefined && !t.fenceStatus.includes(head.status as never)) throw new Abort('fence')
  if (t.updateWait) {
    const set = waitTable.assignments(t.updateWait.patch as Partial<typeof waits.$inferInsert>)
    const from = t.updateWait.fromStatus.map(() => '?').join(', ')
    const updated = await sql.run(`UPDATE waits SET ${set.sql} WHERE id = ? AND status IN (${from})`, [
      ...set.args,
      t.updateWait.id,
      ...t.updateWait.fromStatus,
    ])
    if (updated.changes === 0) throw new Abort('wait_status')
  }
  if (t.insertVote) {
    const insert = voteTable.insert(t.insertVote, ' ON CONFLICT DO NOTHING')
    const inserted = await sql.run(insert.sql, insert.args)
    if (inserted.changes === 0) throw new Abort('duplicate_vote')
  }
  if (t.insertWait) {
    const insert = waitTable.insert({ ...t.insertWait, attempts: 0 } as typeof waits.$inferInsert)
    await sql.run(insert.sql, insert.args)
  }
  let created: string | undefined
  if (t.createRun) {
    const child = await insertRun(tx as Tx, sql, key, t.createRun.input, t.createRun.concurrency)
    created = child.duplicateOf ?? child.run.id
  }
  if (t.cancelRuns && t.cancelRuns.ids.length > 0)
    await cancelForConcurrency(sql, key, t.cancelRuns.ids, t.at, t.cancelRuns.actor, t.runId)
  const effectResult = t.effect ? await t.effect(tx) : undefined
  if (t.effectIsOutput && t.stepRun) t.stepRun.output = effectResult ?? null
  if (t.effectIsOutput && t.run?.output !== undefined) t.run.output = effectResult ?? null
  for (const stepRun of t.stepRun ? [t.stepRun, ...(t.moreStepRuns ?? [])] : []) {
    const upsert = stepRunTable.upsert({ ...stepRun, runId: t.runId }, 'run_id, step_id, visit')
    await sql.run(upsert.sql, upsert.args)
  }
  const billed = [
    ...(t.stepRun ? [t.stepRun, ...(t.moreStepRuns ?? [])] : [])
      .filter((r) => r.billable)
      .map((r) => ({
        stepId: r.stepId,
        visit: r.visit,
        attempt: r.attempt,
        kind: r.kind,
        at: r.startedAt,
        ...tokensOf(r.kind, r.output, r.error),
      })),
    // A failed attempt that is retried carries no completion (only 429, 5xx and network failures are retried).
    ...(t.billAttempts ?? []).map((b) => ({ ...b, ...NO_TOKENS })),
  ]
  if (billed.length > 0) {
    // A step result written again (the same visit and attempt) is still one execution.
    await sql.run(
      `INSERT INTO billed_executions (run_id, step_id, visit, attempt, kind, at, prompt_tokens, completion_tokens, total_tokens) VALUES ${billed
        .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .join(', ')} ON CONFLICT DO NOTHING`,
      billed.flatMap((b) => [
        t.runId,
        b.stepId,
        b.visit,
        b.attempt,
        b.kind,
        b.at,
        b.promptTokens,
        b.completionTokens,
        b.totalTokens,
      ]),
    )
  }
  const chain = await insertEvents(sql, key, t.runId, t.at, head, t.events ?? [])
  await updateRun(sql, t.runId, { ...t.run, ...chain, updatedAt: t.at } as Partial<typeof runs.$inferInsert>)
  if (t.cancelTimers && t.cancelTimers.length > 0) {
    // A prefix match without LIKE: ids contain '_', which LIKE treats as a wildcard.
    const prefixes = t.cancelTimers.map(() => 'substr(key, 1, ?) = ?').join(' OR ')
    await sql.run(`UPDATE timers SET status = 'canceled' WHERE run_id = ? AND status = 'pending' AND (${prefixes})`, [
      t.runId,
      ...t.cancelTimers.flatMap((prefix) => [prefix.length, prefix]),
    ])
  }
  for (const move of t.rescheduleTimers ?? []) {
    await sql.run(
      `UPDATE timers SET fire_at = ?, claimed_by = NULL, claimed_until = NULL
       WHERE run_id = ? AND key = ? AND status = 'pending'`,
      [move.fireAt, t.runId, move.key],
    )
  }
  for (const timer of t.armTimers ?? []) {
    const insert = timerTable.insert(
      {
        ...timer,
        runId: t.runId,
        status: 'pending',
        createdAt: t.at,
        waitId: timer.waitId ?? null,
        data: timer.data ?? null,
      },
      ' ON CONFLICT DO NOTHING',
    )
    await sql.run(insert.sql, insert.args)
  }
  const promoted = t.releaseSlot ? await promoteQueued(sql, key, t.releaseSlot, t.at) : undefined
  const resumed =
    onRunEnd && t.run?.status && TERMINAL.has(t.run.status) ? await endChild(sql, key, tx, t, onRunEnd) : []
  return {
    ok: true,
    effectResult,
    ...(promoted ? { promoted } : {}),
    ...(created ? { created } : {}),
    ...(resumed.length > 0 ? { resumed } : {}),
  }
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES)

/** What every transaction that reads runs inside a write offers its decisions. */
function txView(sql: SqlRunner, heads?: Map<string, RunHead>): TxView {
  return {
    getRun: async (id: string) => {
      const run = await getRun(sql, id)
      if (run && heads) heads.set(id, headOf(run))
      return run
    },
    getWait: (id: string) => getWait(sql, id),
    getWaitAt: (runId: string, stepId: string, visit: number) => getWaitAt(sql, runId, stepId, visit),
    votes: (waitId: string) => votesOf(sql, waitId),
    stepRuns: (runId: string) => stepRunsOf(sql, runId),
    concurrencyHolders: (flowSlug: string, key: string | null, exceptRunId: string) =>
      concurrencyHolders(sql, flowSlug, key, exceptRunId),
    voteSummary: (waitId: string, digest: string, voter: string, decision: string) =>
      voteSummaryOf(sql, waitId, digest, voter, decision),
  }
}

/**
 * The run `t` ended: if it is a child run whose parent still waits on it, the parent's step completes in this same
 * transaction (and so on up the chain). A parent that no longer waits (canceled, or its step already resolved)
 * changes nothing, and neither does a parent transition that loses a fence: the child's end stands.
 */
async function endChild(sql: SqlRunner, key: KeyObject, tx: unknown, t: Transition, onRunEnd: RunEndHook) {
  // Most runs are nobody's child: one indexed column read decides, the whole row is read only for a child.
  const link = await sql.get('SELECT parent_run_id AS parent FROM runs WHERE id = ?', [t.runId])
  if (!link?.parent) return []
  const child = await getRun(sql, t.runId)
  if (!child?.parentRunId) return []
  const parent = await onRunEnd(txView(sql), child)
  if (!parent) return []
  await sql.run('SAVEPOINT child_ended')
  try {
    const applied = await applyTransition(sql, key, tx, parent, undefined, onRunEnd)
    await sql.run('RELEASE child_ended')
    return [parent.runId, ...(applied.resumed ?? [])].filter(
      (id) => id !== parent.runId || parent.run?.status === 'running',
    )
  } catch (error) {
    await sql.run('ROLLBACK TO child_ended')
    await sql.run('RELEASE child_ended')
    if (error instanceof Abort) return []
    throw error
  }
}

const KEYED_HEAD = "substr(last_event_hash, 1, 12) = 'hmac-sha256:'"

/**
 * The upgrade to keyed chains, once per database: appends a `chain.keyed` event to every run whose chain ends with a
 * plain SHA-256 hash, so the key covers its history from now on. "Once" means while no run has a keyed chain yet:
 * after that a chain ending plain was written without the key (a rewrite, or an older version still writing), and
 * keying it would vouch for it. Returns how many chains it keyed, and how many it left unkeyed for that reason.
 */
export async function keyPlainChains(
  database: Database,
  chainKey: KeyObject,
  at: number,
): Promise<{ keyed: number; leftUnkeyed: number }> {
  return database.write(async (_tx, sql) => {
    const plain = (await sql.rows(
      `SELECT id, event_count, last_event_hash FROM runs WHERE event_count > 0 AND NOT (${KEYED_HEAD})`,
    )) as [string, number, string][]
    if (plain.length === 0) return { keyed: 0, leftUnkeyed: 0 }
    if (await sql.row(`SELECT 1 FROM runs WHERE ${KEYED_HEAD} LIMIT 1`)) return { keyed: 0, leftUnkeyed: plain.length }
    for (const [id, count, hash] of plain) {
      const event = { type: 'chain.keyed', actor: 'greenlight', data: { scheme: 'hmac-sha256', plain_events: count } }
      await updateRun(sql, id, await insertEvents(sql, chainKey, id, at, { count: Number(count), hash }, [event]))
    }
    return { keyed: plain.length, leftUnkeyed: 0 }
  })
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

/** `chainKey`: the event chain's key (`deriveChainKey`), never stored with what it signs. */
/** An approval's stored spec may admit `user`: see RunStore.listWaits' mayWaitOn. */
function mayWaitOn(user: string) {
  return sql`(EXISTS (SELECT 1 FROM json_each(${waits.spec}, '$.approvers.users') WHERE value = ${user})
    OR EXISTS (SELECT 1 FROM json_each(${waits.spec}, '$.escalated_to') WHERE value = ${user})
    OR coalesce(json_array_length(${waits.spec}, '$.approvers.usergroups'), 0) > 0
    OR json_extract(${waits.spec}, '$.approvers.channel') IS NOT NULL
    OR coalesce(json_array_length(${waits.spec}, '$.approvers.users'), 0) = 0)`
}

export function createRunStore(database: Database, chainKey: KeyObject): RunStore {
  const { db, sql: reader } = database
  let hook: RunEndHook | undefined

  return {
    onRunEnd(next) {
      hook = next
    },

    async createRun(input, concurrency) {
      return database.write((tx, sql) => insertRun(tx, sql, chainKey, input, concurrency))
    },

    async transact(decide) {
      try {
        return await database.write(async (tx, sql) => {
          const heads = new Map<string, RunHead>()
          const view = txView(sql, heads)
          const { transition, result } = await decide(view)
          try {
            const commit = transition
              ? await applyTransition(sql, chainKey, tx, transition, heads.get(transition.runId), hook)
              : null
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
        return await database.write((tx, sql) => applyTransition(sql, chainKey, tx, t, undefined, hook))
      } catch (error) {
        if (error instanceof Abort) return { ok: false, conflict: error.conflict }
        throw error
      }
    },

    getRun: (id) => getRun(reader, id),

    listRuns: async (q) => {
      const where = and(
        q.flow ? eq(runs.flowSlug, q.flow) : undefined,
        q.parent ? eq(runs.parentRunId, q.parent) : undefined,
        q.initiator ? eq(runs.initiator, q.initiator) : undefined,
        q.status && q.status.length > 0 ? inArray(runs.status, q.status) : undefined,
        q.before ? lt(runs.id, q.before) : undefined,
      )
      return (await db.select().from(runs).where(where).orderBy(desc(runs.id)).limit(q.limit).all()).map(toRun)
    },

    stepRuns: (runId) => stepRunsOf(reader, runId),

    events: async (runId, afterSeq = 0) =>
      (await reader.rows(EVENTS_AFTER, [runId, afterSeq])).map((row) => eventTable.decodeRow(row)),

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
          .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs, takeovers: takenOver(owner) })
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
      database.write(async (_tx, sql) => {
        const row = await sql.row(
          `UPDATE runs SET lease_owner = ?, lease_expires_at = ?, ${TAKEN_OVER}
           WHERE id = ? AND status = 'running' AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)
           RETURNING ${runTable.columns}`,
          [owner, now + leaseMs, owner, id, owner, now],
        )
        return row ? toRun(runTable.decodeRow(row)) : undefined
      }),

    renewLease: async (id, owner, until) =>
      database.write(async (_tx, sql) => {
        const updated = await sql.run('UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?', [
          until,
          id,
          owner,
        ])
        return updated.changes > 0
      }),

    releaseLeases: async (owner) => {
      await database.write((tx) =>
        tx.update(runs).set({ leaseOwner: null, leaseExpiresAt: null }).where(eq(runs.leaseOwner, owner)),
      )
    },

    getWait: (id) => getWait(reader, id),

    getWaitAt: (runId, stepId, visit) => getWaitAt(reader, runId, stepId, visit),

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
              q.mayWaitOn === undefined ? undefined : mayWaitOn(q.mayWaitOn),
            ),
          )
          .orderBy(desc(waits.createdAt), desc(waits.id))
          .limit(q.limit)
          .offset(q.offset ?? 0)
          .all()
      ).map(toWait),

    votes: (waitId) => votesOf(reader, waitId),

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

    // Billed executions outlive their runs: a pruned run's flow is in the retention ledger, so usage stays whole.
    usage: async (fromMs, toMs) => {
      const flow = sql<string>`coalesce(${runs.flowSlug}, ${prunedRuns.flowSlug})`
      return db
        .select({
          flow,
          kind: billedExecutions.kind,
          executions: sql<number>`count(*)`,
          promptTokens: sql<number>`sum(${billedExecutions.promptTokens})`,
          completionTokens: sql<number>`sum(${billedExecutions.completionTokens})`,
          totalTokens: sql<number>`sum(${billedExecutions.totalTokens})`,
        })
        .from(billedExecutions)
        .leftJoin(runs, eq(runs.id, billedExecutions.runId))
        .leftJoin(prunedRuns, eq(prunedRuns.runId, billedExecutions.runId))
        .where(and(gte(billedExecutions.at, fromMs), lt(billedExecutions.at, toMs), sql`${flow} IS NOT NULL`))
        .groupBy(flow, billedExecutions.kind)
        .all()
    },
  }
}

export type { VoteRecord }
