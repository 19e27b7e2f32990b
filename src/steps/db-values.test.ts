import { describe, expect, it } from 'vitest'
import { jsonSafe, rowObjects, secondStatementAt, toBound, uniqueColumns } from './db-values.ts'

describe('db values', () => {
  it('makes rows JSON-safe by one rule: safe integers as numbers, larger ones as text, dates ISO, bytes base64', () => {
    expect(jsonSafe(42n)).toBe(42)
    expect(jsonSafe(9_007_199_254_740_993n)).toBe('9007199254740993')
    expect(jsonSafe(-9_007_199_254_740_991n)).toBe(-9_007_199_254_740_991)
    expect(jsonSafe(new Date('2024-01-02T03:04:05Z'))).toBe('2024-01-02T03:04:05.000Z')
    expect(jsonSafe(new Date('nope'))).toBeNull()
    expect(jsonSafe(Buffer.from([1, 2, 255]))).toBe('AQL/')
    expect(jsonSafe(new Uint8Array([1, 2]).buffer)).toBe('AQI=')
    expect(jsonSafe(Number.NaN)).toBe('NaN')
    expect(jsonSafe({ a: [1n, new Date(0)] })).toEqual({ a: [1, '1970-01-01T00:00:00.000Z'] })
    expect(JSON.parse(JSON.stringify(rowObjects(['a'], [[undefined]])))).toEqual([{ a: null }])
  })

  it('binds objects as JSON text and nothing as NULL, never as "undefined"', () => {
    expect(toBound(undefined)).toBeNull()
    expect(toBound({ a: 1 })).toBe('{"a":1}')
    expect(toBound([1, 'x'])).toBe('[1,"x"]')
    expect(toBound("'; DROP TABLE x; --")).toBe("'; DROP TABLE x; --")
    expect(toBound(true)).toBe(true)
  })

  it('renames a repeated column so no value is overwritten', () => {
    expect(uniqueColumns(['id', 'id', 'name', 'id', 'id_2'])).toEqual(['id', 'id_2', 'name', 'id_3', 'id_2_2'])
    expect(rowObjects(['id', 'id_2'], [[1, 2]])).toEqual([{ id: 1, id_2: 2 }])
  })

  it('finds a second statement outside quotes and comments', () => {
    expect(secondStatementAt('select 1')).toBeUndefined()
    expect(secondStatementAt('select 1;  -- done\n ; ')).toBeUndefined()
    expect(secondStatementAt('select \';drop table t\' as a, "x;y", [a;b] /* ; */')).toBeUndefined()
    expect(secondStatementAt("select 'it''s'; drop table t")).toBe(16)
    expect(secondStatementAt('select 1; select 2')).toBe(10)
    expect(secondStatementAt("select 1;'x'")).toBe(9)
  })
})
