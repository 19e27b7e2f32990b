// The budget every flow expression runs under: which expressions are cheap enough for the server's own thread, the
// limits (time, depth, string and sequence sizes) that stop one that is not, and how a blown limit reads.
import type jsonata from 'jsonata'
import { TerminalError } from '../../errors.ts'

export interface ExpressionBudget {
  /** Wall time one evaluation may take. */
  timeoutMs: number
  /** Longest string any sub-expression may produce. */
  maxStringChars: number
  /** Longest sequence or array any sub-expression may produce. */
  maxSequence: number
  /** Deepest nesting of evaluation (non-tail recursion). */
  maxDepth: number
}

export const DEFAULT_BUDGET: ExpressionBudget = {
  timeoutMs: 1000,
  maxStringChars: 10_000_000,
  maxSequence: 1_000_000,
  maxDepth: 500,
}

/**
 * An inline evaluation that takes longer than this moves to the isolated evaluator, which applies the full budget:
 * the server's event loop is never held longer than this by an expression.
 */
export const INLINE_TIMEOUT_MS = 10

/** JSONata's own guard codes, and ours, that mean "over budget" rather than "wrong". */
const LIMIT_CODES: Record<string, string> = {
  D1011: 'nests deeper than the evaluation depth limit',
  D1012: 'ran longer than its time budget',
  D2014: 'builds a range larger than the sequence limit',
  D2015: 'builds a sequence larger than the sequence limit',
  GL_STRING: 'builds a string longer than the string limit',
  GL_SEQUENCE: 'builds an array larger than the sequence limit',
}

/** True when `error` (from JSONata or V8) says the expression ran out of budget. */
export function isLimitError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code in LIMIT_CODES) return true
  if (error instanceof RangeError)
    return /call stack|string length|array length|allocation|out of memory/i.test(error.message)
  return false
}

/** The terminal error a step fails with when one of its expressions is over budget. */
export function limitError(expression: string, reason: string, budget: ExpressionBudget): TerminalError {
  return new TerminalError('expression_limit', `{{${clip(expression)}}} ${reason}.`, {
    hint: `Expressions get ${budget.timeoutMs} ms, strings of ${budget.maxStringChars} characters and sequences of ${budget.maxSequence} items; simplify the expression or move the work to an http or job step.`,
    details: {
      timeout_ms: budget.timeoutMs,
      max_string_chars: budget.maxStringChars,
      max_sequence: budget.maxSequence,
    },
  })
}

/** Names the limit a JSONata or V8 error blew. */
export function limitReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && LIMIT_CODES[code]) return LIMIT_CODES[code]
  return 'ran out of evaluation resources'
}

const clip = (text: string): string => (text.length > 120 ? `${text.slice(0, 117)}…` : text)

/** JSONata options for an evaluation under `budget`: its time, depth and sequence guards. */
export function budgetOptions(budget: ExpressionBudget, timeoutMs = budget.timeoutMs) {
  return { timeout: timeoutMs, stack: budget.maxDepth, sequence: budget.maxSequence }
}

/**
 * Registers the size checks JSONata has no option for: after each sub-expression, a string or array over the budget
 * stops the evaluation before the next doubling can take the process past its heap.
 */
export function installSizeGuard(expression: jsonata.Expression, budget: ExpressionBudget): void {
  expression.assign(
    Symbol.for('jsonata.__evaluate_exit') as never,
    (_expr: unknown, _input: unknown, _env: unknown, result: unknown) => {
      if (typeof result === 'string' && result.length > budget.maxStringChars) throw { code: 'GL_STRING' }
      if (Array.isArray(result) && result.length > budget.maxSequence) throw { code: 'GL_SEQUENCE' }
    },
  )
}

/**
 * Functions whose cost is linear in their arguments and whose result is no larger than them (times a constant).
 * Anything else — regular expressions, `$eval`, `$pad`, higher-order functions, sorting — is evaluated in isolation.
 */
const INLINE_FUNCTIONS = new Set([
  'string',
  'number',
  'boolean',
  'not',
  'exists',
  'count',
  'length',
  'lowercase',
  'uppercase',
  'trim',
  'substring',
  'substringBefore',
  'substringAfter',
  'join',
  'contains',
  'keys',
  'lookup',
  'sum',
  'max',
  'min',
  'average',
  'abs',
  'floor',
  'ceil',
  'round',
  'type',
  'append',
  'merge',
  'reverse',
])

/** Node types whose evaluation costs at most a pass over their operands; no loops, bindings or user functions. */
const INLINE_TYPES = new Set([
  'path',
  'name',
  'string',
  'number',
  'value',
  'binary',
  'unary',
  'condition',
  'block',
  'variable',
  'wildcard',
  'descendant',
  'function',
  'filter',
])

/** Syntax-tree keys that hold no sub-expression. */
const LEAF_KEYS = new Set(['type', 'value', 'position', 'keepArray', 'keepSingletonArray', 'consarray', 'stage'])

const MAX_INLINE_NODES = 200

/**
 * Whether an expression may run in the server's own thread: only cheap node types, whitelisted functions, no
 * variable but `$` and `$$`, no range operator, and a small tree. Its cost is then bounded by its size times the
 * data's; even so it runs under INLINE_TIMEOUT_MS and moves to isolation past it.
 */
export function isInlineSafe(ast: unknown): boolean {
  let nodes = 0
  const stack: unknown[] = [ast]
  while (stack.length > 0) {
    const node = stack.pop()
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item)
      continue
    }
    if (typeof node !== 'object' || node === null) continue
    if (++nodes > MAX_INLINE_NODES) return false
    const n = node as Record<string, unknown>
    if (typeof n.type !== 'string' || !INLINE_TYPES.has(n.type)) return false
    if (n.type === 'binary' && n.value === '..') return false
    if (n.type === 'variable' && n.value !== '' && n.value !== '$') return false
    if (n.focus !== undefined || n.index !== undefined || n.tuple !== undefined || n.ancestor !== undefined)
      return false
    if (n.type === 'function') {
      const procedure = n.procedure as { type?: unknown; value?: unknown } | undefined
      if (procedure?.type !== 'variable' || typeof procedure.value !== 'string') return false
      if (!INLINE_FUNCTIONS.has(procedure.value)) return false
      stack.push(n.arguments)
      continue
    }
    for (const [key, child] of Object.entries(n)) if (!LEAF_KEYS.has(key)) stack.push(child)
  }
  return true
}
