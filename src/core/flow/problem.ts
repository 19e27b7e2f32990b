// The located, fixable problem every flow check reports, and its one-line rendering.
import type { Path } from './yaml-locate.ts'

export interface FlowProblem {
  file: string
  /** 1-based. */
  line: number
  /** 1-based, in UTF-16 code units like editors count. */
  column: number
  /** Where in the flow, e.g. `steps[2].approval.required`; empty for the document itself. */
  path: string
  /** Stable code, e.g. yaml_syntax, invalid_type, unknown_key, missing_key, duplicate_step_id, unknown_step. */
  code: string
  message: string
  /** What to change, in one sentence. */
  fix: string
}

/** A problem before it is placed in the source: which node, and whether to point at its key, value or a string offset. */
export interface PendingProblem {
  path: Path
  /** `offset`: a character inside the string at `path`; `source`: an absolute offset in the YAML text. */
  target: 'value' | 'key' | 'missing' | { offset: number } | { source: number }
  code: string
  message: string
  fix: string
}

/** `file:line:column path: message (fix)`; the document itself shows as `(flow)`. */
export function formatProblem(problem: FlowProblem): string {
  return `${problem.file}:${problem.line}:${problem.column} ${problem.path || '(flow)'}: ${problem.message} (${problem.fix})`
}

/** Renders a path as users write it: `steps[2].approval.required`, `inputs["odd key"]`. */
export function formatPath(path: Path): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}
