import { describe, expect, it } from 'vitest'
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.ts'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1.5h', 5_400_000],
    ['0s', 0],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    '',
    '5',
    'm',
    '5 min',
    '5min',
    ' 5m',
    '5m ',
    '-5m',
    '30m1h',
    '1h1h',
    '1.2.3s',
    '5M',
    '1e3s',
    '367d',
    '9'.repeat(400),
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it('accepts the longest allowed duration and nothing longer', () => {
    expect(parseDuration('366d')).toBe(MAX_DURATION_MS)
    expect(parseDuration('366d1ms')).toBeUndefined()
  })

  it('refuses values that are not strings at run time', () => {
    expect(parseDuration(42 as unknown as string)).toBeUndefined()
  })
})

describe('formatDuration', () => {
  it('renders the shortest form and round-trips', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m')
    expect(formatDuration(93_784_005)).toBe('1d2h3m4s5ms')
    expect(formatDuration(0)).toBe('0s')
    for (const text of ['500ms', '45s', '2h', '1h30m', '3d12h']) {
      expect(formatDuration(parseDuration(text) as number)).toBe(text)
    }
  })
})
