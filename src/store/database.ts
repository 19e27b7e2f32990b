// Opens the libSQL database, applies migrations, tunes embedded files (WAL, busy timeout), and serializes writes.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { drizzle as proxyDrizzle, type SqliteRemoteDatabase } from 'drizzle-orm/sqlite-proxy'
import { migrate } from 'drizzle-orm/sqlite-proxy/migrator'
import { createGroupCommit } from './group-commit.ts'
import * as schema from './schema.ts'
import {
  clientConnection,
  openNativeConnection,
  routedReader,
  type SqlConnection,
  type SqlRunner,
} from './sql-connection.ts'

export type Db = SqliteRemoteDatabase<typeof schema>
/** The handle a write transaction gets; same query API as Db. */
export type Tx = Db

export interface Database {
  /** Queries outside a transaction. */
  db: Db
  /** Plain SQL outside a transaction, for hot paths. */
  sql: SqlRunner
  /**
   * Runs `fn` in a write transaction (drizzle and plain SQL on the same connection), atomically: it all commits or
   * none of it does. In-process writers queue here (so no write waits on a lock we hold), and writes queued together
   * share one commit. The promise settles after the COMMIT.
   */
  write<T>(fn: (tx: Tx, sql: SqlRunner) => Promise<T>): Promise<T>
  /** Writes requested and transactions committed by this process so far. */
  stats(): { writes: number; commits: number }
  /** True when the database answers and every committed migration is applied. */
  ready(): Promise<boolean>
  /** Resolves once every write requested so far has committed or failed. */
  settled(): Promise<void>
  close(): void
}

export interface DatabaseOptions {
  url: string
  authToken?: string | undefined
  migrationsFolder?: string
}

/** Finds the committed migrations, whether running from src/ or from a bundle in dist/. */
export function findMigrationsFolder(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from
  for (;;) {
    const candidate = join(dir, 'drizzle')
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No drizzle/ migrations folder above ${from}.`)
    dir = parent
  }
}

function filePath(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined
  const path = url.slice('file:'.length)
  return path === ':memory:' || path === '' ? undefined : resolve(path.replace(/^\/\/(?=\/)/, ''))
}

const BUSY_TIMEOUT_MS = 10_000

/**
 * An embedded file gets two native connections (one for writes, one for reads beside an open write) and migrates
 * through them; a remote server (or `:memory:`) goes through @libsql/client, loaded only then. WAL + NORMAL
 * survives a process crash (SIGKILL); only an OS crash or power loss can drop the last commits. A libSQL server gets
 * no PRAGMAs (sqld refuses `synchronous`; its durability is the server's own), and its write transactions are the
 * client's interactive ones, over WebSockets (ws://, libsql://) or HTTP (http://) alike.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const path = filePath(options.url)
  const migrationsFolder = options.migrationsFolder ?? findMigrationsFolder()
  const expected = journalEntries(migrationsFolder)
  let reader: SqlConnection
  let writer: SqlConnection
  if (path === undefined) {
    const { createClient } = await import('@libsql/client')
    const { drizzle } = await import('drizzle-orm/libsql')
    const { migrate } = await import('drizzle-orm/libsql/migrator')
    const client = createClient({ url: options.url, authToken: options.authToken, timeout: BUSY_TIMEOUT_MS })
    const migrations = drizzle(client, { schema })
    await withRetries(() => migrate(migrations, { migrationsFolder }))
    reader = clientConnection(client)
    writer = clientConnection(client)
  } else {
    mkdirSync(dirname(path), { recursive: true })
    writer = openNativeConnection(path, BUSY_TIMEOUT_MS)
    await writer.get('PRAGMA journal_mode = WAL')
    await withRetries(() => migrateNative(writer, migrationsFolder))
    reader = openNativeConnection(path, BUSY_TIMEOUT_MS)
  }

  const reads = path === undefined ? reader : routedReader(writer, reader)
  const db = proxyDrizzle((sql, params, method) => reads.proxy(sql, params, method), { schema })
  const tx = proxyDrizzle((sql, params, method) => writer.proxy(sql, params, method), { schema })
  const { write, settled, stats } = createGroupCommit(writer, tx)

  return {
    db,
    sql: reads,
    write,
    settled,
    stats,
    async ready() {
      try {
        const row = await reader.get('SELECT count(*) AS n FROM __drizzle_migrations')
        return Number(row?.n) >= expected
      } catch {
        return false
      }
    },
    close() {
      reader.close()
      writer.close()
    },
  }
}

/** drizzle's migrator over a native connection: the pending migrations in one immediate transaction. */
async function migrateNative(connection: SqlConnection, migrationsFolder: string): Promise<void> {
  const proxy = proxyDrizzle((sql, params, method) => connection.proxy(sql, params, method))
  await migrate(
    proxy,
    async (queries) => {
      if (queries.length === 0) return
      await connection.begin()
      try {
        for (const query of queries) await connection.run(query)
        await connection.commit()
      } catch (error) {
        await connection.rollback()
        throw error
      }
    },
    { migrationsFolder },
  )
}

function journalEntries(folder: string): number {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
  return journal.entries.length
}

/** Two instances starting together may race to migrate; the loser retries and finds the work done. */
async function withRetries(migrateOnce: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateOnce()
      return
    } catch (error) {
      if (attempt >= 5) throw error
      await new Promise((r) => setTimeout(r, 50 * attempt))
    }
  }
}
