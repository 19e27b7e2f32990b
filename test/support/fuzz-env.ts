// Settings of the randomized tests, from the environment: FUZZ_SEED replays a failure, FUZZ_RUNS scales the count.

export function fuzzSeed(fallback: number): number {
  const raw = process.env.FUZZ_SEED
  return raw === undefined || raw === '' ? fallback : Number(raw)
}

export function fuzzRuns(fallback: number): number {
  const raw = process.env.FUZZ_RUNS
  return raw === undefined || raw === '' ? fallback : Number(raw)
}

/** Characters that tend to break parsers: URL and JSON syntax, quotes, backslashes, multi-byte text, controls, NUL. */
export const NASTY_CHARS = 'abcXYZ019-_.~ /%?#&=+:;,"\'\\{}[]<>é漢🚀\n\t\u0000'

/** A seeded random source (mulberry32): the same seed gives the same sequence, so FUZZ_SEED replays a failure. */
export function createRandom(seed: number) {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (max: number): number => Math.floor(next() * max)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const string = (n: number, alphabet = NASTY_CHARS): string => {
    const chars = [...alphabet]
    let out = ''
    for (let i = 0; i < n; i++) out += pick(chars)
    return out
  }
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)))
  return { next, int, pick, string, bytes, chance: (p: number) => next() < p }
}

export type Random = ReturnType<typeof createRandom>
