// Which strings in a step kind's settings are templates. The validator checks exactly these, and the engine
// evaluates exactly these; every other string (a wait's JSON Schema, an http connection name) is used as written.
import type { StepKind } from './model.ts'

/** Fields of each step kind whose strings are templates; other strings are used literally. */
export const TEMPLATED_FIELDS: Record<StepKind, readonly string[]> = {
  http: ['url', 'path', 'headers', 'query', 'json', 'body'],
  ssh: ['command', 'env', 'cwd'],
  wait: ['default', 'notify'],
  approval: ['message', 'diff', 'attachments', 'approvers'],
  input: ['assignees', 'message'],
  notify: ['text', 'blocks', 'channel', 'dm'],
  sleep: ['until'],
  kv: ['key', 'value'],
  db: ['params'],
  transform: [],
  job: ['payload'],
  llm: ['model', 'system', 'prompt', 'messages'],
  search: ['query', 'flow'],
  flow: ['inputs'],
}

/** Fields of an input step's form fields that are templates. */
export const TEMPLATED_INPUT_FIELD_KEYS: readonly string[] = ['label', 'options', 'default']

/** Whether the string at `path` (from the kind's settings) is a template. */
export function isTemplatedField(kind: StepKind, path: readonly (string | number)[]): boolean {
  const [key, index, field] = path
  // An approval's edit fields: only each field's value is a template (`edit.fields.<name>.value`).
  if (kind === 'approval' && key === 'edit') return index === 'fields' && path[3] === 'value' && path.length === 4
  if (kind === 'input' && key === 'fields')
    return typeof index === 'number' && TEMPLATED_INPUT_FIELD_KEYS.includes(String(field))
  return typeof key === 'string' && TEMPLATED_FIELDS[kind].includes(key)
}
