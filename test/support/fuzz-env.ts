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

/** Numbers that tend to break validators: zero, negatives, huge, tiny, fractional, past 2^53. */
const EDGE_NUMBERS = [0, -1, 22, 42, 65536, 3.5, 1e308, -1e-308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER]

export interface RandomJsonOptions {
  /** Values picked as they are (strings a parser gives meaning to, or non-JSON values such as undefined). */
  chosen: readonly unknown[]
  /** Object keys to pick from (add '__proto__' and 'constructor': they become own properties). */
  keys: readonly string[]
  /** Nesting below this depth holds scalars only (default 3). */
  maxDepth?: number
  /** Longest random string (default 40). */
  maxString?: number
}

/** A random JSON-like value: null, booleans, edge numbers, random or chosen strings, arrays, objects of chosen keys. */
export function randomJson(rnd: Random, options: RandomJsonOptions, depth = 0): unknown {
  switch (rnd.int(depth >= (options.maxDepth ?? 3) ? 5 : 7)) {
    case 0:
      return null
    case 1:
      return rnd.chance(0.5)
    case 2:
      return rnd.pick(EDGE_NUMBERS)
    case 3:
      return rnd.string(rnd.int(options.maxString ?? 40))
    case 4:
      return rnd.pick(options.chosen)
    case 5:
      return Array.from({ length: rnd.int(5) }, () => randomJson(rnd, options, depth + 1))
    default:
      return Object.fromEntries(
        Array.from({ length: rnd.int(6) }, () => [rnd.pick(options.keys), randomJson(rnd, options, depth + 1)]),
      )
  }
}
