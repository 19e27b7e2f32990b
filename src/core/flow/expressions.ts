// `{{ … }}` templates holding JSONata: finding them in strings, compiling once, evaluating against a run's scope.
import jsonata from 'jsonata'
import { AppError, TerminalError } from '../../errors.ts'
import {
  budgetOptions,
  DEFAULT_BUDGET,
  type ExpressionBudget,
  INLINE_TIMEOUT_MS,
  installSizeGuard,
  isInlineSafe,
  isLimitError,
  limitError,
  limitReason,
} from './expression-budget.ts'
import { collectReferences, type ExpressionReference } from './expression-references.ts'
import { toText } from './text.ts'

export type { ExpressionReference } from './expression-references.ts'

/**
 * What expressions see: `inputs`, `steps.<id>.output`, `run` (id, flow, version, initiator), `callbacks.<id>.url`.
 * Webhook trigger templates see `body`, `headers` and `query` instead. `env` is never part of it.
 */
export type ExpressionScope = Record<string, unknown>

/** One `{{ … }}` in a string; offsets are 0-based UTF-16 indexes into that string. */
export interface TemplateSpan {
  /** Index of the opening `{{`. */
  start: number
  /** Index just past the closing `}}` (the string's length when unclosed). */
  end: number
  /** The JSONata source between the braces. */
  expression: string
  /** Index where `expression` starts. */
  expressionStart: number
  closed: boolean
}

/** A template that failed to compile; `offset` points into the string that held it. */
export class ExpressionError extends AppError {
  readonly offset: number

  constructor(message: string, offset: number, options: { cause?: unknown } = {}) {
    super('invalid_expression', message, { ...options, details: { offset } })
    this.name = 'ExpressionError'
    this.offset = offset
  }
}

/**
 * Finds each `{{ … }}`. The scan skips JSONata string literals and balances braces, so object constructors
 * (`{{ {"a": {"b": 1}} }}`) and strings holding `}}` do not end a template early.
 */
export function findTemplates(text: string): TemplateSpan[] {
  const spans: TemplateSpan[] = []
  let from = 0
  for (let open = text.indexOf('{{', from); open !== -1; open = text.indexOf('{{', from)) {
    const close = findClose(text, open + 2)
    const end = close === -1 ? text.length : close + 2
    const expression = text.slice(open + 2, close === -1 ? text.length : close)
    spans.push({ start: open, end, expression, expressionStart: open + 2, closed: close !== -1 })
    if (close === -1) break
    from = end
  }
  return spans
}

