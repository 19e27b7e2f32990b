import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../../test/support/fuzz-env.ts'
import { type ChainedEvent, canonicalJson, eventHash, verifyChain } from './hash-chain.ts'

/** The canonical form as first written (entries, filter, sort, map): stored chains were hashed with it. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`
}

/** JSON-like values plus what JSON has no place for (undefined, NaN, a huge exponent), under keys of every kind. */
const VALUES = {
  chosen: [undefined, Number.NaN, 1e21, '', 'é漢🚀', '\u0000'],
  keys: ['a', 'Z', '_', '10', '', 'é', '漢', '__proto__', 'constructor', 'b a', '"'],
  maxDepth: 4,
  maxString: 6,
}

function chain(n: number) {
  const events: (ChainedEvent & { prevHash: string; hash: string })[] = []
  let prev = ''
  for (let seq = 1; seq <= n; seq++) {
    const e = { runId: 'run_1', seq, type: 't', at: seq, actor: null, stepId: null, data: { seq } }
    const hash = eventHash(prev, e)
    events.push({ ...e, prevHash: prev, hash })
    prev = hash
  }
  return { events, head: { count: n, lastHash: prev } }
}

describe('hash chain', () => {
  it('is canonical regardless of key order', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: null }] })).toBe('{"a":[2,{"c":null,"d":1}],"b":1}')
  })

  it('writes exactly what the first canonical form wrote, for random values', () => {
    const random = createRandom(fuzzSeed(20261122))
    for (let i = 0; i < fuzzRuns(2000); i++) {
      const value = randomJson(random, VALUES)
      expect(canonicalJson(value), JSON.stringify(value)).toBe(reference(value))
    }
    // biome-ignore lint/suspicious/noSparseArray: a hole must keep its old form
    const sparse = [1, , 3]
    expect(canonicalJson(sparse)).toBe(reference(sparse))
  })

  it('verifies an intact chain', () => {
    const { events, head } = chain(5)
    expect(verifyChain(events, head)).toEqual([])
  })

  it('finds a changed event', () => {
    const { events, head } = chain(5)
    const e = events[2]
    if (e) e.data = { seq: 99 }
    expect(verifyChain(events, head).map((p) => [p.seq, p.problem])).toEqual([[3, 'hash_mismatch']])
  })

  it('finds a deleted event in the middle and at the end', () => {
    const { events, head } = chain(5)
    const middle = events.filter((e) => e.seq !== 3)
    expect(verifyChain(middle, head).map((p) => p.problem)).toEqual([
      'missing_event',
      'link_mismatch',
      'count_mismatch',
    ])
    const tail = events.slice(0, 4)
    expect(verifyChain(tail, head).map((p) => p.problem)).toEqual(['count_mismatch', 'head_mismatch'])
  })
})
