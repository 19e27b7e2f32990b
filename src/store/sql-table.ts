// Plain-SQL access to a drizzle table for hot paths: column names and value mapping (JSON text, booleans) come from
// the schema, so the table is still described once; only the query building is skipped.
import { getTableColumns, getTableName } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { SqlArg } from './sql-connection.ts'

interface Column {
  key: string
  name: string
  fromDriver(value: unknown): unknown
  toDriver(value: unknown): unknown
}

export interface TableCodec<Select, Insert> {
  /** Every column, in the order `decodeRow` expects (for SELECT and RETURNING lists). */
  readonly columns: string
  /** `SELECT <every column> FROM <table>`, to be followed by a WHERE clause. */
  readonly select: string
  /** A row read as an array of values (`SqlRunner.row`) from `select` or `RETURNING ${columns}`. */
  decodeRow(values: readonly unknown[]): Select
  /** `INSERT INTO t (<given columns>) VALUES (?…)` with its arguments, for the keys present in `values`. */
  insert(values: Partial<Insert>, suffix?: string): { sql: string; args: SqlArg[] }
  /** `INSERT … ON CONFLICT (<target>) DO UPDATE` setting every given column from the new row (its values bound once). */
  upsert(values: Partial<Insert>, conflictTarget: string): { sql: string; args: SqlArg[] }
  /** One `INSERT … VALUES (…), (…)` for rows that set the same columns (one statement instead of one per row). */
  insertRows(rows: readonly Partial<Insert>[]): { sql: string; args: SqlArg[] }
  /** `col = ?, …` and its arguments for the keys present in `patch` (undefined keys are skipped). */
  assignments(patch: Partial<Insert>): { sql: string; args: SqlArg[] }
}

const quote = (name: string) => `"${name}"`

/** Deep-freezes a parsed JSON value, so that sharing it between readers is safe (a mutation throws). */
function freeze<V>(value: V): V {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) freeze(child)
    Object.freeze(value)
  }
  return value
}

/**
 * For JSON columns that are large, read often and rarely change (an approval's spec lists its approvers): the
 * value parsed once per distinct text and shared, frozen, between readers.
 */
function sharedParse(parse: (text: unknown) => unknown): (text: unknown) => unknown {
  const parsed = new Map<string, unknown>()
  return (text) => {
    if (typeof text !== 'string' || text.length < 1024) return parse(text)
    const hit = parsed.get(text)
    if (hit !== undefined) return hit
    const value = freeze(parse(text))
    if (parsed.size >= 64) parsed.delete(parsed.keys().next().value as string)
    parsed.set(text, value)
    return value
  }
}

export function tableCodec<T extends SQLiteTable>(
  table: T,
  options: { shared?: readonly (keyof T['$inferSelect'])[] } = {},
): TableCodec<T['$inferSelect'], T['$inferInsert']> {
  const tableName = getTableName(table)
  const columns: Column[] = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const fromDriver = (value: unknown) => column.mapFromDriverValue(value)
    return {
      key,
      name: column.name,
      fromDriver: options.shared?.includes(key as keyof T['$inferSelect']) ? sharedParse(fromDriver) : fromDriver,
      toDriver: (value: unknown) => column.mapToDriverValue(value),
    }
  })
  const byKey = new Map(columns.map((c) => [c.key, c]))
  const encode = (column: Column, value: unknown): SqlArg => (value === null ? null : column.toDriver(value)) as SqlArg
  const present = (values: Record<string, unknown>) => {
    const found: [Column, unknown][] = []
    for (const key in values) {
      const value = values[key]
      const column = byKey.get(key)
      if (value !== undefined && column) found.push([column, value])
    }
    return found
  }
  const list = columns.map((c) => quote(c.name)).join(', ')
  return {
    columns: list,
    select: `SELECT ${list} FROM ${quote(tableName)}`,
    decodeRow(values) {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i] as Column
        const value = values[i]
        out[column.key] = value === null || value === undefined ? null : column.fromDriver(value)
      }
      return out as T['$inferSelect']
    },
    insert(values, suffix = '') {
      const found = present(values as Record<string, unknown>)
      return {
        sql: `INSERT INTO ${quote(tableName)} (${found.map(([c]) => quote(c.name)).join(', ')}) VALUES (${found
          .map(() => '?')
          .join(', ')})${suffix}`,
        args: found.map(([c, v]) => encode(c, v)),
      }
    },
    upsert(values, conflictTarget) {
      const found = present(values as Record<string, unknown>)
      const names = found.map(([c]) => quote(c.name))
      return {
        sql: `INSERT INTO ${quote(tableName)} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (${conflictTarget}) DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}`,
        args: found.map(([c, v]) => encode(c, v)),
      }
    },
    insertRows(rows) {
      const first = present((rows[0] ?? {}) as Record<string, unknown>).map(([c]) => c)
      const args: SqlArg[] = []
      for (const row of rows) {
        const values = row as Record<string, unknown>
        for (const column of first) {
          const value = values[column.key]
          args.push(value === undefined ? null : encode(column, value))
        }
      }
      const tuple = `(${first.map(() => '?').join(', ')})`
      return {
        sql: `INSERT INTO ${quote(tableName)} (${first.map((c) => quote(c.name)).join(', ')}) VALUES ${rows
          .map(() => tuple)
          .join(', ')}`,
        args,
      }
    },
    assignments(patch) {
      const found = present(patch as Record<string, unknown>)
      return {
        sql: found.map(([c]) => `${quote(c.name)} = ?`).join(', '),
        args: found.map(([c, v]) => encode(c, v)),
      }
    },
  }
}
