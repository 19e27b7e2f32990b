// Group commit: in-process writers queue, and the writes waiting together share one transaction (one WAL commit),
// each in its own savepoint so a failing write rolls back alone. No caller hears of its write before the COMMIT.
import type { SqlConnection, SqlRunner } from './sql-connection.ts'

interface Pending<Tx> {
  fn: (tx: Tx, sql: SqlRunner) => Promise<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

export interface GroupCommitOptions {
  /** Most writes sharing one transaction. */
  maxBatch?: number
}

export function createGroupCommit<Tx>(connection: SqlConnection, tx: Tx, options: GroupCommitOptions = {}) {
  const maxBatch = options.maxBatch ?? 64
  const queue: Pending<Tx>[] = []
  let draining = false
  let scheduled = false
  const stats = { writes: 0, commits: 0 }

  async function attempt(item: Pending<Tx>): Promise<Outcome> {
    try {
      return { ok: true, value: await item.fn(tx, connection) }
    } catch (error) {
      return { ok: false, error }
    }
  }

  /** One write alone: its failure rolls the whole transaction back, as without batching. */
  async function runAlone(item: Pending<Tx>): Promise<void> {
    await connection.begin()
    const outcome = await attempt(item)
    if (!outcome.ok) {
      await connection.rollback()
      item.reject(outcome.error)
      return
    }
    await connection.commit()
    stats.commits++
    item.resolve(outcome.value)
  }

  async function runBatch(batch: Pending<Tx>[]): Promise<void> {
    await connection.begin()
    const outcomes: Outcome[] = []
    for (const item of batch) {
      await connection.run('SAVEPOINT grouped_write')
      const outcome = await attempt(item)
      if (!outcome.ok) await connection.run('ROLLBACK TO grouped_write')
      await connection.run('RELEASE grouped_write')
      outcomes.push(outcome)
    }
    await connection.commit()
    stats.commits++
    batch.forEach((item, i) => {
      const outcome = outcomes[i] as Outcome
      if (outcome.ok) item.resolve(outcome.value)
      else item.reject(outcome.error)
    })
  }

  let idle: { promise: Promise<void>; resolve(): void } | undefined

  async function drain(): Promise<void> {
    draining = true
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch)
        try {
          if (batch.length === 1) await runAlone(batch[0] as Pending<Tx>)
          else await runBatch(batch)
        } catch (error) {
          // BEGIN or COMMIT failed (the file is locked too long, the disk is full): nothing of the batch is kept.
          await connection.rollback().catch(() => undefined)
          for (const item of batch) item.reject(error)
        }
      }
    } finally {
      draining = false
      if (queue.length === 0 && !scheduled) {
        idle?.resolve()
        idle = undefined
      }
    }
  }

  /** Resolves once no write is queued or committing: what a shutdown waits for before it closes the connection. */
  function settled(): Promise<void> {
    if (!draining && !scheduled && queue.length === 0) return Promise.resolve()
    if (idle === undefined) {
      let resolve = () => {}
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      idle = { promise, resolve }
    }
    return idle.promise
  }

  function write<T>(fn: (tx: Tx, sql: SqlRunner) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      stats.writes++
      queue.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      // The first write waits one turn of the event loop, so requests read in the same turn share its commit.
      if (draining || scheduled) return
      scheduled = true
      setImmediate(() => {
        scheduled = false
        if (!draining) void drain()
      })
    })
  }

  /** Writes requested and transactions committed so far (the ratio is the batching achieved). */
  return { write, settled, stats: (): { writes: number; commits: number } => ({ ...stats }) }
}
