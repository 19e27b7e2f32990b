// Validates flow YAML into a FlowDefinition, or into problems that each carry a line, a column and a fix; never throws.
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from 'yaml'
import { errorMessage } from '../../errors.ts'
import { type FlowDefinition, flowSchema } from './model.ts'
import { type FlowProblem, formatPath, type PendingProblem } from './problem.ts'
import { checkSemantics } from './semantic.ts'
import { YamlLocator } from './yaml-locate.ts'
import { findTooDeep, MAX_NESTING, positionOf } from './yaml-nesting.ts'
import { checkStructure } from './yaml-structure.ts'
import { isRecord, issuesToProblems } from './zod-issues.ts'

export { type FlowProblem, formatProblem } from './problem.ts'

export type FlowValidationResult =
  | { ok: true; flow: FlowDefinition; warnings: FlowProblem[] }
  | { ok: false; problems: FlowProblem[] }

/** Bounds that keep validation fast on hostile input; real flows are a few KiB and a dozen levels deep. */
const MAX_SOURCE_CHARS = 1_000_000
const MAX_ALIAS_COUNT = 100
const MAX_YAML_ERRORS = 20
const MAX_PROBLEMS = 100

/** Most steps a flow may have unless configured (GREENLIGHT_MAX_FLOW_STEPS); `flows validate` offline uses it too. */
export const DEFAULT_MAX_FLOW_STEPS = 1_000

export interface FlowValidationOptions {
  /** Most steps a flow may have; a longer one is refused with `too_many_steps` at the first step over it. */
  maxSteps?: number
}

/** Parses and checks one flow file. Every problem is located (1-based line and column) and says how to fix it. */
export function validateFlowSource(
  source: string,
  file = '<input>',
  options: FlowValidationOptions = {},
): FlowValidationResult {
  try {
    return validate(source, file, options.maxSteps ?? DEFAULT_MAX_FLOW_STEPS)
  } catch (error) {
    // A bug in a check must not take down `flows push` or the server; report it like any other problem.
    return failAt(file, 'internal_error', `the validator failed: ${errorMessage(error)}`, 'report this as a bug')
  }
}

function validate(source: string, file: string, maxSteps: number): FlowValidationResult {
  if (typeof source !== 'string') return failAt(file, 'invalid_input', 'the flow source is not text', 'pass YAML text')
  if (source.length > MAX_SOURCE_CHARS) {
    return failAt(file, 'too_large', `the file is over ${MAX_SOURCE_CHARS} characters`, 'split the flow in two')
  }
  const nul = source.indexOf('\u0000')
  if (nul >= 0) {
    // YAML forbids it, and SQLite would read the stored source back cut at it.
    const line = source.slice(0, nul).split('\n').length
    const column = nul - source.lastIndexOf('\n', nul - 1)
    const fix = 'remove it (write \\0 inside a double-quoted string for a NUL in a value)'
    return {
      ok: false,
      problems: [
        {
          file,
          line,
          column,
          path: '',
          code: 'control_character',
          message: 'the file contains a NUL character (U+0000)',
          fix,
        },
      ],
    }
  }
  // The parser takes seconds on 400k levels before failing; refuse them first, where they start.
  const deep = findTooDeep(source)
  if (deep !== undefined) {
    const problem = {
      file,
      ...positionOf(source, deep),
      path: '',
      code: 'nesting_too_deep',
      message: `nested more than ${MAX_NESTING} levels deep`,
      fix: 'flatten the value that starts here; flows need a dozen levels at most',
    }
    return { ok: false, problems: [problem] }
  }
  const lines = new LineCounter()
  // logLevel 'error': no console output from the library, but a second document still counts as an error.
  // uniqueKeys is off because the library's check is quadratic; checkStructure finds duplicate keys instead.
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, logLevel: 'error' })
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => yamlProblem(e, lines, file)) }
  }
  // Before the flow is built and checked: those cost memory and time in proportion to its steps.
  const tooMany = tooManySteps(doc, lines, file, maxSteps)
  if (tooMany) return { ok: false, problems: [tooMany] }
  const locator = new YamlLocator(doc, lines, source)
  const place = (problem: PendingProblem) => locate(problem, locator, file)
  const structural = checkStructure(doc)
  if (structural.length > 0) return { ok: false, problems: report(structural, place) }
  const data = toData(doc)
  if (data instanceof Error) {
    return {
      ok: false,
      problems: [place(rootProblem('yaml_alias', data.message, 'write the values out, not *aliases'))],
    }
  }
  if (!isRecord(data)) return { ok: false, problems: [place(notAMap(data))] }
  const parsed = flowSchema.safeParse(data)
  const schemaProblems = parsed.success ? [] : issuesToProblems(parsed.error.issues, data, flowSchema)
  const semantic = checkSemantics(data)
  const errors = dedupe([...schemaProblems, ...semantic.errors]).map((p) => explainUnquotedTemplate(p, locator))
  if (!parsed.success || errors.length > 0) {
    return { ok: false, problems: report(errors.length > 0 ? errors : [UNEXPLAINED], place) }
  }
  const warnings = [...doc.warnings.map((w) => yamlProblem(w, lines, file)), ...report(semantic.warnings, place)]
  return { ok: true, flow: parsed.data as FlowDefinition, warnings: sortProblems(warnings) }
}

