// The db step's schema (one SQL statement against a database connection) and its rule that SQL is never templated.
import { z } from 'zod'
import type { CheckOutput } from './template-checks.ts'
import type { Path } from './yaml-locate.ts'
import { isRecord } from './zod-issues.ts'

/** Rows a db step returns inline when the flow sets no max_rows. */
export const DEFAULT_MAX_ROWS = 1000
/** The most rows a step reads at all, also into a resource: a bound on the server's memory. */
export const MAX_ROWS_LIMIT = 1_000_000

const param = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'a parameter is a string (templates allowed), number, boolean or null',
})

export const dbStep = z
  .object({
    connection: z
      .string()
      .min(1)
      .meta({ description: 'Name of a database connection (postgres://, libsql:// or file: URL).' }),
    sql: z.string().min(1, 'the statement is empty').meta({
      description:
        'One SQL statement, fixed text: {{ }} is refused here. Values go in params, written $1, $2… (PostgreSQL) or ? (libSQL).',
    }),
    params: z.array(param).max(1000).optional().meta({
      description: 'Values bound to the placeholders in order, never spliced into the SQL; templates allowed.',
    }),
    read_only: z
      .boolean()
      .default(false)
      .meta({ description: 'Run in a read-only transaction: a write is refused by the database.' }),
    max_rows: z
      .number()
      .int()
      .min(1)
      .max(MAX_ROWS_LIMIT)
      .optional()
      .meta({ description: `More rows fail the step with db_too_many_rows. Default ${DEFAULT_MAX_ROWS}.` }),
    as_resource: z.boolean().default(false).meta({
      description: 'Store the rows as a JSON resource: output rows is a res:// ref (default cap: 1,000,000 rows).',
    }),
  })
  .strict()

export type DbStep = z.infer<typeof dbStep>

/**
 * A `{{ }}` inside sql would splice a value into the statement, which is how injection happens; the schema cannot
 * point at the brace, so this check does, once per template.
 */
export function checkDbSql(step: Record<string, unknown>, path: Path, out: CheckOutput): void {
  const db = step.db
  if (!isRecord(db) || typeof db.sql !== 'string') return
  const sql = db.sql
  const given = Array.isArray(db.params) ? db.params.length : 0
  let count = 0
  for (let at = sql.indexOf('{{'); at >= 0 && count < 20; at = sql.indexOf('{{', at + 2)) {
    count++
    const placeholder = given + count
    const end = sql.indexOf('}}', at)
    const expression = (end < 0 ? sql.slice(at + 2) : sql.slice(at + 2, end)).trim().slice(0, 60)
    out.errors.push({
      path: [...path, 'db', 'sql'],
      target: { offset: at },
      code: 'template_in_sql',
      message: 'sql is fixed text: a {{ }} template here would splice a value into the statement',
      fix: `put the value in params and use $${placeholder} (PostgreSQL) or ? (libSQL) in sql, e.g. params: ["{{ ${expression || 'inputs.email'} }}"]`,
    })
  }
}
