// The messages between the server and its isolated expression evaluators.
import type { ExpressionBudget } from '../core/flow/index.ts'

export interface EvaluateRequest {
  id: number
  expression: string
  scope: Record<string, unknown>
  budget: ExpressionBudget
}

export type EvaluateReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: string; message: string; hint?: string; details?: Record<string, unknown> }

/**
 * Expressions may yield JSONata functions, which cannot cross a process boundary; in the server they read as nothing
 * (`interpolate` prints ''), so they become undefined here. Walked iteratively: results may nest deeply.
 */
export function toCloneable(value: unknown): unknown {
  if (!hasFunctions(value)) return value
  if (typeof value === 'function' || isLambda(value)) return undefined
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => (typeof item === 'function' || isLambda(item) ? undefined : item)) ??
      'null',
  )
}

const isLambda = (item: unknown): boolean =>
  typeof item === 'object' && item !== null && (item as { _jsonata_lambda?: unknown })._jsonata_lambda === true

function hasFunctions(value: unknown): boolean {
  const stack = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (typeof item === 'function' || isLambda(item)) return true
    if (typeof item === 'object' && item !== null) for (const child of Object.values(item)) stack.push(child)
  }
  return false
}
