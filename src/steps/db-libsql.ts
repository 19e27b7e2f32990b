// libSQL for the db step: a file: database through the project's `libsql` (its promise API runs the statement off the
// event loop and can interrupt it), a libsql:// server through @libsql/client. Parameters are bound as `?`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ResolvedDatabase } from '../engine/connections.ts'
import { type AppError, RetryableError, TerminalError } from '../errors.ts'
import { type BoundValue, type DbAnswer, type DbQuery, secondStatementAt } from './db-values.ts'

const BUSY_TIMEOUT_MS = 5000

interface SqliteError extends Error {
  code?: string
  rawCode?: number
}

interface PromiseStatement {
  readonly reader: boolean
  raw(on?: boolean): PromiseStatement
  safeIntegers(on?: boolean): PromiseStatement
  columns(): { name: string }[]
  iterate(params: unknown[]): Promise<Iterable<unknown[]>>
  run(params: unknown[]): { changes: number }
}

interface PromiseDatabase {
  exec(sql: string): Promise<void>
  prepare(sql: string): Promise<PromiseStatement>
  interrupt(): void
  close(): void
}

/** file:/abs, file:///abs and file:relative (from the server's working directory), as @libsql/client reads them. */
export function filePath(url: string): string {
  const bare = url.replace(/[?#].*$/, '')
  return bare.startsWith('file://') ? fileURLToPath(bare) : decodeURIComponent(bare.slice('file:'.length))
}

/** SQLite has no booleans: true and false are stored and compared as 1 and 0. */
const sqliteValue = (value: BoundValue) => (typeof value === 'boolean' ? (value ? 1 : 0) : value)

export function queryError(error: SqliteError, timedOut: boolean, timeoutMs: number | undefined): AppError {
  if (timedOut)
    return new RetryableError('db_timeout', `The statement ran longer than the step's timeout (${timeoutMs} ms).`)
  const code = error.code
  const details = code ? { sqlite_code: code } : {}
  const message = `The database refused the statement: ${error.message}${code ? ` (${code})` : ''}.`
  // A locked or busy database frees up; anything else (syntax, constraint, a write when read_only) stays wrong.
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
    ? new RetryableError('db_query_failed', message, { details })
    : new TerminalError('db_query_failed', message, {
        details,
        ...(code === 'SQLITE_READONLY' ? { hint: 'The step has read_only: true, so writes are refused.' } : {}),
      })
}

function oneStatement(sql: string): void {
  const at = secondStatementAt(sql)
  if (at !== undefined) {
    throw new TerminalError(
      'db_query_failed',
      `The sql holds more than one statement (a second starts at character ${at + 1}).`,
      {
        hint: 'A db step runs one statement; put each in its own step.',
      },
    )
  }
}

async function queryFile(target: ResolvedDatabase, query: DbQuery): Promise<DbAnswer> {
  const path = filePath(target.url)
  // libsql creates a missing file, which would hide a typo in the URL behind an empty database.
  if (!existsSync(path)) {
    throw new TerminalError('db_connect_failed', `No database file at ${path} (connection '${target.name}').`, {
      details: { connection: target.name },
    })
  }
  const { default: Database } = (await import('libsql/promise')) as unknown as {
    default: new (path: string, options: object) => PromiseDatabase
  }
  let db: PromiseDatabase
  try {
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS })
  } catch (error) {
    throw new RetryableError('db_connect_failed', `Cannot open ${path}: ${(error as Error).message}`, {
      details: { connection: target.name },
    })
  }
  let timedOut = false
  const interrupt = () => db.interrupt()
  const timer =
    query.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          interrupt()
        }, query.timeoutMs)
  query.signal.addEventListener('abort', interrupt, { once: true })
  try {
    // query_only makes SQLite refuse every write on this connection (SQLITE_READONLY), whatever the statement.
    if (query.readOnly) await db.exec('PRAGMA query_only = 1')
    const statement = await db.prepare(query.sql)
    const params = query.params.map(sqliteValue)
    if (!statement.reader) return { columns: [], rows: [], affectedRows: statement.run(params).changes }
    statement.raw(true).safeIntegers(true)
    const columns = statement.columns().map((c) => c.name)
    const rows: unknown[][] = []
    // One row past the cap is enough to know it is exceeded; the rest is never read.
    for (const row of await statement.iterate(params)) {
      rows.push(row)
      if (rows.length > query.maxRows) break
    }
    return { columns, rows }
  } catch (error) {
    if (query.signal.aborted && !timedOut) throw new RetryableError('db_aborted', 'The db step was interrupted.')
    throw queryError(error as SqliteError, timedOut, query.timeoutMs)
  } finally {
    clearTimeout(timer)
    query.signal.removeEventListener('abort', interrupt)
    db.close()
  }
}

async function queryRemote(target: ResolvedDatabase, query: DbQuery): Promise<DbAnswer> {
  const { createClient } = await import('@libsql/client')
  const client = createClient({
    url: target.url,
    intMode: 'bigint',
    ...(target.password ? { authToken: target.password } : {}),
  })
  let timedOut = false
  const close = () => client.close()
  const timer =
    query.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          close()
        }, query.timeoutMs)
  query.signal.addEventListener('abort', close, { once: true })
  const statement = { sql: query.sql, args: query.params.map(sqliteValue) }
  try {
    let result: Awaited<ReturnType<typeof client.execute>>
    if (query.readOnly) {
      const tx = await client.transaction('read')
      try {
        result = await tx.execute(statement)
      } finally {
        tx.close()
      }
    } else result = await client.execute(statement)
    const reader = result.columns.length > 0
    return {
      columns: [...result.columns],
      rows: result.rows.map((row) => Array.from({ length: result.columns.length }, (_, i) => row[i])),
      ...(reader ? {} : { affectedRows: result.rowsAffected }),
    }
  } catch (error) {
    const e = error as SqliteError
    // SQLite's own codes mean the server ran the statement and refused it; any other is the way there failing.
    if (!timedOut && !e.code?.startsWith('SQLITE_')) {
      throw new RetryableError('db_connect_failed', `Cannot reach ${new URL(target.url).host}: ${e.message}`, {
        details: { connection: target.name },
      })
    }
    throw queryError(e, timedOut, query.timeoutMs)
  } finally {
    clearTimeout(timer)
    query.signal.removeEventListener('abort', close)
    client.close()
  }
}

export async function queryLibsql(target: ResolvedDatabase, query: DbQuery): Promise<DbAnswer> {
  oneStatement(query.sql)
  return target.url.toLowerCase().startsWith('file:') ? queryFile(target, query) : queryRemote(target, query)
}
