// Modals that collect values: an `input` step's form, and the missing required inputs of `/gl run`.
import { CALLBACK } from './actions.ts'
import { type Block, context, LIMITS, type ModalView, plain, section } from './blocks.ts'
import { type FieldModel, fieldBlock, readFields, type SubmissionResult } from './input-fields.ts'
import { code, escapeMrkdwn, flowRef, stripControl, truncate, truncateMrkdwn } from './mrkdwn.ts'

export type InputFieldType = 'text' | 'textarea' | 'number' | 'select' | 'user' | 'channel'

/** A field of an `input` step, as the flow declares it. */
export interface InputFieldSpec {
  id: string
  label: string
  type?: InputFieldType
  required?: boolean
  options?: readonly (string | { label: string; value: string })[]
  default?: unknown
}

export interface InputModalInput {
  waitId: string
  stepId: string
  stepName?: string
  /** The step's `message` (flow-authored mrkdwn), shown above the fields. */
  message?: string | null
  fields: readonly InputFieldSpec[]
  /** Values to prefill over the fields' defaults (e.g. from an earlier, refused submission). */
  values?: Record<string, unknown>
}

/** Room for the intro section and a "more fields" note. */
const FIELDS_MAX = LIMITS.viewBlocks - 2

const stepFieldModel = (f: InputFieldSpec, values: Record<string, unknown> | undefined): FieldModel => {
  const model: FieldModel = {
    blockId: `f_${f.id}`,
    key: f.id,
    label: f.label,
    kind: f.type ?? 'text',
    required: f.required ?? false,
    initial: values?.[f.id] ?? f.default,
  }
  if (f.options) model.options = f.options.map((o) => (typeof o === 'string' ? { label: o, value: o } : o))
  return model
}

function fieldBlocks(fields: readonly FieldModel[], max: number, more: string): Block[] {
  const blocks = fields.slice(0, max).map(fieldBlock)
  if (fields.length > max) blocks.push(context(`${fields.length - max} more fields are not shown. ${more}`))
  return blocks
}

/** The `input` step's form: callback_id `gl_input`, private_metadata `{"wait":"…"}`. */
export function inputModal(input: InputModalInput): ModalView {
  const fields = input.fields.map((f) => stepFieldModel(f, input.values))
  const intro = input.message ? truncateMrkdwn(stripControl(input.message).trim(), LIMITS.sectionText) : ''
  const blocks = [
    ...(intro === '' ? [] : [section(intro)]),
    ...fieldBlocks(fields, FIELDS_MAX, 'Complete this step with `greenlight waits complete`.'),
  ]
  return {
    type: 'modal',
    callback_id: CALLBACK.input,
    title: plain(truncate(input.stepName ?? input.stepId, LIMITS.modalTitle)),
    submit: plain('Submit'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify({ wait: input.waitId }),
    blocks,
  }
}

/** Reads a `gl_input` submission into the step's values. */
export function readInputSubmission(fields: readonly InputFieldSpec[], stateValues: unknown): SubmissionResult {
  return readFields(
    fields.map((f) => stepFieldModel(f, undefined)),
    stateValues,
  )
}

/** A flow input, as the flow declares it (`inputs:`). */
export interface RunInputSpec {
  name: string
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array'
  required?: boolean
  description?: string
  default?: unknown
  enum?: readonly (string | number | boolean)[]
}

export interface RunInputsFlow {
  slug: string
  name?: string
  version?: number | null
  draft?: boolean
}

function runFieldModel(spec: RunInputSpec): FieldModel {
  const base = {
    blockId: `in_${spec.name}`,
    key: spec.name,
    label: spec.name,
    required: spec.required ?? false,
    initial: spec.default,
    ...(spec.description ? { hint: spec.description } : {}),
  }
  if (spec.enum) return { ...base, kind: 'select', options: spec.enum.map((v) => ({ label: String(v), value: v })) }
  switch (spec.type ?? 'string') {
    case 'boolean':
      return { ...base, kind: 'select', options: [true, false].map((v) => ({ label: String(v), value: v })) }
    case 'integer':
      return { ...base, kind: 'integer' }
    case 'number':
      return { ...base, kind: 'number' }
    case 'object':
      return { ...base, kind: 'json', jsonType: 'object', hint: spec.description ?? 'A JSON object' }
    case 'array':
      return { ...base, kind: 'json', jsonType: 'array', hint: spec.description ?? 'A JSON array' }
    default:
      return { ...base, kind: 'text' }
  }
}

function givenLine(given: Record<string, unknown>): string {
  const parts = Object.entries(given).map(
    ([k, v]) => `${code(k)} = ${escapeMrkdwn(truncate(typeof v === 'string' ? v : JSON.stringify(v), 100))}`,
  )
  return truncateMrkdwn(`Given: ${parts.join(', ')}`, 2000)
}

/**
 * The modal `/gl run` opens when required inputs are missing: callback_id `gl_run_inputs`, private_metadata
 * `{"flow","draft","given","channel"}` so the submission can start the run with every value.
 */
export function runInputsModal(
  flow: RunInputsFlow,
  missing: readonly RunInputSpec[],
  given: Record<string, unknown>,
  options: { channel?: string } = {},
): ModalView {
  const metadata = JSON.stringify({ flow: flow.slug, draft: flow.draft ?? false, given, channel: options.channel })
  const title = plain(truncate(`Run ${flow.slug}`, LIMITS.modalTitle))
  const ref =
    flow.draft || typeof flow.version === 'number'
      ? flowRef(flow.slug, flow.draft ? null : (flow.version ?? null))
      : flow.slug
  const about = `${flow.name ? `*${escapeMrkdwn(truncate(stripControl(flow.name), 150))}* · ` : ''}${code(ref)}`
  if (metadata.length > LIMITS.privateMetadata) {
    // The given values cannot travel with the form; say so rather than start a run without them.
    return {
      type: 'modal',
      callback_id: CALLBACK.runInputs,
      title,
      close: plain('Close'),
      blocks: [
        section(about),
        section(
          'The inputs you gave are too long to carry through a form. Pass every input on the command line, or use `greenlight runs start`.',
        ),
      ],
    }
  }
  const intro = [section(`${about}\nThese inputs are required to start the run.`)]
  if (Object.keys(given).length > 0) intro.push(context(givenLine(given)))
  return {
    type: 'modal',
    callback_id: CALLBACK.runInputs,
    title,
    submit: plain('Start run'),
    close: plain('Cancel'),
    private_metadata: metadata,
    blocks: [...intro, ...fieldBlocks(missing.map(runFieldModel), FIELDS_MAX - 1, 'Use `greenlight runs start`.')],
  }
}

/** Reads a `gl_run_inputs` submission into typed input values (to merge over the metadata's `given`). */
export function readRunInputsSubmission(missing: readonly RunInputSpec[], stateValues: unknown): SubmissionResult {
  return readFields(missing.map(runFieldModel), stateValues)
}
