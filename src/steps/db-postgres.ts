// PostgreSQL for the db step through `pg` (pure JS): one connection per step, the extended protocol (so one
// statement, parameters bound as $1…), BEGIN READ ONLY for read_only, and the step's timeout as statement_timeout.
import type { ClientConfig, CustomTypesConfig, QueryArrayConfig } from 'pg'
import type { ResolvedDatabase } from '../engine/connections.ts'
import { type AppError, RetryableError, TerminalError } from '../errors.ts'
import type { DbAnswer, DbQuery } from './db-values.ts'

const CONNECT_TIMEOUT_MS = 15_000

/** Built-in type OIDs whose default parsing would lose digits or shift by the server's time zone. */
const OID = { int8: 20, date: 1082, timestamp: 1114, interval: 1186, numeric: 1700 } as const

/**
 * int8 becomes a number while it is safe, else its text; numeric stays text (exact decimals); date, timestamp
 * without time zone and interval keep Postgres's text, which a JS Date would reinterpret in the server's zone.
 * timestamptz is a Date (then ISO text), bytea a Buffer (then base64), json/jsonb parsed: pg's defaults.
 */
function typeParsers(base: CustomTypesConfig): CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (format === 'binary') return base.getTypeParser(oid, format)
      if (oid === OID.int8) return (text: string) => (Number.isSafeInteger(Number(text)) ? Number(text) : text)
      if (oid === OID.numeric || oid === OID.date || oid === OID.timestamp || oid === OID.interval)
        return (text: string) => text
      return base.getTypeParser(oid, 'text')
    }) as CustomTypesConfig['getTypeParser'],
  }
}

interface PgError extends Error {
  code?: string
  severity?: string
  detail?: string
  hint?: string
  position?: string
}

/** Connection-level SQLSTATE classes (08, 53, 57P) and serialization/deadlock (40) are worth a retry. */
function retryable(sqlstate: string | undefined): boolean {
  return sqlstate !== undefined && (/^(08|40|53)/.test(sqlstate) || sqlstate.startsWith('57P'))
}

function connectError(target: ResolvedDatabase, error: PgError): AppError {
  const where = describe(target.url)
  const auth = error.code === '28P01' || error.code === '28000'
  const message = `Cannot connect to ${where} (connection '${target.name}'): ${error.message}`
  const options = {
    ...(auth ? { hint: 'Check the role and the secret named by the connection’s password_secret.' } : {}),
    details: { connection: target.name, ...(error.code ? { sqlstate: error.code } : {}) },
  }
  // A refused password stays refused; a network error or a server starting up may pass.
  return auth || error.code?.startsWith('3D')
    ? new TerminalError('db_connect_failed', message, options)
    : new RetryableError('db_connect_failed', message, options)
}

export function queryError(error: PgError, timeoutMs: number | undefined): AppError {
  const sqlstate = error.code
  if (sqlstate === '57014' && timeoutMs !== undefined) {
    return new RetryableError('db_timeout', `The statement ran longer than the step's timeout (${timeoutMs} ms).`, {
      details: { sqlstate },
    })
  }
  const details = {
    ...(sqlstate ? { sqlstate } : {}),
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.position ? { position: Number(error.position) } : {}),
  }
  const message = `The database refused the statement: ${error.message}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ''}.`
  const options = { details, ...(error.hint ? { hint: error.hint } : {}) }
  return retryable(sqlstate)
    ? new RetryableError('db_query_failed', message, options)
    : new TerminalError('db_query_failed', message, options)
}

/** host:port/database, never the user part of the URL. */
function describe(url: string): string {
  try {
    const u = new URL(url)
    return `${u.host}${u.pathname}`
  } catch {
    return 'the database'
  }
}

export async function queryPostgres(target: ResolvedDatabase, query: DbQuery): Promise<DbAnswer> {
  const pg = await import('pg') // loaded by the first Postgres step only
  const { Client, types } = pg.default
  const config: ClientConfig = {
    connectionString: target.url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'greenlight',
    types: typeParsers(types),
    ...(query.timeoutMs === undefined ? {} : { statement_timeout: query.timeoutMs }),
  }
  const client = new Client(config)
  // Set after construction: pg lets the connection string's (absent) password win over the config's, and would then
  // fall back to PGPASSWORD or ~/.pgpass of the server's own environment. A connection without a secret sends none.
  Object.assign(client, { password: target.password ?? '' })
  // A socket error after the query ended must not become an unhandled 'error' event (which ends the process).
  client.on('error', () => undefined)
  const abort = () => {
    client.end().catch(() => undefined)
  }
  query.signal.addEventListener('abort', abort, { once: true })
  try {
    try {
      await client.connect()
    } catch (error) {
      throw connectError(target, error as PgError)
    }
    try {
      if (query.readOnly) await client.query('BEGIN READ ONLY')
      // Extended protocol even without parameters: the server then refuses a second statement. (pg reads
      // queryMode since 8.11; its types do not list it yet.)
      const statement: QueryArrayConfig & { queryMode: 'extended' } = {
        text: query.sql,
        values: query.params,
        rowMode: 'array',
        queryMode: 'extended',
      }
      const result = await client.query(statement)
      if (query.readOnly) await client.query('ROLLBACK')
      const reader = result.fields.length > 0
      return {
        columns: result.fields.map((f) => f.name),
        rows: result.rows as unknown[][],
        ...(reader ? {} : { affectedRows: result.rowCount ?? 0 }),
      }
    } catch (error) {
      if (query.signal.aborted) throw new RetryableError('db_aborted', 'The db step was interrupted.')
      throw queryError(error as PgError, query.timeoutMs)
    }
  } finally {
    query.signal.removeEventListener('abort', abort)
    await client.end().catch(() => undefined)
  }
}