/** The first step over the limit, located, when `steps:` holds more than `maxSteps`. */
function tooManySteps(doc: Document, lines: LineCounter, file: string, maxSteps: number): FlowProblem | undefined {
  if (!isMap(doc.contents)) return undefined
  const steps = doc.contents.items.find((pair) => isScalar(pair.key) && pair.key.value === 'steps')?.value
  if (!isSeq(steps) || steps.items.length <= maxSteps) return undefined
  const first = steps.items[maxSteps]
  const offset = (isNode(first) ? first.range?.[0] : undefined) ?? steps.range?.[0] ?? 0
  const { line, col } = lines.linePos(offset)
  return {
    file,
    line,
    column: col,
    path: `steps[${maxSteps}]`,
    code: 'too_many_steps',
    message: `the flow has ${steps.items.length} steps; at most ${maxSteps} are allowed (this is step ${maxSteps + 1})`,
    fix: 'split the flow into smaller flows, or loop with goto over fewer steps; the server limit is GREENLIGHT_MAX_FLOW_STEPS',
  }
}

/** Only reachable if every schema issue was filtered out as a duplicate; the result must still say something. */
const UNEXPLAINED = rootProblem('invalid_value', 'the flow does not match the flow schema', 'check it in your editor')

function rootProblem(code: string, message: string, fix: string): PendingProblem {
  return { path: [], target: 'value', code, message, fix }
}

function toData(doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (error) {
    // Thrown for alias "billion laughs" documents; anything else is a bug the outer boundary reports.
    if (error instanceof ReferenceError) return new Error(`too many aliases: ${error.message}`)
    throw error
  }
}

function notAMap(data: unknown): PendingProblem {
  if (data === null || data === undefined) {
    return rootProblem('empty_flow', 'the file holds no flow', 'start with slug:, name: and steps:')
  }
  const got = Array.isArray(data) ? 'a list' : `a single ${typeof data} value`
  const message = `a flow is a map of keys (slug, steps, …), got ${got}`
  return rootProblem('invalid_type', message, 'write the flow as key: value lines, e.g. slug: my_flow')
}

function yamlProblem(error: YAMLError, lines: LineCounter, file: string): FlowProblem {
  const position = error.linePos?.[0] ?? lines.linePos(error.pos[0])
  return {
    file,
    line: Math.max(1, position.line),
    column: Math.max(1, position.col),
    path: '',
    code: 'yaml_syntax',
    message: error.message.split('\n')[0] || 'invalid YAML',
    fix: YAML_FIXES[error.code] ?? 'fix the YAML syntax at this position',
  }
}

const YAML_FIXES: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'align this line with the other keys at its level (spaces only)',
  MISSING_CHAR: 'add the missing closing quote or bracket',
  MULTIPLE_DOCS: 'keep one flow per file: remove the extra ---',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation and that each key is followed by ": "',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing ": " or quote',
  UNEXPECTED_TOKEN: 'quote the value if it contains : # { } [ ] or starts with a quote',
  BAD_SCALAR_START: 'quote the value: it starts with a character YAML reserves',
  BAD_DQ_ESCAPE: 'escape the backslash as \\\\ or use single quotes',
  BAD_ALIAS: 'define the anchor (&name) before using *name',
  RESOURCE_EXHAUSTION: 'nest fewer levels deep',
}

/** YAML reads an unquoted `{{ x }}` as a nested map; say so instead of "expected a string, got a map". */
function explainUnquotedTemplate(problem: PendingProblem, locator: YamlLocator): PendingProblem {
  if (problem.code !== 'invalid_type' || !problem.message.startsWith('expected a string')) return problem
  const raw = locator.sourceOf(problem.path)
  if (raw === undefined || !raw.trimStart().startsWith('{{')) return problem
  return {
    ...problem,
    code: 'unquoted_template',
    message: 'a value starting with {{ must be quoted, or YAML reads it as a map',
    fix: `quote it: "${raw.trim().replaceAll('"', '\\"')}"`,
  }
}

function locate(problem: PendingProblem, locator: YamlLocator, file: string): FlowProblem {
  const { target, path } = problem
  const position =
    target === 'key'
      ? locator.key(path)
      : target === 'missing'
        ? locator.missing(path)
        : target === 'value'
          ? locator.value(path)
          : 'source' in target
            ? locator.at(target.source)
            : locator.inString(path, target.offset)
  return { file, ...position, path: formatPath(path), code: problem.code, message: problem.message, fix: problem.fix }
}

/** Drops exact repeats, and "missing step kind" where the step has an unknown key (most likely a misspelt kind). */
function dedupe(problems: PendingProblem[]): PendingProblem[] {
  const seen = new Set<string>()
  const unknownKeyParents = new Set(
    problems.filter((p) => p.code === 'unknown_key').map((p) => formatPath(p.path.slice(0, -1))),
  )
  return problems.filter((problem) => {
    if (problem.code === 'missing_step_kind' && unknownKeyParents.has(formatPath(problem.path))) return false
    const key = `${formatPath(problem.path)}|${problem.code}|${problem.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Sorted and capped: locating is linear in the size of each map, so thousands of bad keys would be slow to place. */
function report(problems: PendingProblem[], place: (problem: PendingProblem) => FlowProblem): FlowProblem[] {
  const shown = sortProblems(problems.slice(0, MAX_PROBLEMS).map(place))
  const hidden = problems.length - shown.length
  if (hidden > 0) {
    const more = `${hidden} more problem(s) not shown`
    shown.push(place(rootProblem('too_many_problems', more, 'fix these and validate again')))
  }
  return shown
}

function sortProblems(problems: FlowProblem[]): FlowProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column)
}

function failAt(file: string, code: string, message: string, fix: string): FlowValidationResult {
  return { ok: false, problems: [{ file, line: 1, column: 1, path: '', code, message, fix }] }
}
