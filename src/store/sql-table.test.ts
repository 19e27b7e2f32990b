import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type StartedTarget, storeTargets } from '../../test/support/store-targets.ts'
import { openDatabase } from './database.ts'
import { stepRuns, waits } from './schema.ts'
import { tableCodec } from './sql-table.ts'

describe.each(storeTargets)('tableCodec on $name', (target) => {
  let started: StartedTarget
  beforeAll(async () => {
    started = await target.start()
  })
  afterAll(() => started.stop())

  it('writes and reads JSON and boolean columns as drizzle does', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const table = tableCodec(stepRuns)
    const row = {
      runId: 'run_1',
      stepId: 'shape',
      visit: 2,
      kind: 'transform',
      status: 'succeeded',
      attempt: 1,
      output: { text: 'it\'s "quoted"', list: [1, null, 'é漢'] },
      error: null,
      billable: true,
      startedAt: 1,
      endedAt: null,
    }
    const insert = table.insert(row)
    await database.write((_tx, sql) => sql.run(insert.sql, insert.args))
    const where = `${table.select} WHERE run_id = ?`
    const asValues = await database.sql.row(where, ['run_1'])
    expect(asValues && table.decodeRow(asValues)).toEqual(row)
    // drizzle reads the same row the same way.
    expect(await database.db.select().from(stepRuns).get()).toEqual(row)
    // An update patch skips undefined keys and writes null.
    const set = table.assignments({ status: 'failed', output: undefined, endedAt: 5, billable: false })
    await database.write((_tx, sql) =>
      sql.run(`UPDATE step_runs SET ${set.sql} WHERE run_id = ?`, [...set.args, 'run_1']),
    )
    const after = await database.sql.row(where, ['run_1'])
    expect(after && table.decodeRow(after)).toEqual({ ...row, status: 'failed', endedAt: 5, billable: false })
    // An upsert of the same key replaces the row's columns with the new row's.
    const retried = { ...row, status: 'retried', attempt: 2, output: [1], error: { code: 'x' }, billable: false }
    const again = table.upsert(retried, 'run_id, step_id, visit')
    await database.write((_tx, sql) => sql.run(again.sql, again.args))
    const replaced = await database.sql.row(where, ['run_1'])
    expect(replaced && table.decodeRow(replaced)).toEqual(retried)
    expect((await database.sql.all('SELECT count(*) AS n FROM step_runs'))[0]?.n).toBe(1)
    database.close()
  })

  it('inserts several rows in one statement, each read back as written', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const table = tableCodec(stepRuns)
    const rows = [1, 2, 3].map((visit) => ({
      runId: 'run_2',
      stepId: 'loop',
      visit,
      kind: 'transform',
      status: 'succeeded',
      attempt: 1,
      output: { visit, text: `v${visit}` },
      error: visit === 2 ? { code: 'x' } : null,
      billable: visit === 3,
      startedAt: visit,
      endedAt: visit + 1,
    }))
    const insert = table.insertRows(rows)
    expect(insert.sql.match(/\(\?/g)).toHaveLength(3)
    await database.write((_tx, sql) => sql.run(insert.sql, insert.args))
    const read = await database.sql.rows(`${table.select} WHERE run_id = ? ORDER BY visit`, ['run_2'])
    expect(read.map((values) => table.decodeRow(values))).toEqual(rows)
    database.close()
  })
})

describe('tableCodec', () => {
  it('parses a shared column once per distinct large text and hands out the same frozen value', () => {
    const table = tableCodec(waits, { shared: ['spec'] })
    const big = JSON.stringify({ approvers: { users: Array.from({ length: 200 }, (_, i) => `U${i}`) }, required: 2 })
    // A row read as values: every column null but the spec.
    const values = (spec: string) => table.columns.split(', ').map((column) => (column === '"spec"' ? spec : null))
    const a = table.decodeRow(values(big)).spec as { approvers: { users: string[] } }
    const b = table.decodeRow(values(big)).spec
    expect(b).toBe(a)
    expect(Object.isFrozen(a.approvers.users)).toBe(true)
    expect(() => a.approvers.users.push('U999')).toThrow(TypeError)
    const changed = table.decodeRow(values(big.replace('"required":2', '"required":3'))).spec as { required: number }
    expect(changed.required).toBe(3)
    // Small texts are parsed anew each time: nothing is shared.
    const small = JSON.stringify({ required: 1 })
    expect(table.decodeRow(values(small)).spec).not.toBe(table.decodeRow(values(small)).spec)
  })
})
