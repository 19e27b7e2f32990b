// db: one SQL statement against a database connection (PostgreSQL or libSQL), values bound as parameters, rows capped
// by max_rows or stored as a JSON resource. The SQL text itself is never templated (the validator refuses {{ }} in it).
import { DEFAULT_MAX_ROWS, MAX_ROWS_LIMIT, parseDuration } from '../core/flow/index.ts'
import type { ResolvedDatabase } from '../engine/connections.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { TerminalError } from '../errors.ts'
import { queryLibsql } from './db-libsql.ts'
import { queryPostgres } from './db-postgres.ts'
import { type DbQuery, rowObjects, toBound, uniqueColumns } from './db-values.ts'

export interface DbRunnerDeps {
  /** Resolves a named database connection, its password decrypted; without it db steps fail with db_unavailable. */
  databaseConnection?(name: string): Promise<ResolvedDatabase>
}

interface DbConfig {
  connection: string
  sql: string
  params?: unknown[]
  read_only?: boolean
  max_rows?: number
  as_resource?: boolean
}

export function createDbRunner(deps: DbRunnerDeps): StepRunner {
  return {
    kind: 'db',
    billable: true,
    async run(ctx) {
      const c = ctx.config as unknown as DbConfig
      if (!deps.databaseConnection)
        throw new TerminalError('db_unavailable', 'This server has no database connections wired.')
      const target = await deps.databaseConnection(c.connection)
      // A resource holds what no step output could, so only a max_rows the flow wrote caps it.
      const maxRows = c.max_rows ?? (c.as_resource ? MAX_ROWS_LIMIT : DEFAULT_MAX_ROWS)
      const timeout = ctx.step.def.timeout
      const query: DbQuery = {
        sql: c.sql,
        params: (c.params ?? []).map(toBound),
        readOnly: c.read_only === true,
        maxRows,
        timeoutMs: timeout === undefined ? undefined : parseDuration(timeout),
        signal: ctx.signal,
      }
      const answer = await (target.engine === 'postgres' ? queryPostgres : queryLibsql)(target, query)
      if (answer.rows.length > maxRows) {
        throw new TerminalError('db_too_many_rows', `The statement returned more than ${maxRows} rows (max_rows).`, {
          hint: c.as_resource
            ? 'Narrow the query (WHERE, LIMIT) or raise max_rows.'
            : 'Narrow the query (WHERE, LIMIT), raise max_rows, or set as_resource: true to store the rows as a resource.',
          details: { max_rows: maxRows },
        })
      }
      const columns = uniqueColumns(answer.columns)
      const rows = rowObjects(columns, answer.rows)
      const rest = {
        row_count: rows.length,
        columns,
        ...(answer.affectedRows === undefined ? {} : { affected_rows: answer.affectedRows }),
      }
      if (!c.as_resource) return { type: 'done', output: { rows, ...rest } }
      const ref = await ctx.resources.put(Buffer.from(JSON.stringify(rows)), 'application/json', ctx.run.id)
      return { type: 'done', output: { rows: ref, ...rest } }
    },
  }
}
