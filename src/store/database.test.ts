import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSqld, type TestSqld } from '../../test/support/sqld.ts'
import { type StartedTarget, storeTargets } from '../../test/support/store-targets.ts'
import { openDatabase } from './database.ts'

describe('openDatabase on a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-db-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('migrates, reports ready, and tunes both connections (WAL, synchronous NORMAL)', async () => {
    const database = await openDatabase({ url: `file:${join(dir, 'a.db')}` })
    expect(await database.ready()).toBe(true)
    expect((await database.sql.get('PRAGMA journal_mode'))?.journal_mode).toBe('wal')
    expect((await database.sql.get('PRAGMA synchronous'))?.synchronous).toBe(1)
    const inWrite = await database.write(async (_tx, sql) => (await sql.get('PRAGMA synchronous'))?.synchronous)
    expect(inWrite).toBe(1)
    database.close()
  })
})

// Several machines share a database only through a server: two embedded connections in one process would block each
// other's thread on the file lock (across processes, test/integration/crash.test.ts covers the file).
describe('openDatabase on sqld, from two instances', () => {
  let server: TestSqld
  beforeAll(async () => {
    server = await startSqld()
  })
  afterAll(() => server.stop())

  it('lets two instances migrate one database at once and write beside each other without losing a write', async () => {
    const url = server.url
    const [a, b] = await Promise.all([openDatabase({ url }), openDatabase({ url })])
    expect([await a.ready(), await b.ready()]).toEqual([true, true])
    const insert = (database: typeof a, key: string) =>
      database.write((_tx, sql) => sql.run(`INSERT INTO kv (key, value, updated_at) VALUES (?, '1', 0)`, [key]))
    await Promise.all(Array.from({ length: 10 }, (_, n) => [insert(a, `a${n}`), insert(b, `b${n}`)]).flat())
    expect((await a.sql.get('SELECT count(*) AS n FROM kv'))?.n).toBe(20)
    a.close()
    b.close()
  })
})

describe.each(storeTargets)('openDatabase on $name', (target) => {
  let started: StartedTarget
  beforeAll(async () => {
    started = await target.start()
  })
  afterAll(() => started.stop())

  it('migrates and reports ready', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    expect(await database.ready()).toBe(true)
    const tables = await database.sql.all(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'runs'`)
    expect(tables).toHaveLength(1)
    database.close()
  })

  it('keeps an open write invisible to readers, and rolls a failed one back', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const seen: unknown[] = []
    await database.write(async (_tx, sql) => {
      await sql.run(`INSERT INTO kv (key, value, updated_at) VALUES ('a', '1', 0)`)
      await new Promise((r) => setTimeout(r, 5))
      seen.push((await database.sql.get('SELECT count(*) AS n FROM kv'))?.n)
    })
    seen.push((await database.sql.get('SELECT count(*) AS n FROM kv'))?.n)
    await expect(
      database.write(async (_tx, sql) => {
        await sql.run(`INSERT INTO kv (key, value, updated_at) VALUES ('b', '1', 0)`)
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    seen.push((await database.sql.get('SELECT count(*) AS n FROM kv'))?.n)
    expect(seen).toEqual([0, 1, 1])
    database.close()
  })

  it('serializes writers in one process instead of deadlocking on the file lock', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const slow = (n: number) =>
      database.write(async (tx) => {
        await tx.run(`INSERT INTO kv (key, value, updated_at) VALUES ('k${n}', '1', 0)`)
        await new Promise((r) => setTimeout(r, 5))
      })
    await Promise.all(Array.from({ length: 20 }, (_, n) => slow(n)))
    expect((await database.sql.get('SELECT count(*) AS n FROM kv'))?.n).toBe(20)
    database.close()
  })

  it('commits writes queued together in one transaction, rolling back only the one that failed', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const insert = (key: string, fail = false) =>
      database.write(async (_tx, sql) => {
        await sql.run(`INSERT INTO kv (key, value, updated_at) VALUES (?, '1', 0)`, [key])
        if (fail) throw new Error(`refused ${key}`)
        return key
      })
    // Queued in the same tick, these share a batch; the failing one must leave no row and the others must land.
    const outcomes = await Promise.allSettled([insert('a'), insert('b', true), insert('c'), insert('a')])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected'])
    const keys = (await database.sql.all('SELECT key FROM kv ORDER BY key')).map((r) => r.key)
    expect(keys).toEqual(['a', 'c'])
    database.close()
  })

  it('gives writes requested in the same turn of the event loop one commit', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const before = database.stats()
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        database.write((_tx, sql) => sql.run(`INSERT INTO kv (key, value, updated_at) VALUES (?, '1', 0)`, [`k${n}`])),
      ),
    )
    expect(database.stats()).toEqual({ writes: before.writes + 20, commits: before.commits + 1 })
    // A write requested after the others settled gets a commit of its own.
    await database.write((_tx, sql) => sql.run(`INSERT INTO kv (key, value, updated_at) VALUES ('z', '1', 0)`))
    expect(database.stats().commits).toBe(before.commits + 2)
    database.close()
  })

  it('settles a write only after its commit is visible to readers', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const seen = await Promise.all(
      Array.from({ length: 30 }, async (_, n) => {
        await database.write((_tx, sql) =>
          sql.run(`INSERT INTO kv (key, value, updated_at) VALUES (?, '1', 0)`, [`k${n}`]),
        )
        return (await database.sql.get('SELECT count(*) AS n FROM kv WHERE key = ?', [`k${n}`]))?.n
      }),
    )
    expect(seen).toEqual(Array.from({ length: 30 }, () => 1))
    database.close()
  })
})
