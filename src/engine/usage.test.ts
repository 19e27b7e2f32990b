// The usage rules without a database: which step results carry tokens, and the month's report built from rows.
import { describe, expect, it } from 'vitest'
import type { UsageRow } from './run-ports.ts'
import { NO_TOKENS, tokensOf, usageReport } from './usage.ts'

const USAGE = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }
const COUNTED = { promptTokens: 12, completionTokens: 5, totalTokens: 17 }

describe('tokensOf', () => {
  it("reads a succeeded llm step's output usage, and the usage of a failure that got an answer", () => {
    expect(tokensOf('llm', { text: 'hi', json: null, usage: USAGE }, null)).toEqual(COUNTED)
    const invalid = { code: 'llm_output_invalid', message: 'x', details: { problems: [], usage: USAGE } }
    expect(tokensOf('llm', { error: invalid }, invalid)).toEqual(COUNTED)
  })

  it('counts nothing for an answer without a completion, or for any other kind whatever its output holds', () => {
    const limited = { code: 'llm_rate_limited', message: 'x', details: { status: 429, error: { message: 'slow' } } }
    expect(tokensOf('llm', { error: limited }, limited)).toEqual(NO_TOKENS)
    expect(tokensOf('transform', { usage: USAGE }, null)).toEqual(NO_TOKENS)
    expect(tokensOf('http', { status: 200, headers: {}, body: { usage: USAGE } }, null)).toEqual(NO_TOKENS)
    expect(tokensOf('llm', 'res://abc', null)).toEqual(NO_TOKENS)
    expect(tokensOf('llm', { usage: { prompt_tokens: -3, completion_tokens: 1.5, total_tokens: '9' } }, null)).toEqual(
      NO_TOKENS,
    )
  })
})

describe('usageReport', () => {
  const row = (flow: string, kind: string, executions: number, tokens = NO_TOKENS): UsageRow => ({
    flow,
    kind,
    executions,
    ...tokens,
  })

  it('sums executions per flow, gives tokens only to flows that ran llm steps, and totals both', () => {
    const report = usageReport('2026-05', [
      row('b_flow', 'http', 2),
      row('a_flow', 'llm', 3, { promptTokens: 30, completionTokens: 9, totalTokens: 39 }),
      row('a_flow', 'notify', 1),
      row('b_flow', 'kv', 1),
    ])
    expect(report).toEqual({
      month: '2026-05',
      flows: [
        {
          flow: 'a_flow',
          executions: 4,
          by_kind: { llm: 3, notify: 1 },
          tokens: { prompt: 30, completion: 9, total: 39 },
        },
        { flow: 'b_flow', executions: 3, by_kind: { http: 2, kv: 1 } },
      ],
      total: 7,
      tokens: { prompt: 30, completion: 9, total: 39 },
    })
    expect(usageReport('2026-06', [])).toEqual({
      month: '2026-06',
      flows: [],
      total: 0,
      tokens: { prompt: 0, completion: 0, total: 0 },
    })
  })
})
