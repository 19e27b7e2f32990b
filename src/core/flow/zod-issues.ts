// Turns zod issues into pending flow problems with stable codes, plain messages and a fix for each.
import type { z } from 'zod'
import { PATTERN_HELP } from './model-common.ts'
import type { PendingProblem } from './problem.ts'
import { didYouMean } from './suggest.ts'
import type { Path } from './yaml-locate.ts'

type Issue = z.core.$ZodIssue

/** Maps every issue of a failed parse; `data` is the parsed YAML, used to tell missing keys from wrong values. */
export function issuesToProblems(issues: readonly Issue[], data: unknown, schema: z.ZodType): PendingProblem[] {
  return issues.flatMap((issue) => mapIssue(issue, [], data, schema))
}

function mapIssue(issue: Issue, prefix: Path, data: unknown, schema: z.ZodType): PendingProblem[] {
  const path: Path = [...prefix, ...(issue.path as (string | number)[])]
  const value = valueAt(data, path)
  switch (issue.code) {
    case 'invalid_type':
      return [invalidType(path, issue.expected, value, data)]
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey(path, key, schema))
    case 'invalid_value':
      return [invalidValue(path, value, issue.values.map(String))]
    case 'invalid_format':
      return [invalidFormat(path, issue)]
    case 'invalid_key':
      return [keyProblem(path, issue.issues)]
    case 'invalid_union':
      return invalidUnion(issue, path, data, schema)
    case 'too_small':
    case 'too_big':
      return [sizeProblem(path, issue)]
    case 'custom':
      return [customProblem(path, issue)]
    default:
      return [{ path, target: 'value', code: 'invalid_value', message: issue.message, fix: 'correct this value' }]
  }
}

function invalidType(path: Path, expected: string, value: unknown, data: unknown): PendingProblem {
  const name = typeName(expected)
  const last = path[path.length - 1]
  if (value === undefined && typeof last === 'string' && isRecord(valueAt(data, path.slice(0, -1)))) {
    return { path, target: 'missing', code: 'missing_key', message: `missing ${last}`, fix: `add ${last}: <${name}>` }
  }
  const got = describe(value)
  const fix =
    expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
      ? `quote it: "${String(value)}"`
      : value === null
        ? `fill in a ${name}, or remove the key`
        : `write a ${name} here`
  return { path, target: 'value', code: 'invalid_type', message: `expected a ${name}, got ${got}`, fix }
}

function unknownKey(path: Path, key: string, schema: z.ZodType): PendingProblem {
  const known = knownKeys(schema, path)
  const suggestion = didYouMean(key, known)
  return {
    path: [...path, key],
    target: 'key',
    code: 'unknown_key',
    message: suggestion ? `unknown key '${key}' (did you mean '${suggestion}'?)` : `unknown key '${key}'`,
    fix: suggestion
      ? `rename it to ${suggestion}`
      : known.length > 0
        ? `remove it; allowed here: ${known.join(', ')}`
        : 'remove it',
  }
}

