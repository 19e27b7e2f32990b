// The db step through a real server against a real PostgreSQL cluster and a real libSQL file: bound parameters,
// read_only, max_rows, as_resource, validation of templates in sql, connection errors and the password's redaction.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { startPostgres, type TestPostgres } from '../support/postgres.ts'
import { type Json, pushRelease, runEvents, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']
const INJECTION = "'; DROP TABLE customers; --"

interface NativeDb {
  exec(sql: string): void
  prepare(sql: string): { get(args?: unknown[]): Record<string, unknown> | undefined }
  close(): void
}
const Native = createRequire(import.meta.url)('libsql') as new (path: string) => NativeDb

function flow(slug: string, connection: string, db: string, inputs = ''): string {
  return `slug: ${slug}\n${inputs}requires: { connections: [${connection}] }\nsteps:\n  - id: q\n    db:\n      connection: ${connection}\n${db}`
}

const EMAIL_INPUT = 'inputs: { email: { type: string, required: true } }\n'

describe('db step', () => {
  let server: TestServer
  let pg: TestPostgres
  let work: string
  let libsqlFile: string
  let env: Record<string, string>

  async function run(slug: string, inputs: Record<string, unknown> = {}): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: slug, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return runReaches(server, (started.body.data as Json).run.id, TERMINAL)
  }

  const pgCount = (table: string) => Number(pg.psql(`select count(*) from ${table};`).trim())
  const fileCount = (table: string) => {
    const db = new Native(libsqlFile)
    try {
      return Number(db.prepare(`select count(*) as n from ${table}`).get()?.n)
    } finally {
      db.close()
    }
  }

  beforeAll(async () => {
    // A cluster that cannot start throws here, and every test below fails with its message (never a skip).
    pg = await startPostgres()
    pg.psql(`
      create table customers (id serial primary key, name text not null, email text not null, balance int8,
                              joined timestamptz, photo bytea, tags jsonb);
      insert into customers (name, email, balance, joined, photo, tags) values
        ('Alice', 'alice@example.com', 9007199254740993, '2024-01-02T03:04:05Z', '\\x0102ff', '["vip"]'),
        ('Bob', 'bob@example.com', 7, null, null, null);
      create table many as select n, 'row ' || n as label from generate_series(1, 50) as n;
      create table leaks (v text);
    `)
    pg.psql(`insert into leaks values ('${pg.password}');`)
    work = mkdtempSync(join(tmpdir(), 'greenlight-db-'))
    libsqlFile = join(work, 'crm.db')
    const db = new Native(libsqlFile)
    db.exec(`create table customers (id integer primary key, name text not null, email text not null, balance integer);
      insert into customers (name, email, balance) values ('Alice', 'alice@example.com', 9007199254740993),
        ('Bob', 'bob@example.com', 7);`)
    db.close()

    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    expect((await api(server, 'PUT', '/api/v1/secrets/crm_pw', { value: pg.password })).status).toBe(201)
    expect((await api(server, 'PUT', '/api/v1/secrets/wrong_pw', { value: 'not-the-password-1' })).status).toBe(201)
    for (const [name, ...flags] of [
      ['crm', '--url', pg.url, '--password-secret', 'crm_pw'],
      ['crm_bad', '--url', pg.url, '--password-secret', 'wrong_pw'],
      ['crm_file', '--url', `file:${libsqlFile}`],
    ] as const) {
      const set = await runCli(['connections', 'set', name, '--type', 'database', ...flags], { env })
      expect(set.code, set.stdout + set.stderr).toBe(0)
    }
  }, 60_000)
  afterAll(async () => {
    await server?.close()
    await pg?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('refuses a connection URL that holds the password, pointing at --password-secret', async () => {
    const withPassword = pg.url.replace(`${pg.user}@`, `${pg.user}:${pg.password}@`)
    const cli = await runCli(['connections', 'set', 'leaky', '--type', 'database', '--url', withPassword], { env })
    expect(cli.code).toBe(2)
    expect(cli.stdout + cli.stderr).toContain('--password-secret')
    const direct = await api(server, 'PUT', '/api/v1/connections/leaky', { type: 'database', url: withPassword })
    expect(direct.status).toBe(400)
    expect(direct.body.error?.message).toContain('password_secret')
    expect(JSON.stringify(direct.body)).not.toContain(pg.password)
    expect((await api(server, 'GET', '/api/v1/connections/leaky')).status).toBe(404)
  })

  it('selects with a bound parameter on PostgreSQL, values JSON-safe', async () => {
    await pushRelease(
      server,
      flow(
        'pg_lookup',
        'crm',
        '      sql: select id, name, balance, joined, photo, tags from customers where email = $1\n      params: ["{{ inputs.email }}"]\n      read_only: true\n',
        EMAIL_INPUT,
      ),
    )
    const done = await run('pg_lookup', { email: 'alice@example.com' })
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.steps[0].output).toEqual({
      rows: [
        {
          id: 1,
          name: 'Alice',
          balance: '9007199254740993',
          joined: '2024-01-02T03:04:05.000Z',
          photo: 'AQL/',
          tags: ['vip'],
        },
      ],
      row_count: 1,
      columns: ['id', 'name', 'balance', 'joined', 'photo', 'tags'],
    })
  })

  it('selects with a bound parameter on a libSQL file', async () => {
    await pushRelease(
      server,
      flow(
        'file_lookup',
        'crm_file',
        '      sql: select id, name, balance from customers where email = ?\n      params: ["{{ inputs.email }}"]\n',
        EMAIL_INPUT,
      ),
    )
    const done = await run('file_lookup', { email: 'bob@example.com' })
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.steps[0].output).toEqual({
      rows: [{ id: 2, name: 'Bob', balance: 7 }],
      row_count: 1,
      columns: ['id', 'name', 'balance'],
    })
    const alice = await run('file_lookup', { email: 'alice@example.com' })
    expect(alice.steps[0].output.rows[0].balance).toBe('9007199254740993')
  })

  it('binds an injection attempt as a harmless value on both engines', async () => {
    for (const [slug, count] of [
      ['pg_lookup', () => pgCount('customers')],
      ['file_lookup', () => fileCount('customers')],
    ] as const) {
      const done = await run(slug, { email: INJECTION })
      expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
      expect(done.steps[0].output.rows).toEqual([])
      expect(done.steps[0].output.row_count).toBe(0)
      expect(count(), slug).toBe(2)
    }
  })

  it('refuses a write under read_only on both engines, and the row is not written', async () => {
    for (const [slug, connection, placeholder, count, detail] of [
      ['pg_ro', 'crm', '$1', () => pgCount('customers'), { sqlstate: '25006' }],
      ['file_ro', 'crm_file', '?', () => fileCount('customers'), { sqlite_code: 'SQLITE_READONLY' }],
    ] as const) {
      await pushRelease(
        server,
        flow(
          slug,
          connection,
          `      sql: insert into customers (name, email) values ('Mallory', ${placeholder})\n      params: [m@example.com]\n      read_only: true\n`,
        ),
      )
      const done = await run(slug)
      expect(done.run.status, slug).toBe('failed')
      expect(done.run.error.code).toBe('db_query_failed')
      expect(done.run.error.details).toMatchObject(detail)
      expect(count(), slug).toBe(2)
    }
  })

  it('fails with db_too_many_rows over max_rows, and stores them all with as_resource', async () => {
    await pushRelease(
      server,
      flow('pg_many', 'crm', '      sql: select n, label from many order by n\n      max_rows: 10\n'),
    )
    const capped = await run('pg_many')
    expect(capped.run.status).toBe('failed')
    expect(capped.run.error.code).toBe('db_too_many_rows')
    expect(capped.run.error.details.max_rows).toBe(10)

    await pushRelease(
      server,
      flow('pg_many_res', 'crm', '      sql: select n, label from many order by n\n      as_resource: true\n'),
    )
    const stored = await run('pg_many_res')
    expect(stored.run.status, JSON.stringify(stored.run.error)).toBe('succeeded')
    const output = stored.steps[0].output
    expect(output.row_count).toBe(50)
    expect(output.columns).toEqual(['n', 'label'])
    expect(output.rows).toMatch(/^res:\/\/[0-9a-f]{64}$/)
    const read = await runCli(['resources', 'get', output.rows], { env })
    expect(read.code, read.stderr).toBe(0)
    expect(read.json.data.media_type).toContain('application/json')
    const rows = JSON.parse(read.json.data.content)
    expect(rows).toHaveLength(50)
    expect(rows[0]).toEqual({ n: 1, label: 'row 1' })
    expect(rows[49]).toEqual({ n: 50, label: 'row 50' })
  })

  it('refuses a template inside sql in flows validate, with its line and column', async () => {
    const file = join(work, 'templated.yaml')
    writeFileSync(
      file,
      flow('templated', 'crm', "      sql: select id from customers where email = '{{ inputs.email }}'\n", EMAIL_INPUT),
    )
    const res = await runCli(['flows', 'validate', file], { env: { GREENLIGHT_URL: 'http://127.0.0.1:1' } })
    expect(res.code, res.stdout).toBe(2)
    const problems = res.json.error.details.files[0].problems
    expect(problems).toEqual([
      expect.objectContaining({ code: 'template_in_sql', line: 8, column: 52, path: 'steps[0].db.sql' }),
    ])
    expect(problems[0].fix).toContain('params')
  })

  it('fails with db_connect_failed on a wrong password', async () => {
    await pushRelease(server, flow('pg_bad', 'crm_bad', '      sql: select 1 as one\n'))
    const done = await run('pg_bad')
    expect(done.run.status).toBe('failed')
    expect(done.run.error.code).toBe('db_connect_failed')
    expect(done.run.error.details.sqlstate).toBe('28P01')
    expect(done.run.error.message).not.toContain('not-the-password-1')
  })

  it('never shows the password: not in outputs, errors, events or the database file', async () => {
    await pushRelease(
      server,
      `slug: pg_leak\nrequires: { connections: [crm] }\nsteps:
  - id: echo
    db: { connection: crm, sql: select v from leaks }
  - id: broken
    db: { connection: crm, sql: select cast(v as integer) from leaks }
`,
    )
    const done = await run('pg_leak')
    expect(done.run.status).toBe('failed')
    // The database really sent the password back (in a row, in an error): the masking is ours.
    expect(done.steps[0].output.rows).toEqual([{ v: '***' }])
    expect(done.run.error.code).toBe('db_query_failed')
    expect(done.run.error.message).toContain('***')
    const events = await runEvents(server, done.run.id)
    const shown = JSON.stringify(done)
    const logged = JSON.stringify(events)
    expect(logged.length).toBeGreaterThan(100)
    for (const [where, text] of [
      ['runs show', shown],
      ['runs events', logged],
    ] as const) {
      expect(text.includes(pg.password), `${where} leaks`).toBe(false)
    }
    for (const name of ['greenlight.db', 'greenlight.db-wal']) {
      const path = join(server.dataDir, name)
      if (!existsSync(path)) continue
      expect(readFileSync(path).includes(pg.password), `${name} holds the password`).toBe(false)
    }
  })
})
