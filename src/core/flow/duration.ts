// Parses the human duration strings flows use (`500ms`, `30s`, `1h30m`, `1d`) into milliseconds.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** Units in the only order a duration may list them, largest first, so `30m1h` is refused as a likely typo. */
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms']

/** Shape of a duration, also published in the JSON Schema so editors flag `5 min` before validation does. */
export const DURATION_PATTERN = '^(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+$'

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y

/** Longest duration a flow may ask for; beyond a year a timer is a mistake, and it keeps every sum a safe integer. */
export const MAX_DURATION_MS = 366 * UNIT_MS.d

/**
 * Milliseconds in `text`, or undefined when it is not a duration: empty, unknown unit, units out of order or
 * repeated (`1h2h`), or longer than MAX_DURATION_MS. Fractions are allowed (`1.5h`) and rounded to whole ms.
 */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined
  let total = 0
  let lastUnit = -1
  PART.lastIndex = 0
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text) // sticky: matches only where the previous part ended
    if (!match) return undefined
    const unit = match[2] as Unit
    const rank = UNIT_ORDER.indexOf(unit)
    if (rank <= lastUnit) return undefined
    lastUnit = rank
    total += Number(match[1]) * UNIT_MS[unit]
  }
  const ms = Math.round(total)
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : undefined
}

/** Renders milliseconds back into the shortest duration string, e.g. 5_400_000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s'
  let rest = Math.round(ms)
  let out = ''
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit]
    const count = Math.floor(rest / size)
    if (count > 0) {
      out += `${count}${unit}`
      rest -= count * size
    }
  }
  return out
}
