// Checks every `{{ }}` of a flow: syntax, and that what it reads exists (steps, callbacks, inputs) and is in scope.
import { type CompiledTemplate, compileTemplate, compileTransform, type ExpressionReference } from './expressions.ts'
import type { PendingProblem } from './problem.ts'
import { didYouMean } from './suggest.ts'
import type { Path } from './yaml-locate.ts'
import { isRecord } from './zod-issues.ts'

/** Where a template is evaluated decides what it may read. */
type Scope = 'step' | 'concurrency' | 'webhook' | 'schedule'

const ROOTS: Record<Scope, readonly string[]> = {
  step: ['inputs', 'steps', 'run', 'callbacks'],
  concurrency: ['inputs', 'run'], // computed when the run is created, before any step
  webhook: ['body', 'headers', 'query'],
  schedule: [],
}

/** What the reference checks need to know about the flow. */
export interface FlowFacts {
  /** Step id → its kind (undefined when the step has none). */
  steps: ReadonlyMap<string, string | undefined>
  inputs: ReadonlySet<string>
}

export interface CheckOutput {
  errors: PendingProblem[]
  warnings: PendingProblem[]
}

/** Compiles the string at `path` when it holds `{{`, and checks its references against `scope`. */
export function checkTemplateString(text: string, path: Path, scope: Scope, facts: FlowFacts, out: CheckOutput): void {
  if (!text.includes('{{')) return
  const compiled = tryCompile(() => compileTemplate(text), path, out)
  if (compiled) checkReferences(compiled.references, path, scope, facts, out)
}

/** A step's `if` must be exactly one `{{ }}`, so its value is a boolean, not text that is always truthy. */
export function checkCondition(text: string, path: Path, facts: FlowFacts, out: CheckOutput): void {
  const compiled = tryCompile(() => compileTemplate(text), path, out)
  if (!compiled) return
  if (compiled.mode !== 'typed') {
    out.errors.push({
      path,
      target: 'value',
      code: 'invalid_expression',
      message: 'if must be a single {{ … }} expression',
      fix: compiled.mode === 'constant' ? `write if: "{{ ${text.trim()} }}"` : 'remove the text around the {{ }}',
    })
  }
  checkReferences(compiled.references, path, 'step', facts, out)
}

/** A transform is a bare JSONata expression unless it holds `{{`. */
export function checkTransform(text: string, path: Path, facts: FlowFacts, out: CheckOutput): void {
  const compiled = tryCompile(() => compileTransform(text), path, out)
  if (compiled) checkReferences(compiled.references, path, 'step', facts, out)
}

/** Checks every string inside `value` (maps, lists) as a template in `scope`. */
export function checkTemplatesIn(value: unknown, path: Path, scope: Scope, facts: FlowFacts, out: CheckOutput): void {
  forEachString(value, path, (text, at) => checkTemplateString(text, at, scope, facts, out))
}

/** Strings where `{{ }}` is not evaluated get a warning, so a template there is not silently sent as is. */
export function warnLiteralTemplates(value: unknown, path: Path, out: CheckOutput): void {
  forEachString(value, path, (text, at) => {
    if (!text.includes('{{')) return
    out.warnings.push({
      path: at,
      target: 'value',
      code: 'template_not_evaluated',
      message: '{{ }} is not evaluated in this field; the text is used as is',
      fix: 'move the template to a field that accepts expressions, or remove the braces',
    })
  })
}

export function forEachString(value: unknown, path: Path, visit: (text: string, path: Path) => void, depth = 0): void {
  if (depth > 64) return
  if (typeof value === 'string') {
    visit(value, path)
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      forEachString(item, [...path, index], visit, depth + 1)
    })
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) forEachString(item, [...path, key], visit, depth + 1)
  }
}

