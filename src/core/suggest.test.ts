import { describe, expect, it } from 'vitest'
import { closest, editDistance } from './suggest.ts'

describe('suggest', () => {
  it('measures edit distance', () => {
    expect(editDistance('agent_fx', 'agent_fix')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('suggests the closest name only when it is close', () => {
    expect(closest('agent_fx', ['weekly_report', 'agent_fix'])).toBe('agent_fix')
    expect(closest('flws', ['flows', 'runs'])).toBe('flows')
    expect(closest('zzzzzz', ['flows', 'runs'])).toBeUndefined()
  })
})
