// The nesting scan that runs before JSON.parse: it must agree with the real depth of any JSON text, whatever the
// strings inside hold, and never throw on text that is not JSON.
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../../test/support/fuzz-env.ts'
import { jsonDepthOver } from './json-depth.ts'

const SEED = fuzzSeed(Date.now() % 1_000_000)
const random = createRandom(SEED)

/** A random JSON value and its nesting depth (a scalar is 0, `[]` is 1). */
function randomValue(budget: number): { value: unknown; depth: number } {
  if (budget === 0 || random.chance(0.3)) {
    // Strings full of brackets, quotes and backslashes: the scan must not count what is inside them.
    return { value: random.pick([random.string(random.int(8), `${NASTY_CHARS}[]{}"\\`), 1.5, null, true]), depth: 0 }
  }
  const children = Array.from({ length: 1 + random.int(3) }, () => randomValue(budget - 1))
  const depth = 1 + Math.max(...children.map((child) => child.depth))
  if (random.chance(0.5)) return { value: children.map((child) => child.value), depth }
  return { value: Object.fromEntries(children.map((child, i) => [`k${i}[{"\\`, child.value])), depth }
}

describe(`jsonDepthOver (FUZZ_SEED=${SEED})`, () => {
  it('agrees with the depth of random JSON, compact or indented', () => {
    for (let i = 0; i < fuzzRuns(500); i++) {
      const { value, depth } = randomValue(1 + random.int(12))
      const text = JSON.stringify(value, null, random.chance(0.5) ? 2 : undefined)
      const label = `FUZZ_SEED=${SEED} #${i}: ${text.slice(0, 120)}`
      expect(jsonDepthOver(text, depth), label).toBe(false)
      if (depth > 0) expect(jsonDepthOver(text, depth - 1), label).toBe(true)
    }
  })

  it('never throws on random or truncated text', () => {
    for (let i = 0; i < fuzzRuns(500); i++) {
      const text = random.chance(0.5)
        ? random.string(random.int(64), `${NASTY_CHARS}[]{}"\\`)
        : JSON.stringify(randomValue(8).value).slice(0, random.int(40))
      expect(typeof jsonDepthOver(text, random.int(4)), text).toBe('boolean')
    }
  })
})
