import { describe, expect, it } from 'vitest'
import { formatRetention, parseRetention } from './retention-period.ts'

describe('GREENLIGHT_RETENTION', () => {
  it('reads a whole number and a unit, or off', () => {
    expect(parseRetention('90d')).toBe(90 * 86_400_000)
    expect(parseRetention(' 12H ')).toBe(12 * 3_600_000)
    expect(parseRetention('2w')).toBe(14 * 86_400_000)
    expect(parseRetention('45s')).toBe(45_000)
    expect(parseRetention('off')).toBeNull()
    expect(parseRetention('0')).toBeNull()
    for (const bad of ['', '90', 'd', '1.5d', '-1d', '0d', '90 days', '99999999d', '1y']) {
      expect(parseRetention(bad), bad).toBeUndefined()
    }
  })

  it('prints the largest unit that divides it', () => {
    expect(formatRetention(90 * 86_400_000)).toBe('90d')
    expect(formatRetention(36 * 3_600_000)).toBe('36h')
    expect(formatRetention(90_000)).toBe('90s')
    expect(formatRetention(null)).toBe('off')
  })
})