function tryCompile(compile: () => CompiledTemplate, path: Path, out: CheckOutput): CompiledTemplate | undefined {
  try {
    return compile()
  } catch (error) {
    const offset = typeof (error as { offset?: unknown }).offset === 'number' ? (error as { offset: number }).offset : 0
    const message = error instanceof Error ? error.message : 'invalid expression'
    out.errors.push({ path, target: { offset }, code: 'invalid_expression', message, fix: expressionFix(message) })
    return undefined
  }
}

function expressionFix(message: string): string {
  if (message.startsWith('unterminated')) return 'close the template with }}'
  if (message.startsWith('empty')) return 'put an expression inside, e.g. {{ inputs.repo }}'
  return 'correct the JSONata expression (https://docs.jsonata.org)'
}

function checkReferences(
  refs: readonly ExpressionReference[],
  path: Path,
  scope: Scope,
  facts: FlowFacts,
  out: CheckOutput,
) {
  for (const ref of refs) checkReference(ref, path, scope, facts, out)
}

function checkReference(ref: ExpressionReference, path: Path, scope: Scope, facts: FlowFacts, out: CheckOutput): void {
  const target = { offset: ref.offset }
  const roots = ROOTS[scope]
  const error = (code: string, message: string, fix: string) => out.errors.push({ path, target, code, message, fix })
  const warn = (code: string, message: string, fix: string) => out.warnings.push({ path, target, code, message, fix })
  if (ref.root === 'env') {
    error(
      'invalid_reference',
      'env is not available in expressions; use a secret/connection',
      'store the value as a secret or connection and use it by name',
    )
    return
  }
  if (!roots.includes(ref.root)) {
    const allRoots = Object.values(ROOTS).flat()
    const seen = roots.length > 0 ? roots.join(', ') : 'no variables, only functions such as $now()'
    if (allRoots.includes(ref.root)) {
      error('invalid_reference', `${ref.root} is not available here; expressions here see ${seen}`, `use only ${seen}`)
    } else {
      const suggestion = didYouMean(ref.root, roots)
      warn(
        'unknown_variable',
        `'${ref.root}' is not defined here and evaluates to nothing; expressions here see ${seen}`,
        suggestion ? `write ${suggestion}` : `use ${seen}`,
      )
    }
    return
  }
  const [name, property] = ref.path
  if (name === undefined) return
  if (ref.root === 'steps' || ref.root === 'callbacks') checkStepReference(ref.root, name, property, facts, error, warn)
  if (ref.root === 'inputs' && !facts.inputs.has(name)) {
    const suggestion = didYouMean(name, facts.inputs)
    warn(
      'unknown_input',
      `input '${name}' is not declared${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      suggestion ? `write inputs.${suggestion}` : `declare it under inputs: ${name}: { type: string }`,
    )
  }
}

type Report = (code: string, message: string, fix: string) => void

function checkStepReference(
  root: string,
  id: string,
  property: string | undefined,
  facts: FlowFacts,
  error: Report,
  warn: Report,
) {
  if (!facts.steps.has(id)) {
    const suggestion = didYouMean(id, facts.steps.keys())
    error(
      'unknown_step',
      `${root}.${id} names no step${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      suggestion ? `write ${root}.${suggestion}` : `use one of: ${[...facts.steps.keys()].join(', ')}`,
    )
    return
  }
  const kind = facts.steps.get(id)
  if (root === 'callbacks' && kind !== undefined && kind !== 'wait' && kind !== 'job') {
    error(
      'invalid_reference',
      `callbacks.${id}: '${id}' is a ${kind} step; only wait and job steps have a callback`,
      'point at a wait step',
    )
  }
  const expected = root === 'steps' ? 'output' : 'url'
  if (property !== undefined && property !== expected) {
    warn(
      'unknown_property',
      `${root}.${id}.${property} is not defined; did you mean ${root}.${id}.${expected}?`,
      `write ${root}.${id}.${expected}${root === 'steps' ? `.${property}` : ''}`,
    )
  }
}
