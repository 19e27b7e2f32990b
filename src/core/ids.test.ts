import { describe, expect, it } from 'vitest'
import { createIdGenerator, isSlug, ulid } from './ids.ts'

describe('ids', () => {
  it('makes time-ordered ULIDs', () => {
    const a = ulid(1_700_000_000_000)
    const b = ulid(1_700_000_000_001)
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(a < b).toBe(true)
  })

  it('prefixes ids', () => {
    expect(createIdGenerator(() => 0).next('run')).toMatch(/^run_0{10}[0-9A-Z]{16}$/)
  })

  it('validates slugs', () => {
    expect(isSlug('agent_fix')).toBe(true)
    expect(isSlug('Agent')).toBe(false)
    expect(isSlug('1abc')).toBe(false)
  })
})
