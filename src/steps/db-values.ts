// What a db step hands to and takes from a driver: bound parameters, and rows made JSON-safe under one rule.

/** A value a driver binds to a placeholder. */
export type BoundValue = string | number | boolean | null

/** What the step asks of a driver. */
export interface DbQuery {
  sql: string
  params: BoundValue[]
  readOnly: boolean
  /** The driver may stop reading after maxRows + 1 rows: one more than the cap proves it exceeded. */
  maxRows: number
  /** The step's `timeout`, also given to the database as the statement's limit. */
  timeoutMs: number | undefined
  signal: AbortSignal
}

/** Rows as arrays in select-list order; `affectedRows` for a statement that returns no rows. */
export interface DbAnswer {
  columns: string[]
  rows: unknown[][]
  affectedRows?: number
}

/**
 * A parameter as bound: text, numbers, booleans and null as they are; an object or list (a template's typed result)
 * as its JSON text, so a jsonb or JSON column receives it whole; nothing (a template that found nothing) as NULL.
 */
export function toBound(value: unknown): BoundValue {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') return value.toString()
  return JSON.stringify(value)
}

/**
 * One rule for every engine: an integer is a JSON number while it is a safe integer (|n| ≤ 2^53 − 1) and its decimal
 * text beyond that, so no digit is ever lost; a timestamp is its ISO 8601 text; bytes are base64; NaN and ±Infinity
 * (which JSON cannot hold) are their names as text.
 */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Buffer.isBuffer(value)) return value.toString('base64')
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64')
  if (depth > 64) return null
  if (Array.isArray(value)) return value.map((item) => jsonSafe(item, depth + 1))
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v, depth + 1)
    return out
  }
  return String(value)
}

/**
 * Column names as the output's row keys. A name repeated in the select list (`a.id, b.id`) would overwrite the first
 * value, so the second becomes `id_2`, the third `id_3`, and `columns` lists the names the rows carry.
 */
export function uniqueColumns(names: readonly string[]): string[] {
  const seen = new Set<string>()
  return names.map((name) => {
    let candidate = name
    for (let n = 2; seen.has(candidate); n++) candidate = `${name}_${n}`
    seen.add(candidate)
    return candidate
  })
}

/** Rows as objects keyed by column, in select-list order, values JSON-safe. */
export function rowObjects(columns: readonly string[], rows: readonly (readonly unknown[])[]) {
  return rows.map((row) => {
    const out: Record<string, unknown> = {}
    columns.forEach((column, index) => {
      out[column] = jsonSafe(row[index])
    })
    return out
  })
}

/**
 * Where a second statement starts after the first one's `;` (SQLite lexing: quotes, [identifiers], comments), or
 * undefined when the text holds one statement. SQLite's prepare silently drops the rest, so it is refused instead.
 */
export function secondStatementAt(sql: string): number | undefined {
  let i = 0
  let ended: number | undefined
  while (i < sql.length) {
    const c = sql[i] as string
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      if (ended !== undefined) return i
      const close = c === '[' ? ']' : c
      i++
      while (i < sql.length && !(sql[i] === close && sql[i + 1] !== close)) i += sql[i] === close ? 2 : 1
      i++
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i)
      i = end < 0 ? sql.length : end + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      i = end < 0 ? sql.length : end + 2
    } else if (c === ';') {
      ended ??= i
      i++
    } else if (/\s/.test(c)) i++
    else if (ended !== undefined) return i
    else i++
  }
  return undefined
}
