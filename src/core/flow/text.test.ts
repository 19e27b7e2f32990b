// The one text rule: what it gives for each kind of value, and that a text template and a typed field agree on it.
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../../../test/support/fuzz-env.ts'
import { compileTemplate } from './expressions.ts'
import { toOptionalText, toText } from './text.ts'

const SEED = fuzzSeed(Date.now() % 1_000_000)

describe('toText', () => {
  it('gives strings as is, numbers and booleans as String, objects and arrays as JSON, nothing as empty', () => {
    expect(toText('a b')).toBe('a b')
    expect(toText('')).toBe('')
    expect(toText(42)).toBe('42')
    expect(toText(-0.5)).toBe('-0.5')
    expect(toText(true)).toBe('true')
    expect(toText(10n)).toBe('10')
    expect(toText({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}')
    expect(toText([])).toBe('[]')
    expect(toText(undefined)).toBe('')
    expect(toText(null)).toBe('')
    expect(toText(() => 1)).toBe('')
    expect(toOptionalText(undefined)).toBeUndefined()
    expect(toOptionalText(null)).toBeUndefined()
    expect(toOptionalText('')).toBe('')
    expect(toOptionalText(0)).toBe('0')
  })

  it(`agrees with text templates on random values, and keeps JSON readable back (FUZZ_SEED=${SEED})`, async () => {
    const random = createRandom(SEED)
    for (let i = 0; i < fuzzRuns(200); i++) {
      const value = randomJson(random, { chosen: [undefined, '', 'undefined', '{{ x }}'], keys: ['a', 'b', 'é'] })
      const label = `FUZZ_SEED=${SEED} #${i}: ${JSON.stringify(value)?.slice(0, 120)}`
      const text = toText(value)
      expect(typeof text, label).toBe('string')
      if (value !== null && typeof value === 'object') expect(text, label).toBe(JSON.stringify(value))
      if (value === undefined || value === null) expect(toOptionalText(value), label).toBeUndefined()
      else expect(toOptionalText(value), label).toBe(text)
      // Interpolated inside text, the value reads exactly as a typed field turns it into text.
      const scope = { x: value }
      expect(await compileTemplate('<{{ x }}>').evaluate(scope), label).toBe(`<${text}>`)
      expect(toText(await compileTemplate('{{ x }}').evaluate(scope)), label).toBe(text)
    }
  })
})
