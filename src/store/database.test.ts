import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from './database.ts'

describe('openDatabase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-db-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('migrates, reports ready, and tunes every pooled connection', async () => {
    const database = await openDatabase({ url: `file:${join(dir, 'a.db')}` })
    expect(await database.ready()).toBe(true)
    // Four transactions at once force four distinct connections.
    const txs = await Promise.all([1, 2, 3, 4].map(() => database.client.transaction('deferred')))
    const modes: unknown[] = []
    for (const tx of txs) modes.push((await tx.execute('PRAGMA synchronous')).rows[0]?.synchronous)
    for (const tx of txs) await tx.rollback()
    expect(modes).toEqual([1, 1, 1, 1])
    expect((await database.client.execute('PRAGMA journal_mode')).rows[0]?.journal_mode).toBe('wal')
    database.close()
  })

  it('serializes writers in one process instead of deadlocking on the file lock', async () => {
    const database = await openDatabase({ url: `file:${join(dir, 'b.db')}` })
    const slow = (n: number) =>
      database.write(async (tx) => {
        await tx.run(`INSERT INTO kv (key, value, updated_at) VALUES ('k${n}', '1', 0)`)
        await new Promise((r) => setTimeout(r, 5))
      })
    await Promise.all(Array.from({ length: 20 }, (_, n) => slow(n)))
    const count = await database.client.execute('SELECT count(*) AS n FROM kv')
    expect(Number(count.rows[0]?.n)).toBe(20)
    database.close()
  })
})
