import { describe, expect, it } from 'vitest'
import { createRedactor } from './redact.ts'

describe('redactor', () => {
  it('masks every occurrence, the JSON-escaped spelling, and the longest secret first', () => {
    const r = createRedactor()
    r.add('abc"def')
    r.add('token-1234')
    r.add('token-1234-long')
    expect(r.text('a token-1234-long and token-1234')).toBe('a *** and ***')
    expect(r.text(JSON.stringify({ v: 'x abc"def y' }))).toBe('{"v":"x *** y"}')
    expect(r.value({ list: ['token-1234', 1, null], 'token-1234': true })).toEqual({
      list: ['***', 1, null],
      '***': true,
    })
  })

  it('ignores values too short to mask and returns untouched values as they are', () => {
    const r = createRedactor()
    r.add('42')
    r.add('')
    expect(r.size()).toBe(0)
    r.add('secret-value')
    const value = { a: ['x', { b: 'y' }], n: 1 }
    expect(r.value(value)).toBe(value)
    expect(r.text('42 is fine')).toBe('42 is fine')
  })
})
