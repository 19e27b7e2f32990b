// Connections the store runs SQL on. An embedded file is opened natively (synchronous calls, statements prepared
// once and cached); a remote libSQL server goes through @libsql/client. Both answer the same small interface, which
// drizzle drives through its proxy driver and the hot paths call directly with plain SQL.
import type { Client, Transaction } from '@libsql/client'
import Native from 'libsql'

export type SqlArg = string | number | bigint | null | Uint8Array | Buffer
export type Row = Record<string, unknown>
export type ProxyMethod = 'run' | 'all' | 'values' | 'get'

/** Plain SQL with positional `?` parameters. Rows come back as objects keyed by column name. */
export interface SqlRunner {
  all(sql: string, args?: readonly SqlArg[]): Promise<Row[]>
  get(sql: string, args?: readonly SqlArg[]): Promise<Row | undefined>
  /** Rows as arrays of values in the order of the SELECT list (cheaper than objects: no names per row). */
  rows(sql: string, args?: readonly SqlArg[]): Promise<unknown[][]>
  row(sql: string, args?: readonly SqlArg[]): Promise<unknown[] | undefined>
  run(sql: string, args?: readonly SqlArg[]): Promise<{ changes: number }>
}

export interface SqlConnection extends SqlRunner {
  /** drizzle's proxy callback: rows as arrays of values (`get`: one row or undefined). */
  proxy(sql: string, params: unknown[], method: ProxyMethod): Promise<{ rows: unknown[] }>
  begin(): Promise<void>
  commit(): Promise<void>
  rollback(): Promise<void>
  /** True between begin() and commit()/rollback(). */
  inTransaction(): boolean
  close(): void
}

interface NativeStatement {
  run(args: unknown[]): { changes: number }
  get(args: unknown[]): unknown
  all(args: unknown[]): unknown[]
  raw(on?: boolean): NativeStatement
}

interface NativeDatabase {
  prepare(sql: string): NativeStatement
  exec(sql: string): void
  close(): void
  readonly inTransaction: boolean
}

/** Statements prepared per distinct SQL text; drizzle and the store repeat a bounded set of shapes. */
const CACHE_LIMIT = 512

export function openNativeConnection(path: string, timeoutMs: number): SqlConnection {
  const db = new (Native as unknown as new (path: string, options: object) => NativeDatabase)(path, {
    timeout: timeoutMs,
  })
  db.exec('PRAGMA synchronous = NORMAL')
  const objects = new Map<string, NativeStatement>()
  const arrays = new Map<string, NativeStatement>()
  const statement = (sql: string, raw: boolean): NativeStatement => {
    const cache = raw ? arrays : objects
    let found = cache.get(sql)
    if (!found) {
      if (cache.size >= CACHE_LIMIT) cache.clear()
      found = db.prepare(sql)
      if (raw) found.raw(true)
      cache.set(sql, found)
    }
    return found
  }
  const settle = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const args = (values: readonly unknown[] | undefined): unknown[] => (values ?? []) as unknown[]
  /**
   * A statement whose step failed keeps that error: the next use of it throws it again whatever the arguments (an
   * FTS5 syntax error in one search would fail the next valid one). It is dropped from the cache and prepared anew.
   */
  const using = <T>(sql: string, raw: boolean, work: (prepared: NativeStatement) => T): Promise<T> =>
    settle(() => {
      try {
        return work(statement(sql, raw))
      } catch (error) {
        ;(raw ? arrays : objects).delete(sql)
        throw error
      }
    })
  return {
    all: (sql, values) => using(sql, false, (s) => s.all(args(values)) as Row[]),
    get: (sql, values) => using(sql, false, (s) => s.get(args(values)) as Row | undefined),
    run: (sql, values) => using(sql, false, (s) => ({ changes: s.run(args(values)).changes })),
    rows: (sql, values) => using(sql, true, (s) => s.all(args(values)) as unknown[][]),
    row: (sql, values) => using(sql, true, (s) => s.get(args(values)) as unknown[] | undefined),
    proxy: (sql, params, method) => {
      if (method === 'run')
        return using(sql, false, (s) => {
          s.run(params)
          return { rows: [] }
        })
      return using(sql, true, (s) => ({ rows: (method === 'get' ? s.get(params) : s.all(params)) as unknown[] }))
    },
    begin: () => settle(() => db.exec('BEGIN IMMEDIATE')),
    commit: () => settle(() => db.exec('COMMIT')),
    rollback: () =>
      settle(() => {
        if (db.inTransaction) db.exec('ROLLBACK')
      }),
    inTransaction: () => db.inTransaction,
    close: () => db.close(),
  }
}

/** A connection over @libsql/client (remote servers, in-memory databases). Writes hold one client transaction. */
export function clientConnection(client: Client): SqlConnection {
  let tx: Transaction | undefined
  const execute = (sql: string, values: readonly unknown[] | undefined) =>
    (tx ?? client).execute({ sql, args: (values ?? []) as SqlArg[] })
  const objects = (result: Awaited<ReturnType<typeof execute>>): Row[] =>
    result.rows.map((row) => Object.fromEntries(result.columns.map((name, i) => [name, row[i]])))
  const arrays = (result: Awaited<ReturnType<typeof execute>>): unknown[][] =>
    result.rows.map((row) => result.columns.map((_, i) => row[i]))
  return {
    all: async (sql, values) => objects(await execute(sql, values)),
    get: async (sql, values) => objects(await execute(sql, values))[0],
    run: async (sql, values) => ({ changes: (await execute(sql, values)).rowsAffected }),
    rows: async (sql, values) => arrays(await execute(sql, values)),
    row: async (sql, values) => arrays(await execute(sql, values))[0],
    async proxy(sql, params, method) {
      const result = await execute(sql, params)
      if (method === 'run') return { rows: [] }
      const rows = arrays(result)
      return { rows: (method === 'get' ? rows[0] : rows) as unknown[] }
    },
    async begin() {
      tx = await client.transaction('write')
    },
    async commit() {
      const held = tx
      tx = undefined
      await held?.commit()
    },
    async rollback() {
      const held = tx
      tx = undefined
      if (held && !held.closed) await held.rollback()
    },
    inTransaction: () => tx !== undefined,
    close: () => client.close(),
  }
}

/**
 * Reads go to the writer connection while it holds no transaction, and to the reader beside an open one. SQLite
 * drops a connection's whole page cache when it sees another connection's commit, so a separate reader re-reads
 * every page after each write; the writer's cache stays warm across its own commits.
 */
export function routedReader(writer: SqlConnection, reader: SqlConnection): SqlRunner & Pick<SqlConnection, 'proxy'> {
  const pick = () => (writer.inTransaction() ? reader : writer)
  return {
    all: (sql, values) => pick().all(sql, values),
    get: (sql, values) => pick().get(sql, values),
    rows: (sql, values) => pick().rows(sql, values),
    row: (sql, values) => pick().row(sql, values),
    run: (sql, values) => pick().run(sql, values),
    proxy: (sql, params, method) => pick().proxy(sql, params, method),
  }
}
