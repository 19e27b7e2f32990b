// Where JSON text breaks: the search (used when V8's message names no position) must agree with V8 where it does.
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed } from '../../test/support/fuzz-env.ts'
import { jsonErrorAt } from './json-error-at.ts'

const SEED = fuzzSeed(Date.now() % 1_000_000)

function parseError(text: string): string {
  try {
    JSON.parse(text)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error(`${JSON.stringify(text)} parses`)
}

describe('jsonErrorAt', () => {
  it('names the offset, line and column of the first character that cannot be there', () => {
    const at = (text: string) => jsonErrorAt(text, parseError(text))
    expect(at('diff: yes')).toEqual({ position: 0, line: 1, column: 1 })
    expect(at('{"diff": "a",\n "summary": x}')).toEqual({ position: 26, line: 2, column: 13 })
    expect(at('{"a": [1, ]}')).toEqual({ position: 10, line: 1, column: 11 })
    expect(at('{"a": 1}}')).toEqual({ position: 8, line: 1, column: 9 })
    expect(at('{"a": ')).toEqual({ position: 6, line: 1, column: 7 })
    expect(at('')).toEqual({ position: 0, line: 1, column: 1 })
  })

  it(`finds the offset V8 states, on random broken JSON, without being told (FUZZ_SEED=${SEED})`, () => {
    const random = createRandom(SEED)
    const pieces = ['{', '}', '[', ']', '"a"', '"', ':', ',', '1', '-', 'e', '.', 'true', 'nul', ' ', '\n', 'x', '\\']
    let compared = 0
    for (let i = 0; i < fuzzRuns(1000); i++) {
      const text = Array.from({ length: 1 + random.int(12) }, () => random.pick(pieces)).join('')
      let message: string
      try {
        JSON.parse(text)
        continue
      } catch (error) {
        message = (error as Error).message
      }
      const label = `FUZZ_SEED=${SEED} #${i}: ${JSON.stringify(text)} (${message})`
      const stated = /at position (\d+)/.exec(message)
      const found = jsonErrorAt(text, 'Unexpected token')
      expect(found, label).toBeDefined()
      if (stated) {
        compared++
        expect(found?.position, label).toBe(Number(stated[1]))
      }
      if (message.startsWith('Unexpected end')) expect(found?.position, label).toBe(text.length)
    }
    expect(compared).toBeGreaterThan(0)
  })
})
