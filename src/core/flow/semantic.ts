// Cross-field checks a schema cannot express: unique ids, goto targets, templates, connections, trigger inputs.
import { checkDbSql } from './db-model.ts'
import { checkLlmSchema } from './llm-model.ts'
import { STEP_KINDS, type StepKind } from './model.ts'
import { didYouMean } from './suggest.ts'
import {
  type CheckOutput,
  checkCondition,
  checkTemplatesIn,
  checkTransform,
  type FlowFacts,
  warnLiteralTemplates,
} from './template-checks.ts'
import { TEMPLATED_FIELDS, TEMPLATED_INPUT_FIELD_KEYS } from './template-fields.ts'
import type { Path } from './yaml-locate.ts'
import { isRecord } from './zod-issues.ts'

/** Runs every check on the parsed YAML, whatever its shape: each check looks only at values of the type it expects. */
export function checkSemantics(data: Record<string, unknown>): CheckOutput {
  const out: CheckOutput = { errors: [], warnings: [] }
  const steps = Array.isArray(data.steps) ? data.steps : []
  const facts = collectFacts(data, steps)
  checkStepIds(steps, out)
  steps.forEach((step, index) => {
    if (!isRecord(step)) return
    const path = ['steps', index]
    checkGotos(step, path, facts, out)
    checkStepTemplates(step, path, facts, out)
    checkStepTimeouts(step, path, out)
    checkHttpBody(step, path, out)
    checkDbSql(step, path, out)
    checkLlmSchema(step, path, out)
  })
  checkConnections(data, steps, out)
  checkFlowTemplates(data, facts, out)
  checkTriggerInputs(data, out)
  return out
}

function collectFacts(data: Record<string, unknown>, steps: unknown[]): FlowFacts {
  const ids = new Map<string, string | undefined>()
  for (const step of steps) {
    if (isRecord(step) && typeof step.id === 'string' && !ids.has(step.id)) {
      ids.set(
        step.id,
        STEP_KINDS.find((kind) => step[kind] !== undefined),
      )
    }
  }
  return { steps: ids, inputs: new Set(isRecord(data.inputs) ? Object.keys(data.inputs) : []) }
}

function checkStepIds(steps: unknown[], out: CheckOutput): void {
  const first = new Map<string, number>()
  steps.forEach((step, index) => {
    if (!isRecord(step) || typeof step.id !== 'string') return
    const earlier = first.get(step.id)
    if (earlier === undefined) first.set(step.id, index)
    else {
      out.errors.push({
        path: ['steps', index, 'id'],
        target: 'value',
        code: 'duplicate_step_id',
        message: `step id '${step.id}' is already used by steps[${earlier}]`,
        fix: 'give each step its own id',
      })
    }
  })
}

function checkGotos(step: Record<string, unknown>, path: Path, facts: FlowFacts, out: CheckOutput): void {
  checkRoute(step.on_error, [...path, 'on_error'], facts, out)
  const approval = step.approval
  if (isRecord(approval) && isRecord(approval.on)) {
    for (const [outcome, route] of Object.entries(approval.on)) {
      checkRoute(route, [...path, 'approval', 'on', outcome], facts, out)
    }
  }
}

