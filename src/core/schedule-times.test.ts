import { describe, expect, it } from 'vitest'
import { decideTick, latestTick, nextTick, nextTicks, ON_TIME_GRACE_MS, scheduleId } from './schedule-times.ts'

const at = (text: string) => Date.parse(text)
const iso = (ms: number) => new Date(ms).toISOString()
const oslo = (cron: string, catch_up: 'none' | 'latest' = 'none') => ({ cron, timezone: 'Europe/Oslo', catch_up })

describe('next ticks in a time zone', () => {
  it('keeps 07:00 local across the spring-forward change (Europe/Oslo, 2026-03-29)', () => {
    const ticks = nextTicks(oslo('0 7 * * *'), at('2026-03-27T12:00:00Z'), 4).map(iso)
    expect(ticks).toEqual([
      '2026-03-28T06:00:00.000Z', // 07:00 CET (UTC+1)
      '2026-03-29T05:00:00.000Z', // 07:00 CEST (UTC+2), the day of the change
      '2026-03-30T05:00:00.000Z',
      '2026-03-31T05:00:00.000Z',
    ])
  })

  it('keeps 07:00 local across the fall-back change (Europe/Oslo, 2026-10-25)', () => {
    const ticks = nextTicks(oslo('0 7 * * *'), at('2026-10-23T12:00:00Z'), 3).map(iso)
    expect(ticks).toEqual(['2026-10-24T05:00:00.000Z', '2026-10-25T06:00:00.000Z', '2026-10-26T06:00:00.000Z'])
  })

  it('runs a time skipped by spring-forward once, at the end of the gap (03:00 CEST)', () => {
    const ticks = nextTicks(oslo('30 2 * * *'), at('2026-03-28T12:00:00Z'), 2).map(iso)
    expect(ticks).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'])
  })

  it('runs a time repeated by fall-back once, at its first occurrence', () => {
    const ticks = nextTicks(oslo('30 2 * * *'), at('2026-10-24T12:00:00Z'), 2).map(iso)
    expect(ticks).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'])
  })

  it('fires hourly schedules every elapsed hour through both changes', () => {
    expect(nextTicks(oslo('0 * * * *'), at('2026-10-24T23:30:00Z'), 4).map(iso)).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ])
    expect(nextTicks(oslo('0 * * * *'), at('2026-03-28T23:30:00Z'), 3).map(iso)).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST: 02:00 does not exist
      '2026-03-29T02:00:00.000Z',
    ])
  })

  it('is strictly after, and latestTick is at or before', () => {
    const s = oslo('0 7 * * *')
    expect(iso(nextTick(s, at('2026-03-29T05:00:00Z')) ?? 0)).toBe('2026-03-30T05:00:00.000Z')
    expect(iso(latestTick(s, at('2026-03-29T05:00:00Z')) ?? 0)).toBe('2026-03-29T05:00:00.000Z')
    expect(iso(latestTick(s, at('2026-03-29T04:59:59Z')) ?? 0)).toBe('2026-03-28T06:00:00.000Z')
    expect(iso(nextTick({ cron: '* * * * * *', timezone: 'UTC' }, at('2026-01-01T00:00:00.400Z')) ?? 0)).toBe(
      '2026-01-01T00:00:01.000Z',
    )
  })

  it('names a schedule by position, cron and zone', () => {
    expect(scheduleId(oslo('0 7 * * 1-5'), 0)).toBe('0:0 7 * * 1-5@Europe/Oslo')
    expect(scheduleId(oslo('0 7 * * 1-5'), 1)).not.toBe(scheduleId(oslo('0 7 * * 1-5'), 0))
  })
})

describe('which tick fires', () => {
  const due = at('2026-03-30T05:00:00Z') // Monday 07:00 Oslo

  it('fires the due tick when the timer is on time or slightly late', () => {
    expect(decideTick(oslo('0 7 * * *'), due, due + 150)).toEqual({ fire: true, tickAt: due, late: false, missed: 0 })
    expect(decideTick(oslo('0 7 * * *'), due, due + ON_TIME_GRACE_MS)).toMatchObject({ fire: true, tickAt: due })
  })

  it('after downtime, catch_up none fires nothing and counts every missed tick', () => {
    const now = at('2026-04-02T09:00:00Z') // four ticks missed: Mon..Thu 07:00
    expect(decideTick(oslo('0 7 * * *', 'none'), due, now)).toEqual({
      fire: false,
      tickAt: at('2026-04-02T05:00:00Z'),
      missed: 4,
    })
  })

  it('after downtime, catch_up latest fires only the most recent missed tick, once', () => {
    const now = at('2026-04-02T09:00:00Z')
    expect(decideTick(oslo('0 7 * * *', 'latest'), due, now)).toEqual({
      fire: true,
      tickAt: at('2026-04-02T05:00:00Z'),
      late: true,
      missed: 3,
    })
  })

  it('a slow poll on a seconds schedule fires the latest tick, not a burst', () => {
    const s = { cron: '* * * * * *', timezone: 'UTC', catch_up: 'none' as const }
    const start = at('2026-01-01T00:00:00Z')
    expect(decideTick(s, start, start + 3_500)).toEqual({ fire: true, tickAt: start + 3_000, late: false, missed: 3 })
  })
})
