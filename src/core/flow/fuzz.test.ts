import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fuzzRuns, fuzzSeed } from '../../../test/support/fuzz-env.ts'
import { type FlowProblem, validateFlowSource } from './validate.ts'

/**
 * Mutates the example flows at random and checks that validation never throws and always locates its problems.
 * A failure prints its seed; FUZZ_SEED=<seed> FUZZ_RUNS=1 replays exactly that case. Raise FUZZ_RUNS to search wider.
 */
const BASE_SEED = fuzzSeed(20_240_611)
const RUNS_PER_FILE = fuzzRuns(220)
const examplesDir = join(import.meta.dirname, '../../../examples/flows')

/** mulberry32: tiny, fast and good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

type Random = () => number
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
const int = (random: Random, max: number) => Math.floor(random() * max)

const TOKENS = [
  '{{',
  '}}',
  '{{ ',
  ':',
  ': ',
  '- ',
  '\t',
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  '#',
  '&a ',
  '*a',
  '!!binary ',
  '|',
  '>',
  '---\n',
  '? ',
  '\\',
  '`',
  '$',
  '%',
]
const VALUES = [
  '0',
  '-1',
  '1e999',
  '99999999999999999999',
  '3.5',
  'null',
  '~',
  'true',
  'no',
  '""',
  '[]',
  '{}',
  '[a, b]',
  '{ a: 1 }',
  '"{{ x"',
  '"{{ env.X }}"',
  '"{{ steps.nope.output }}"',
  '5 min',
  '0s',
  'Europe/Olso',
  'GET',
  '*a',
]
const KEYS = [
  'slug',
  'steps',
  'id',
  'http',
  'ssh',
  'wait',
  'approval',
  'notify',
  'timeout',
  'retry',
  'on_error',
  'goto',
  'required',
  'inputs',
  'env',
  'if',
  'transform',
  'expr',
  '<<',
  '__proto__',
  'constructor',
]

function randomUnicode(random: Random): string {
  const ranges: [number, number][] = [
    [0, 0x1f],
    [0x7f, 0x9f],
    [0xa0, 0x2fff],
    [0xd800, 0xdfff],
    [0xfff0, 0xffff],
  ]
  const [low, high] = pick(random, ranges)
  const text = String.fromCharCode(low + int(random, high - low + 1))
  return random() < 0.2 ? String.fromCodePoint(0x1f600 + int(random, 80)) : text
}

type Mutation = (lines: string[], random: Random) => string[]

const mutations: Record<string, Mutation> = {
  deleteLine: (lines, random) => lines.filter((_, index) => index !== int(random, lines.length)),
  duplicateLine: (lines, random) => {
    const index = int(random, lines.length)
    return [...lines.slice(0, index + 1), lines[index] ?? '', ...lines.slice(index + 1)]
  },
  indent: (lines, random) => {
    const index = int(random, lines.length)
    const line = lines[index] ?? ''
    const changed = random() < 0.5 ? ' '.repeat(1 + int(random, 4)) + line : line.replace(/^ {1,3}/, '')
    return lines.map((item, i) => (i === index ? changed : item))
  },
  swapChars: (lines, random) => {
    const text = lines.join('\n')
    const at = int(random, Math.max(1, text.length - 1))
    return (text.slice(0, at) + (text[at + 1] ?? '') + (text[at] ?? '') + text.slice(at + 2)).split('\n')
  },
  insertToken: (lines, random) =>
    insertAt(lines, random, random() < 0.7 ? pick(random, TOKENS) : randomUnicode(random)),
  truncate: (lines, random) =>
    lines
      .join('\n')
      .slice(0, int(random, lines.join('\n').length))
      .split('\n'),
  replaceValue: (lines, random) => {
    const candidates = lines.map((line, index) => [line, index] as const).filter(([line]) => /:\s*\S/.test(line))
    if (candidates.length === 0) return lines
    const [line, index] = pick(random, candidates)
    const changed = line.replace(/:(\s*)\S.*$/, `:$1${pick(random, VALUES)}`)
    return lines.map((item, i) => (i === index ? changed : item))
  },
  renameKey: (lines, random) => {
    const candidates = lines.map((line, index) => [line, index] as const).filter(([line]) => /^\s*-?\s*\w+:/.test(line))
    if (candidates.length === 0) return lines
    const [line, index] = pick(random, candidates)
    const key = random() < 0.5 ? pick(random, KEYS) : (/(\w+):/.exec(line)?.[1] ?? 'x').slice(1)
    const changed = line.replace(/\w+:/, `${key}:`)
    return lines.map((item, i) => (i === index ? changed : item))
  },
}

function insertAt(lines: string[], random: Random, token: string): string[] {
  const text = lines.join('\n')
  const at = int(random, text.length + 1)
  return (text.slice(0, at) + token + text.slice(at)).split('\n')
}

function mutate(source: string, random: Random): { text: string; applied: string[] } {
  let lines = source.split('\n')
  const applied: string[] = []
  const count = 1 + int(random, 4)
  for (let i = 0; i < count; i++) {
    const name = pick(random, Object.keys(mutations))
    applied.push(name)
    lines = (mutations[name] as Mutation)(lines, random)
  }
  return { text: lines.join('\n'), applied }
}

function badProblem(problem: FlowProblem, lineCount: number): string | undefined {
  if (!Number.isInteger(problem.line) || problem.line < 1 || problem.line > lineCount + 1) return 'line out of range'
  if (!Number.isInteger(problem.column) || problem.column < 1) return 'column out of range'
  if (problem.message.trim() === '') return 'empty message'
  if (problem.fix.trim() === '') return 'empty fix'
  if (problem.code.trim() === '') return 'empty code'
  if (problem.file !== 'fuzz.yaml') return 'wrong file'
  return undefined
}

describe('validateFlowSource under random mutations', () => {
  const files = readdirSync(examplesDir).filter((name) => name.endsWith('.yaml'))

  it.each(files)(
    'never throws on mutated %s and locates every problem',
    (name) => {
      const source = readFileSync(join(examplesDir, name), 'utf8')
      let invalid = 0
      for (let run = 0; run < RUNS_PER_FILE; run++) {
        const seed = BASE_SEED + run * 7919
        const { text, applied } = mutate(source, prng(seed))
        const context = `${name} seed=${seed} (reproduce: FUZZ_SEED=${seed} FUZZ_RUNS=1) mutations=${applied.join(',')}`
        let result: ReturnType<typeof validateFlowSource>
        try {
          result = validateFlowSource(text, 'fuzz.yaml')
        } catch (error) {
          throw new Error(`validateFlowSource threw for ${context}: ${String(error)}\n---\n${text}`)
        }
        const list = result.ok ? result.warnings : result.problems
        if (!result.ok) {
          invalid++
          expect(result.problems.length, context).toBeGreaterThan(0)
          expect(
            result.problems.some((problem) => problem.code === 'internal_error'),
            context,
          ).toBe(false)
        }
        for (const problem of list) {
          expect(badProblem(problem, text.split('\n').length), `${context}: ${JSON.stringify(problem)}`).toBeUndefined()
        }
      }
      // Sanity: the mutations must actually break flows most of the time, or this test proves little.
      if (RUNS_PER_FILE >= 50) expect(invalid).toBeGreaterThan(RUNS_PER_FILE * 0.3)
    },
    30_000 + RUNS_PER_FILE * 50,
  )
})
