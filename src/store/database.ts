// Opens the libSQL database, tunes embedded files (WAL, busy timeout), applies migrations, and serializes writes.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Client, createClient } from '@libsql/client'
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql'
import { migrate } from 'drizzle-orm/libsql/migrator'
import * as schema from './schema.ts'

export type Db = LibSQLDatabase<typeof schema>
/** The handle a write transaction gets; same query API as Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export interface Database {
  db: Db
  client: Client
  /** Runs `fn` in one write transaction. In-process writers queue here, so no write ever waits on a lock we hold. */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>
  /** True when the database answers and every committed migration is applied. */
  ready(): Promise<boolean>
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

/** A FIFO async mutex: each caller runs after the previous one settles. */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => undefined)
    return run
  }
}

const CONNECTIONS = 4

/**
 * `synchronous` is per connection and cannot be set inside a transaction, and the client opens pool connections
 * lazily. So: set it on the idle connection, hold that one in an idle transaction so the next statement opens a new
 * connection, and repeat until every connection of the pool has it. WAL + NORMAL survives a process crash (SIGKILL);
 * only an OS crash or power loss can drop the last commits.
 */
async function tuneEveryConnection(client: Client, count: number): Promise<void> {
  const held = []
  for (let i = 0; i < count; i++) {
    await client.execute('PRAGMA synchronous = NORMAL')
    if (i < count - 1) held.push(await client.transaction('deferred'))
  }
  for (const tx of held) await tx.rollback()
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const path = filePath(options.url)
  if (path !== undefined) mkdirSync(dirname(path), { recursive: true })
  const client = createClient({
    url: path === undefined ? options.url : `file:${path}`,
    authToken: options.authToken,
    // Several connections let reads proceed beside a write transaction; the mutex keeps writes one at a time.
    concurrency: CONNECTIONS,
    timeout: 10_000,
  })
  if (path !== undefined) {
    await client.execute('PRAGMA journal_mode = WAL')
    await tuneEveryConnection(client, CONNECTIONS)
  }
  const db = drizzle(client, { schema })
  const migrationsFolder = options.migrationsFolder ?? findMigrationsFolder()
  await applyMigrations(db, migrationsFolder)
  const expected = journalEntries(migrationsFolder)
  const serialize = createMutex()

  return {
    db,
    client,
    write: (fn) => serialize(() => db.transaction(fn)),
    async ready() {
      try {
        const result = await client.execute('SELECT count(*) AS n FROM __drizzle_migrations')
        return Number(result.rows[0]?.n) >= expected
      } catch {
        return false
      }
    },
    close: () => client.close(),
  }
}

function journalEntries(folder: string): number {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
  return journal.entries.length
}

/** Two instances starting together may race to migrate; the loser retries and finds the work done. */
async function applyMigrations(db: Db, migrationsFolder: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, { migrationsFolder })
      return
    } catch (error) {
      if (attempt >= 5) throw error
      await new Promise((r) => setTimeout(r, 50 * attempt))
    }
  }
}
