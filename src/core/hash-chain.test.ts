import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../../test/support/fuzz-env.ts'
import {
  canonicalJson,
  deriveChainKey,
  eventHash,
  plainEventHash,
  type StoredEvent,
  schemeOf,
  verifyChain,
} from './hash-chain.ts'

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

const secretKey = randomBytes(32)
const key = deriveChainKey(secretKey)

/** A chain of n events; the first `plain` of them hashed the way Greenlight did before it keyed chains. */
function chain(n: number, plain = 0) {
  const events: StoredEvent[] = []
  let prev = ''
  for (let seq = 1; seq <= n; seq++) {
    const e = { runId: 'run_1', seq, type: 't', at: seq, actor: null, stepId: null, data: { seq } }
    const hash = seq <= plain ? plainEventHash(prev, e) : eventHash(key, prev, e)
    events.push({ ...e, prevHash: prev, hash })
    prev = hash
  }
  return { events, head: { count: n, lastHash: prev } }
}

/** Recomputes every hash from `from` on with plain SHA-256: all that someone without the key can do. */
function rehashPlain(events: StoredEvent[], from = 1) {
  let prev = events[from - 2]?.hash ?? ''
  for (const e of events.slice(from - 1)) {
    e.prevHash = prev
    e.hash = plainEventHash(prev, e)
    prev = e.hash
  }
  return { count: events.length, lastHash: prev }
}

const problemsOf = (report: ReturnType<typeof verifyChain>) => report.problems.map((p) => [p.seq, p.problem])

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
    expect(verifyChain(key, events, head)).toEqual({ scheme: 'hmac-sha256', plainEvents: 0, problems: [] })
    expect(schemeOf(head.lastHash)).toBe('hmac-sha256')
  })

  it('derives the same chain key from the same secret key, and another from another', () => {
    const { events, head } = chain(3)
    expect(verifyChain(deriveChainKey(Buffer.from(secretKey)), events, head).problems).toEqual([])
    expect(problemsOf(verifyChain(deriveChainKey(randomBytes(32)), events, head))).toEqual([
      [1, 'hash_mismatch'],
      [2, 'hash_mismatch'],
      [3, 'hash_mismatch'],
    ])
  })

  it('finds a changed event', () => {
    const { events, head } = chain(5)
    const e = events[2]
    if (e) e.data = { seq: 99 }
    expect(problemsOf(verifyChain(key, events, head))).toEqual([[3, 'hash_mismatch']])
  })

  it('finds a changed event whose chain was recomputed without the key', () => {
    const { events } = chain(5)
    const e = events[2]
    if (e) e.data = { seq: 99 }
    const head = rehashPlain(events, 3)
    expect(problemsOf(verifyChain(key, events, head))).toEqual([
      [3, 'scheme_downgrade'],
      [4, 'scheme_downgrade'],
      [5, 'scheme_downgrade'],
      [5, 'unkeyed_chain'],
    ])
    const whole = chain(5).events
    expect(problemsOf(verifyChain(key, whole, rehashPlain(whole)))).toEqual([[5, 'unkeyed_chain']])
  })

  it('verifies plain events that a keyed event follows, and names their scheme', () => {
    const { events, head } = chain(6, 4)
    expect(verifyChain(key, events, head)).toEqual({ scheme: 'sha256', plainEvents: 4, problems: [] })
    // The keyed event covers the plain ones before it: rewriting one of those breaks the link to it.
    const e = events[1]
    if (e) e.data = { seq: 'forged' }
    rehashPlain(events.slice(0, 4), 1)
    expect(problemsOf(verifyChain(key, events, head))).toEqual([[5, 'link_mismatch']])
  })

  it('finds a deleted event in the middle and at the end', () => {
    const { events, head } = chain(5)
    const middle = events.filter((e) => e.seq !== 3)
    expect(verifyChain(key, middle, head).problems.map((p) => p.problem)).toEqual([
      'missing_event',
      'link_mismatch',
      'count_mismatch',
    ])
    const tail = events.slice(0, 4)
    expect(verifyChain(key, tail, head).problems.map((p) => p.problem)).toEqual(['count_mismatch', 'head_mismatch'])
  })

  it('reports a hash of no known form as changed', () => {
    const { events, head } = chain(2)
    const e = events[0]
    if (e) e.hash = 'md5:abc'
    expect(problemsOf(verifyChain(key, events, head))).toContainEqual([1, 'hash_mismatch'])
  })
})
