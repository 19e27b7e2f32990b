// GREENLIGHT_RETENTION: how long ended runs are kept, written as a whole number and a unit (90d, 12h, 30m, 45s, 2w),
// or `off` (and `0`) to keep everything.

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
}

/** The longest retention accepted: 100 years, so a cutoff stays a safe integer. */
const MAX_MS = 100 * 365 * 86_400_000

export const DEFAULT_RETENTION = '90d'

/** Milliseconds, `null` for off, or undefined when the text is not a retention period. */
export function parseRetention(text: string): number | null | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'off' || value === '0') return null
  const match = /^(\d{1,6})([smhdw])$/.exec(value)
  if (!match) return undefined
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number)
  return ms > 0 && ms <= MAX_MS ? ms : undefined
}

/** 7776000000 → "90d": the largest unit (up to days) that divides it. */
export function formatRetention(ms: number | null): string {
  if (ms === null) return 'off'
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