function invalidValue(path: Path, value: unknown, options: string[]): PendingProblem {
  const suggestion = typeof value === 'string' ? didYouMean(value, options) : undefined
  const shown = typeof value === 'string' ? `'${value}'` : describe(value)
  return {
    path,
    target: 'value',
    code: 'invalid_value',
    message: `${shown} is not one of: ${options.join(', ')}${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
    fix: suggestion ? `write ${suggestion}` : `use one of: ${options.join(', ')}`,
  }
}

function invalidFormat(path: Path, issue: Extract<Issue, { code: 'invalid_format' }>): PendingProblem {
  const help = 'pattern' in issue && typeof issue.pattern === 'string' ? PATTERN_HELP.get(issue.pattern) : undefined
  if (help) return { path, target: 'value', ...help }
  return { path, target: 'value', code: 'invalid_format', message: issue.message, fix: 'correct the format' }
}

function keyProblem(path: Path, inner: readonly Issue[]): PendingProblem {
  const first = inner[0]
  const help =
    first?.code === 'invalid_format' && 'pattern' in first && typeof first.pattern === 'string'
      ? PATTERN_HELP.get(first.pattern)
      : undefined
  const message = help?.message ?? first?.message ?? 'invalid key'
  return { path, target: 'key', code: help?.code ?? 'invalid_key', message, fix: help?.fix ?? 'rename the key' }
}

/**
 * A union reports one list of issues per alternative. When exactly one alternative fits the value's shape (the others
 * only say "wrong type"), its detailed issues are the useful ones; otherwise the union's own message is.
 */
function invalidUnion(issue: Extract<Issue, { code: 'invalid_union' }>, path: Path, data: unknown, schema: z.ZodType) {
  const fitting = issue.errors.filter((branch) => !isRootTypeMismatch(branch))
  const [only] = fitting
  if (fitting.length === 1 && only?.some((inner) => inner.path.length > 0 || inner.code !== 'invalid_value')) {
    return only.flatMap((inner) => mapIssue(inner, path, data, schema))
  }
  const value = valueAt(data, path)
  const options = fitting.flatMap((branch) =>
    branch.flatMap((inner) => (inner.code === 'invalid_value' ? inner.values.map(String) : [])),
  )
  const suggestion = typeof value === 'string' ? didYouMean(value, options) : undefined
  const message = issue.message === 'Invalid input' ? 'this value has the wrong shape' : issue.message
  return [
    {
      path,
      target: 'value' as const,
      code: 'invalid_value',
      message: `${message}, got ${typeof value === 'string' ? `'${value}'` : describe(value)}`,
      fix: suggestion ? `write ${suggestion}` : `write ${message.replace(/^expected /, '')}`,
    },
  ]
}

function isRootTypeMismatch(branch: readonly Issue[]): boolean {
  return branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0
}

function sizeProblem(path: Path, issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): PendingProblem {
  const small = issue.code === 'too_small'
  const bound = small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum
  const custom = !/^Too (small|big)/.test(issue.message)
  let message: string
  let fix: string
  if (issue.origin === 'array') {
    message = `needs ${small ? 'at least' : 'at most'} ${bound} item(s)`
    fix = small ? 'add items' : 'remove items'
  } else if (issue.origin === 'string') {
    message =
      small && bound === 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${bound} characters`
    fix = small ? 'write a longer value' : 'shorten it'
  } else {
    message = `must be ${small ? 'at least' : 'at most'} ${bound}`
    fix = `use a number ${small ? '≥' : '≤'} ${bound}`
  }
  return { path, target: 'value', code: 'invalid_value', message: custom ? issue.message : message, fix }
}

function customProblem(path: Path, issue: Extract<Issue, { code: 'custom' }>): PendingProblem {
  const params = issue.params ?? {}
  const code = typeof params.code === 'string' ? params.code : 'invalid_value'
  const fix = typeof params.fix === 'string' ? params.fix : 'correct this value'
  return { path, target: 'value', code, message: issue.message, fix }
}

/** The keys an object accepts at `path`, found by walking the schema (every alternative of a union contributes). */
function knownKeys(schema: z.ZodType, path: Path): string[] {
  let current: unknown[] = [schema]
  for (const segment of path) current = current.flatMap((node) => childSchemas(node, segment))
  const keys = new Set<string>()
  for (const node of current.flatMap(unwrap)) {
    const shape = defOf(node)?.shape
    if (isRecord(shape)) for (const key of Object.keys(shape)) keys.add(key)
  }
  return [...keys]
}

function childSchemas(node: unknown, segment: string | number): unknown[] {
  return unwrap(node).flatMap((inner) => {
    const def = defOf(inner)
    if (def?.type === 'object' && isRecord(def.shape) && typeof segment === 'string') return [def.shape[segment]]
    if (def?.type === 'array' && typeof segment === 'number') return [def.element]
    if (def?.type === 'record') return [def.valueType]
    return []
  })
}

/** Looks through optional/default/union/pipe wrappers to the schemas that actually hold values. */
function unwrap(node: unknown, depth = 0): unknown[] {
  const def = defOf(node)
  if (!def || depth > 20) return []
  if ('innerType' in def) return unwrap(def.innerType, depth + 1)
  if (def.type === 'union' && Array.isArray(def.options)) return def.options.flatMap((o) => unwrap(o, depth + 1))
  if (def.type === 'pipe') return unwrap(def.in, depth + 1)
  return [node]
}

function defOf(node: unknown): Record<string, unknown> | undefined {
  if (!isRecord(node) || !isRecord(node._zod)) return undefined
  const def = node._zod.def
  return isRecord(def) ? def : undefined
}

export function valueAt(data: unknown, path: Path): unknown {
  let current = data
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment]
    else if (isRecord(current) && Object.hasOwn(current, segment)) current = current[String(segment)]
    else return undefined
  }
  return current
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function typeName(expected: string): string {
  if (expected === 'object' || expected === 'record') return 'map'
  if (expected === 'array') return 'list'
  if (expected === 'string') return 'string'
  return expected
}

/** How a value reads in a message: the kind, with a short excerpt for scalars. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null (an empty value)'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`
  return `${typeof value} ${String(value)}`
}
