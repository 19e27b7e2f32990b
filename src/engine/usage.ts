// What `greenlight usage` reports: billed executions per flow and kind, and the tokens llm steps used beside them.
import type { UsageRow } from './run-ports.ts'

export interface TokenCounts {
  promptTokens: number
  completionTokens: number
  totalTokens: number
}

export const NO_TOKENS: TokenCounts = { promptTokens: 0, completionTokens: 0, totalTokens: 0 }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0)

/**
 * The tokens an execution's step result records. Only `llm` steps use tokens: a succeeded one's output `usage`, or
 * the `usage` in its error's details when the model answered but the step failed (a reply that broke json_schema,
 * a refusal). Answers that carry no completion (429, 5xx, a network error) used none. Any other kind's output is the
 * user's data, never read as tokens.
 */
export function tokensOf(kind: string, output: unknown, error: unknown): TokenCounts {
  if (kind !== 'llm') return NO_TOKENS
  const details = isRecord(error) && isRecord(error.details) ? error.details : undefined
  const usage = isRecord(output) && isRecord(output.usage) ? output.usage : details?.usage
  if (!isRecord(usage)) return NO_TOKENS
  return {
    promptTokens: count(usage.prompt_tokens),
    completionTokens: count(usage.completion_tokens),
    totalTokens: count(usage.total_tokens),
  }
}

export interface TokenTotals {
  prompt: number
  completion: number
  total: number
}

export interface FlowUsage {
  flow: string
  executions: number
  by_kind: Record<string, number>
  /** Present when the flow ran llm steps that month. */
  tokens?: TokenTotals
}

const addTokens = (into: TokenTotals, row: UsageRow) => {
  into.prompt += Number(row.promptTokens ?? 0)
  into.completion += Number(row.completionTokens ?? 0)
  into.total += Number(row.totalTokens ?? 0)
}

/** A month's report from the store's rows (one per flow and kind): flows by slug, totals of executions and tokens. */
export function usageReport(month: string, rows: UsageRow[]) {
  const byFlow = new Map<string, FlowUsage>()
  const tokens: TokenTotals = { prompt: 0, completion: 0, total: 0 }
  for (const row of rows) {
    const entry = byFlow.get(row.flow) ?? { flow: row.flow, executions: 0, by_kind: {} }
    entry.executions += Number(row.executions)
    entry.by_kind[row.kind] = Number(row.executions)
    if (row.kind === 'llm') {
      entry.tokens ??= { prompt: 0, completion: 0, total: 0 }
      addTokens(entry.tokens, row)
    }
    addTokens(tokens, row)
    byFlow.set(row.flow, entry)
  }
  const flows = [...byFlow.values()].sort((a, b) => a.flow.localeCompare(b.flow))
  return { month, flows, total: flows.reduce((n, f) => n + f.executions, 0), tokens }
}