function findClose(text: string, from: number): number {
  let depth = 0
  let quote: string | undefined
  for (let index = from; index < text.length; index++) {
    const char = text[index]
    if (quote !== undefined) {
      if (char === '\\' && quote !== '`') index++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'" || char === '`') {
      quote = char
    } else if (char === '{') {
      depth++
    } else if (char === '}') {
      if (depth === 0 && text[index + 1] === '}') return index
      if (depth > 0) depth--
    }
  }
  return -1
}

/**
 * Evaluates an expression where a blow-up cannot reach the server: another process with its own heap and a watchdog
 * (src/sandbox/). Resolves the plain result, or rejects with the same errors an in-process evaluation throws.
 */
export interface IsolatedEvaluator {
  readonly budget: ExpressionBudget
  evaluate(expression: string, scope: ExpressionScope): Promise<unknown>
}

/** Installed evaluators, newest last: several servers may share a process (tests), each with its own pool. */
const installed: IsolatedEvaluator[] = []

/**
 * Installs an isolated evaluator for this process (the server does, at start) and returns its removal. Without one
 * (the offline CLI, unit tests), expressions that are not inline-safe run in this thread under the same budget,
 * enforced cooperatively.
 */
export function useIsolatedEvaluator(evaluator: IsolatedEvaluator): () => void {
  installed.push(evaluator)
  return () => {
    const at = installed.lastIndexOf(evaluator)
    if (at !== -1) installed.splice(at, 1)
  }
}

/** How an evaluation may run. `inlineOnly`: inside a database transaction, where waiting on isolation is not allowed. */
export interface EvaluateOptions {
  inlineOnly?: boolean
}

/** Thrown under `inlineOnly` for an expression that needs the isolated evaluator; the caller defers the step. */
export class NeedsIsolation extends Error {
  constructor() {
    super('the expression must be evaluated in isolation')
    this.name = 'NeedsIsolation'
  }
}

export interface CompiledTemplate {
  readonly source: string
  /** constant: no `{{`; typed: exactly one `{{ }}` (surrounding whitespace allowed), keeps its type; text: interpolated. */
  readonly mode: 'constant' | 'typed' | 'text'
  readonly templates: readonly TemplateSpan[]
  /** Top-level names each template reads, with offsets into `source`. */
  readonly references: readonly ExpressionReference[]
  evaluate(scope: ExpressionScope, options?: EvaluateOptions): Promise<unknown>
}

interface Part {
  span: TemplateSpan
  expression: jsonata.Expression
  /** Compiled with the inline guards, when the syntax tree is cheap enough for this thread; else undefined. */
  inline: jsonata.Expression | undefined
}

/** Compiles a string once; throws ExpressionError (with the offset in the string) when a template is not valid. */
export function compileTemplate(source: string): CompiledTemplate {
  const templates = findTemplates(source)
  const parts = templates.map((span) => part(span, compileSpan(span)))
  const references = parts.flatMap(({ span, expression }) =>
    collectReferences(expression.ast()).map((ref) => ({ ...ref, offset: ref.offset + span.expressionStart })),
  )
  const only = templates.length === 1 ? templates[0] : undefined
  const typed = only !== undefined && source.slice(0, only.start).trim() === '' && source.slice(only.end).trim() === ''
  const mode = templates.length === 0 ? 'constant' : typed ? 'typed' : 'text'
  return {
    source,
    mode,
    templates,
    references,
    evaluate: (scope, options) => evaluateParts(source, mode, parts, scope, options),
  }
}

function part(span: TemplateSpan, expression: jsonata.Expression): Part {
  const inline = isInlineSafe(expression.ast())
    ? jsonata(span.expression, budgetOptions(DEFAULT_BUDGET, INLINE_TIMEOUT_MS))
    : undefined
  return { span, expression, inline }
}

/** Compiles a bare JSONata expression (no braces), as `transform: { expr }` holds. */
export function compileExpression(source: string): CompiledTemplate {
  const span: TemplateSpan = { start: 0, end: source.length, expression: source, expressionStart: 0, closed: true }
  const expression = compileSpan(span)
  const references = collectReferences(expression.ast())
  return {
    source,
    mode: 'typed',
    templates: [span],
    references,
    evaluate: (scope, options) => evaluateParts(source, 'typed', [part(span, expression)], scope, options),
  }
}

function compileSpan(span: TemplateSpan): jsonata.Expression {
  if (!span.closed) throw new ExpressionError('unterminated {{ (no matching }})', span.start)
  if (span.expression.trim() === '') throw new ExpressionError('empty {{ }}', span.start)
  try {
    return jsonata(span.expression)
  } catch (error) {
    const { message, position, token } = error as { message?: unknown; position?: unknown; token?: unknown }
    const end = typeof position === 'number' ? position : 0
    const tokenLength = typeof token === 'string' && token !== '(end)' ? token.length : 0
    const inner = Math.min(span.expression.length, Math.max(0, end - tokenLength))
    const text = typeof message === 'string' ? message : 'invalid expression'
    throw new ExpressionError(`invalid expression: ${text}`, span.expressionStart + inner, { cause: error })
  }
}

async function evaluateParts(
  source: string,
  mode: CompiledTemplate['mode'],
  parts: Part[],
  scope: ExpressionScope,
  options: EvaluateOptions = {},
) {
  if (mode === 'constant') return source
  if (mode === 'typed' && parts[0]) return evaluatePart(parts[0], scope, options)
  let out = ''
  let at = 0
  for (const part of parts) {
    out += source.slice(at, part.span.start) + interpolate(await evaluatePart(part, scope, options))
    at = part.span.end
  }
  return out + source.slice(at)
}

/**
 * Cheap expressions run here under a short guard; one that outgrows it, and every expression that is not cheap by
 * its syntax, runs under the full budget in isolation. Both give the same result: expressions are pure.
 */
async function evaluatePart(part: Part, scope: ExpressionScope, options: EvaluateOptions): Promise<unknown> {
  if (part.inline) {
    try {
      return plain(await part.inline.evaluate(scope))
    } catch (error) {
      if (!isLimitError(error)) throw failed(part.span, error)
    }
  }
  if (options.inlineOnly) throw new NeedsIsolation()
  const isolated = installed.at(-1)
  if (isolated) return isolated.evaluate(part.span.expression, scope)
  return evaluateBudgeted(part.span.expression, scope, DEFAULT_BUDGET, part.expression)
}

const budgeted = new WeakMap<jsonata.Expression, jsonata.Expression>()

/**
 * Evaluates under the full budget in this thread: what the isolated evaluator runs, and the fallback without one.
 * Over budget → terminal `expression_limit`; any other failure → terminal `expression_failed`.
 */
export async function evaluateBudgeted(
  source: string,
  scope: ExpressionScope,
  budget: ExpressionBudget,
  compiled?: jsonata.Expression,
): Promise<unknown> {
  let guarded = compiled ? budgeted.get(compiled) : undefined
  if (!guarded) {
    guarded = jsonata(source, budgetOptions(budget))
    installSizeGuard(guarded, budget)
    if (compiled) budgeted.set(compiled, guarded)
  }
  try {
    return plain(await guarded.evaluate(scope))
  } catch (error) {
    if (isLimitError(error)) throw limitError(source, limitReason(error), budget)
    throw failed({ expression: source }, error)
  }
}

function failed(span: { expression: string }, error: unknown): TerminalError {
  const message =
    error instanceof Error
      ? error.message
      : typeof (error as { message?: unknown })?.message === 'string'
        ? (error as { message: string }).message
        : String(error)
  return new TerminalError('expression_failed', `{{${span.expression}}} failed: ${message}`, { cause: error })
}

/** JSONata marks result sequences with a `sequence` property; hand back a plain array instead. */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? Array.from(value) : value
}

/** How a value reads inside text: the one rule of text.ts (strings as is, nothing as '', objects as JSON). */
export const interpolate = toText

export interface CompiledValue {
  /** Every template inside, with its path from the value's root. */
  readonly templates: readonly { path: (string | number)[]; template: CompiledTemplate }[]
  evaluate(scope: ExpressionScope, options?: EvaluateOptions): Promise<unknown>
}

/**
 * Compiles every string inside a JSON value (keys are literal), or only those at paths `templated` accepts (the rest
 * are used as written); throws ExpressionError on the first bad template.
 */
export function compileValue(value: unknown, templated?: (path: (string | number)[]) => boolean): CompiledValue {
  const templates: { path: (string | number)[]; template: CompiledTemplate }[] = []
  type Evaluate = (scope: ExpressionScope, options?: EvaluateOptions) => Promise<unknown>
  const build = (node: unknown, path: (string | number)[]): Evaluate => {
    if (path.length > 100) throw new ExpressionError('value is nested too deeply', 0)
    if (typeof node === 'string') {
      if (!node.includes('{{') || (templated && !templated(path))) return async () => node
      const template = compileTemplate(node)
      templates.push({ path, template })
      return (scope, options) => template.evaluate(scope, options)
    }
    if (Array.isArray(node)) {
      const items = node.map((item, index) => build(item, [...path, index]))
      return async (scope, options) => Promise.all(items.map((item) => item(scope, options)))
    }
    if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node).map(([key, item]) => [key, build(item, [...path, key])] as const)
      return async (scope, options) => {
        const values = await Promise.all(entries.map(([, item]) => item(scope, options)))
        return Object.fromEntries(entries.map(([key], index) => [key, values[index]]))
      }
    }
    return async () => node
  }
  const evaluate = build(value, [])
  return { templates, evaluate }
}

/** Compiles a transform's source: a string holding `{{` follows the template rule, anything else is bare JSONata. */
export function compileTransform(source: string): CompiledTemplate {
  return source.includes('{{') ? compileTemplate(source) : compileExpression(source)
}
