// A flow revision compiled once: step lookup, next-step order, and every expression parsed ahead of the first run.
import {
  type CompiledTemplate,
  type CompiledValue,
  compileTemplate,
  compileTransform,
  compileValue,
  type FlowDefinition,
  type FlowInputDefinition,
  isTemplatedField,
  matchesInputType,
  type StepDefinition,
  type StepKind,
  stepKind,
} from '../core/flow/index.ts'
import { transformSource } from '../core/flow/steps-model.ts'
import { AppError } from '../errors.ts'

export interface CompiledStep {
  id: string
  index: number
  kind: StepKind
  def: StepDefinition
  /** The kind's configuration with the {{ }} of its template fields compiled. */
  config: CompiledValue
  condition: CompiledTemplate | undefined
  transform: CompiledTemplate | undefined
}

export interface CompiledFlow {
  definition: FlowDefinition
  steps: CompiledStep[]
  step(id: string): CompiledStep
  /** The step after `id` in file order, or null at the end. */
  next(id: string): string | null
  concurrencyKey: CompiledTemplate | undefined
}

export function compileFlow(definition: FlowDefinition): CompiledFlow {
  const steps = definition.steps.map((def, index): CompiledStep => {
    const kind = stepKind(def)
    const raw = (def as Record<string, unknown>)[kind]
    const transform = kind === 'transform' ? compileTransform(transformSource(raw as never)) : undefined
    return {
      id: def.id,
      index,
      kind,
      def,
      // Only the kind's template fields are evaluated, as the validator checks them; other strings stay as written.
      config: compileValue(kind === 'transform' ? null : raw, (path) => isTemplatedField(kind, path)),
      condition: def.if === undefined ? undefined : compileTemplate(def.if),
      transform,
    }
  })
  const byId = new Map(steps.map((s) => [s.id, s]))
  return {
    definition,
    steps,
    step(id) {
      const found = byId.get(id)
      if (!found) throw new AppError('unknown_step', `The flow has no step '${id}'.`)
      return found
    },
    next(id) {
      const current = byId.get(id)
      return current ? (steps[current.index + 1]?.id ?? null) : null
    },
    concurrencyKey: definition.concurrency?.key === undefined ? undefined : compileTemplate(definition.concurrency.key),
  }
}

/** Caches compiled revisions: expressions compile once per flow version. */
export function createFlowCache(load: (revisionId: number) => Promise<FlowDefinition>) {
  const cache = new Map<number, Promise<CompiledFlow>>()
  return (revisionId: number): Promise<CompiledFlow> => {
    let entry = cache.get(revisionId)
    if (!entry) {
      entry = load(revisionId).then(compileFlow)
      entry.catch(() => cache.delete(revisionId))
      cache.set(revisionId, entry)
    }
    return entry
  }
}

/** Applies defaults and checks run inputs against the flow's declarations; reports every problem at once. */
export function resolveInputs(
  declared: Record<string, FlowInputDefinition> | undefined,
  given: Record<string, unknown>,
): Record<string, unknown> {
  const problems: { input: string; message: string }[] = []
  const inputs: Record<string, unknown> = {}
  const declarations = declared ?? {}
  for (const [name, value] of Object.entries(given)) {
    if (!(name in declarations)) problems.push({ input: name, message: `'${name}' is not an input of this flow.` })
    else inputs[name] = value
  }
  for (const [name, def] of Object.entries(declarations)) {
    let value = inputs[name]
    if (value === undefined && def.default !== undefined) value = def.default
    if (value === undefined) {
      if (def.required) problems.push({ input: name, message: `'${name}' is required.` })
      continue
    }
    value = coerce(value, def.type)
    if (!matchesInputType(value, def.type))
      problems.push({ input: name, message: `'${name}' must be of type ${def.type}.` })
    else if (def.enum && !def.enum.includes(value as never)) {
      problems.push({
        input: name,
        message: `'${name}' must be one of ${def.enum.map((v) => JSON.stringify(v)).join(', ')}.`,
      })
    }
    inputs[name] = value
  }
  if (problems.length > 0) {
    throw new AppError('invalid_inputs', problems.map((p) => p.message).join(' '), {
      status: 422,
      hint: `Inputs: ${Object.keys(declarations).join(', ') || '(none)'}. Pass them as key=value.`,
      details: { problems },
    })
  }
  return inputs
}

/** Slash commands and `k=v` arguments arrive as text; read numbers and booleans where the flow declares them. */
function coerce(value: unknown, type: string): unknown {
  if (typeof value !== 'string') return value
  if ((type === 'integer' || type === 'number') && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value)
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true'
  if ((type === 'object' || type === 'array') && /^[[{]/.test(value.trim())) {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }
  return value
}