function checkRoute(route: unknown, path: Path, facts: FlowFacts, out: CheckOutput): void {
  if (!isRecord(route) || typeof route.goto !== 'string' || facts.steps.has(route.goto)) return
  const suggestion = didYouMean(route.goto, facts.steps.keys())
  out.errors.push({
    path: [...path, 'goto'],
    target: 'value',
    code: 'unknown_step',
    message: `goto '${route.goto}' names no step${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
    fix: suggestion ? `write goto: ${suggestion}` : `use one of: ${[...facts.steps.keys()].join(', ')}`,
  })
}

function checkStepTemplates(step: Record<string, unknown>, path: Path, facts: FlowFacts, out: CheckOutput): void {
  for (const [key, value] of Object.entries(step)) {
    const at = [...path, key]
    if (key === 'if' && typeof value === 'string') checkCondition(value, at, facts, out)
    else if (key === 'transform') checkTransformValue(value, at, facts, out)
    else if ((STEP_KINDS as readonly string[]).includes(key) && isRecord(value)) {
      checkKindTemplates(key as StepKind, value, at, facts, out)
    } else warnLiteralTemplates(value, at, out)
  }
}

function checkTransformValue(value: unknown, path: Path, facts: FlowFacts, out: CheckOutput): void {
  if (typeof value === 'string') checkTransform(value, path, facts, out)
  else if (isRecord(value) && typeof value.expr === 'string') checkTransform(value.expr, [...path, 'expr'], facts, out)
}

function checkKindTemplates(
  kind: StepKind,
  body: Record<string, unknown>,
  path: Path,
  facts: FlowFacts,
  out: CheckOutput,
) {
  for (const [key, value] of Object.entries(body)) {
    const at = [...path, key]
    if (kind === 'input' && key === 'fields' && Array.isArray(value)) checkInputFields(value, at, facts, out)
    else if (kind === 'approval' && key === 'edit' && isRecord(value)) checkEditFields(value, at, facts, out)
    else if (TEMPLATED_FIELDS[kind].includes(key)) checkTemplatesIn(value, at, 'step', facts, out)
    else if (kind === 'db' && key === 'sql')
      continue // a template there is an error (checkDbSql)
    else if (!JSON_SCHEMA_FIELDS.has(`${kind}.${key}`)) warnLiteralTemplates(value, at, out)
  }
}

/** JSON Schemas are data: text in them that looks like a template is kept as written, without a warning. */
const JSON_SCHEMA_FIELDS = new Set(['wait.schema', 'llm.json_schema'])

function checkInputFields(fields: unknown[], path: Path, facts: FlowFacts, out: CheckOutput): void {
  fields.forEach((field, index) => {
    if (!isRecord(field)) return
    for (const [key, value] of Object.entries(field)) {
      const at = [...path, index, key]
      if (TEMPLATED_INPUT_FIELD_KEYS.includes(key)) checkTemplatesIn(value, at, 'step', facts, out)
      else warnLiteralTemplates(value, at, out)
    }
  })
}

/** An approval's `edit.fields.<name>.value` are templates; the rest of `edit` is written literally. */
function checkEditFields(edit: Record<string, unknown>, path: Path, facts: FlowFacts, out: CheckOutput): void {
  const fields = edit.fields
  if (!isRecord(fields)) return
  for (const [name, field] of Object.entries(fields)) {
    if (!isRecord(field)) continue
    for (const [key, value] of Object.entries(field)) {
      const at = [...path, 'fields', name, key]
      if (key === 'value') checkTemplatesIn(value, at, 'step', facts, out)
      else warnLiteralTemplates(value, at, out)
    }
  }
}

function checkStepTimeouts(step: Record<string, unknown>, path: Path, out: CheckOutput): void {
  if (step.timeout === undefined) return
  for (const kind of ['ssh', 'wait', 'approval', 'input', 'job'] as const) {
    const body = step[kind]
    if (isRecord(body) && body.timeout !== undefined) {
      out.warnings.push({
        path: [...path, 'timeout'],
        target: 'value',
        code: 'conflicting_timeout',
        message:
          kind === 'ssh'
            ? 'both the step timeout and ssh.timeout are set; ssh.timeout bounds the command and the step timeout bounds each attempt'
            : `both the step timeout and ${kind}.timeout are set; ${kind}.timeout bounds the wait and the step timeout is not used`,
        fix: `keep only ${kind}.timeout unless you mean both`,
      })
    }
  }
}

function checkHttpBody(step: Record<string, unknown>, path: Path, out: CheckOutput): void {
  const http = step.http
  if (!isRecord(http) || (http.json === undefined && http.body === undefined)) return
  const method = http.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD') {
    out.warnings.push({
      path: [...path, 'http', http.method === undefined ? (http.json === undefined ? 'body' : 'json') : 'method'],
      target: 'value',
      code: 'body_with_get',
      message: `a ${method} request with a body; many servers ignore it`,
      fix: 'set method: POST (or PUT/PATCH)',
    })
  }
}

/** A connection a step uses but `requires` does not list is only discovered missing mid-run; say so up front. */
function checkConnections(data: Record<string, unknown>, steps: unknown[], out: CheckOutput): void {
  const requires = isRecord(data.requires) && Array.isArray(data.requires.connections) ? data.requires.connections : []
  steps.forEach((step, index) => {
    if (!isRecord(step)) return
    for (const kind of ['http', 'ssh', 'llm', 'db'] as const) {
      const body = step[kind]
      if (!isRecord(body) || typeof body.connection !== 'string' || requires.includes(body.connection)) continue
      out.warnings.push({
        path: ['steps', index, kind, 'connection'],
        target: 'value',
        code: 'unlisted_connection',
        message: `connection '${body.connection}' is not listed in requires.connections, so it is not checked before runs start`,
        fix: `add it: requires: { connections: [${[...requires, body.connection].join(', ')}] }`,
      })
    }
  })
}

function checkFlowTemplates(data: Record<string, unknown>, facts: FlowFacts, out: CheckOutput): void {
  const concurrency = data.concurrency
  if (isRecord(concurrency)) checkTemplatesIn(concurrency.key, ['concurrency', 'key'], 'concurrency', facts, out)
  const triggers = isRecord(data.triggers) ? data.triggers : {}
  const webhook = triggers.webhook
  if (isRecord(webhook)) {
    checkTemplatesIn(webhook.inputs, ['triggers', 'webhook', 'inputs'], 'webhook', facts, out)
    checkTemplatesIn(webhook.dedupe, ['triggers', 'webhook', 'dedupe'], 'webhook', facts, out)
  }
  for (const [schedule, path] of schedules(triggers)) {
    checkTemplatesIn(schedule.inputs, [...path, 'inputs'], 'schedule', facts, out)
  }
}

function schedules(triggers: Record<string, unknown>): [Record<string, unknown>, Path][] {
  const value = triggers.schedule
  if (isRecord(value)) return [[value, ['triggers', 'schedule']]]
  if (!Array.isArray(value)) return []
  return value.flatMap((item, index) => (isRecord(item) ? [[item, ['triggers', 'schedule', index]]] : []))
}

/** Triggered runs have nobody to fill a modal, so their inputs must cover the required ones. */
function checkTriggerInputs(data: Record<string, unknown>, out: CheckOutput): void {
  const declared = isRecord(data.inputs) ? data.inputs : {}
  const triggers = isRecord(data.triggers) ? data.triggers : {}
  const sources: [Record<string, unknown>, Path][] = schedules(triggers)
  if (isRecord(triggers.webhook)) sources.push([triggers.webhook, ['triggers', 'webhook']])
  for (const [trigger, path] of sources) {
    const given = isRecord(trigger.inputs) ? trigger.inputs : {}
    for (const name of Object.keys(given)) {
      if (Object.hasOwn(declared, name)) continue
      const suggestion = didYouMean(name, Object.keys(declared))
      out.warnings.push({
        path: [...path, 'inputs', name],
        target: 'key',
        code: 'unknown_input',
        message: `input '${name}' is not declared${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
        fix: suggestion ? `rename it to ${suggestion}` : `declare it under inputs:`,
      })
    }
    for (const [name, definition] of Object.entries(declared)) {
      if (!isRecord(definition) || definition.required !== true || definition.default !== undefined) continue
      if (Object.hasOwn(given, name)) continue
      out.warnings.push({
        path: [...path, 'inputs'],
        target: isRecord(trigger.inputs) ? 'value' : 'missing',
        code: 'missing_trigger_input',
        message: `required input '${name}' is not set by this trigger, so its runs will fail`,
        fix: `add inputs: { ${name}: … } to the trigger, or give the input a default`,
      })
    }
  }
}
