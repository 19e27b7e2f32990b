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
  '"select * from t where a = {{ inputs.a }}"',
  '[1, "{{ inputs.a }}", null, [2]]',
  '0.5',
  '*a',
  '{ type: 12 }',
  '{ $ref: "#/nope" }',
  '{ pattern: "(" }',
  '[{ role: user }]',
  'live',
  'draft',
  '{ slug: other, wait: false }',
  '{ fields: { reply: { type: textarea, value: "{{ steps.nope.output }}" } } }',
  '{ fields: {} }',
  'textarea',
  '[runs, flows]',
  '[everything]',
  '{ query: "deploy AND (" }',
  '101',
]
const KEYS = [
  'slug',
  'steps',
  'id',
  'http',
  'ssh',
  'db',
  'sql',
  'params',
  'read_only',
  'max_rows',
  'as_resource',
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
  'llm',
  'prompt',
  'messages',
  'role',
  'json_schema',
  'max_tokens',
  'temperature',
  'flow',
  'version',
  'search',
  'query',
  'in',
  'limit',
  'edit',
  'fields',
  'value',
  'label',
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

interface Nested {
  text: string
  /** Collections the text nests, counting the root map. */
  depth: number
  /** Where the collection at level 101 opens (1-based), if there is one. */
  limitAt?: { line: number; column: number }
}

const DECOY = ['"[[{{ - ? "', "'[{ - '", '"\\"[["']

/** Random nesting: indented keys, then compact `- `/`? ` on one line, then brackets; decoys in comments and strings. */
function randomNesting(random: Random): Nested {
  const budget = 950_000
  const scale = (max: number) => pick(random, [0, int(random, 8), int(random, 40), int(random, 120), int(random, max)])
  const keys = Math.min(scale(1_300), Math.floor(Math.sqrt(budget)))
  // Half of what the indented keys leave to each part: an indicator takes 2 characters, a bracket up to 5 with its closer.
  const half = (budget - (keys * (keys + 8)) / 2) / 2
  const compact = Math.min(scale(400_000), Math.floor(half / 2))
  const brackets = Math.min(scale(400_000), Math.floor(half / 5))
  const lines = ['slug: fz', 'steps:']
  let level = 1
  let limitAt: Nested['limitAt']
  const opened = (line: number, column: number) => {
    level++
    if (level === 101) limitAt = { line, column }
  }
  for (let i = 0; i < keys; i++) {
    if (random() < 0.05) lines.push(`${' '.repeat(i + 1)}# - - [[{ ${pick(random, DECOY)}`)
    // A decoy key comes first in its level's map, so the level opens at the decoy.
    const decoy = random() < 0.05
    if (decoy) lines.push(`${' '.repeat(i + 1)}d${i}: ${pick(random, DECOY)}`)
    lines.push(`${' '.repeat(i + 1)}k${i}:`)
    opened(decoy ? lines.length - 1 : lines.length, i + 2)
  }
  let line = ' '.repeat(keys + 1)
  for (let i = 0; i < compact; i++) {
    opened(lines.length + 1, line.length + 1)
    line += random() < 0.8 ? '- ' : '? '
  }
  const closers: string[] = []
  for (let i = 0; i < brackets; i++) {
    opened(lines.length + 1, line.length + 1)
    const opener = pick(random, ['[', '{', '{a: ', '[x, '])
    line += opener
    closers.push(opener.startsWith('[') ? ']' : '}')
  }
  line += pick(random, ['x', ...DECOY])
  line += closers
    .slice(closers.length - int(random, closers.length + 1))
    .reverse()
    .join('')
  if (random() < 0.3) line += ` # ${pick(random, DECOY)} [[[`
  lines.push(line)
  return { text: `${lines.join('\n')}\n`, depth: level, ...(limitAt ? { limitAt } : {}) }
}

describe('validateFlowSource on random deep nesting', () => {
  const runs = fuzzRuns(200)

  it(
    'refuses more than 100 levels where level 101 opens, before parsing, and nothing shallower',
    () => {
      let refused = 0
      for (let run = 0; run < runs; run++) {
        const seed = BASE_SEED + run * 104_729
        const { text, depth, limitAt } = randomNesting(prng(seed))
        const context = `seed=${seed} (reproduce: FUZZ_SEED=${seed} FUZZ_RUNS=1) depth=${depth} chars=${text.length}`
        const result = validateFlowSource(text, 'fuzz.yaml')
        const list = result.ok ? result.warnings : result.problems
        for (const problem of list) {
          expect(badProblem(problem, text.split('\n').length), `${context}: ${JSON.stringify(problem)}`).toBeUndefined()
        }
        const deep = list.filter((problem) => problem.code === 'nesting_too_deep')
        if (depth <= 100) {
          expect(deep, context).toEqual([])
          continue
        }
        refused++
        expect(result.ok, context).toBe(false)
        expect(
          deep.map(({ line, column }) => ({ line, column })),
          context,
        ).toEqual([limitAt])
      }
      // Sanity: both sides of the limit are exercised.
      if (runs >= 50) expect(refused).toBeGreaterThan(runs * 0.2)
      if (runs >= 50) expect(refused).toBeLessThan(runs * 0.9)
    },
    10_000 + runs * 20,
  )
})
