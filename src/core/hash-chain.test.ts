import { describe, expect, it } from 'vitest'
import { type ChainedEvent, canonicalJson, eventHash, verifyChain } from './hash-chain.ts'

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
