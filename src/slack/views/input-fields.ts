// Form fields for modals: one input block per field, and reading a view_submission's state back into typed values.
import { type Block, type Element, LIMITS, type Option, plain } from './blocks.ts'
import { truncate } from './mrkdwn.ts'

export type FieldKind = 'text' | 'textarea' | 'number' | 'integer' | 'select' | 'user' | 'channel' | 'json'

export interface FieldModel {
  /** The input block's id; errors in a `response_action: 'errors'` ack are keyed by it. */
  blockId: string
  /** The key of the value in the result. */
  key: string
  label: string
  kind: FieldKind
  required: boolean
  hint?: string
  /** Choices of a select; the element carries each choice's index, so any value (and any length) round-trips. */
  options?: readonly { label: string; value: unknown }[]
  /** For json fields: the shape the value must have. */
  jsonType?: 'object' | 'array'
  initial?: unknown
}

/** Every field's element uses this action_id. */
export const FIELD_ACTION = 'value'

export type SubmissionResult =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; errors: Record<string, string> }

function selectOptions(field: FieldModel): { options: Option[]; initial?: Option } {
  const options = (field.options ?? []).slice(0, LIMITS.options).map((o, i) => ({
    text: plain(truncate(o.label, LIMITS.optionText)),
    value: String(i),
  }))
  const wanted = JSON.stringify(field.initial)
  const index = (field.options ?? []).findIndex((o) => JSON.stringify(o.value) === wanted)
  const initial = index >= 0 ? options[index] : undefined
  return initial === undefined ? { options } : { options, initial }
}

function initialText(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return truncate(value, 3000)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

function element(field: FieldModel): Element {
  const e: Element = { type: 'plain_text_input', action_id: FIELD_ACTION }
  const initial = field.initial
  switch (field.kind) {
    case 'text':
    case 'textarea': {
      if (field.kind === 'textarea') e.multiline = true
      const text = initialText(initial)
      if (text !== undefined) e.initial_value = text
      return e
    }
    case 'json': {
      e.multiline = true
      const text = initial === undefined ? undefined : JSON.stringify(initial, null, 2)
      // A cut JSON text would not parse, so a large initial value is left out rather than shortened.
      if (text !== undefined && text.length <= 3000) e.initial_value = text
      return e
    }
    case 'number':
    case 'integer': {
      const n: Element = { type: 'number_input', action_id: FIELD_ACTION, is_decimal_allowed: field.kind === 'number' }
      if (typeof initial === 'number' && Number.isFinite(initial)) n.initial_value = String(initial)
      return n
    }
    case 'select': {
      const { options, initial: chosen } = selectOptions(field)
      const s: Element = { type: 'static_select', action_id: FIELD_ACTION, placeholder: plain('Choose…'), options }
      if (chosen) s.initial_option = chosen
      return s
    }
    case 'user': {
      const u: Element = { type: 'users_select', action_id: FIELD_ACTION, placeholder: plain('Choose a person') }
      if (typeof initial === 'string' && /^[UW][A-Z0-9]+$/.test(initial)) u.initial_user = initial
      return u
    }
    case 'channel': {
      const c: Element = { type: 'channels_select', action_id: FIELD_ACTION, placeholder: plain('Choose a channel') }
      if (typeof initial === 'string' && /^C[A-Z0-9]+$/.test(initial)) c.initial_channel = initial
      return c
    }
  }
}

export function fieldBlock(field: FieldModel): Block {
  const block: Extract<Block, { type: 'input' }> = {
    type: 'input',
    block_id: field.blockId,
    label: plain(truncate(field.label, 2000)),
    element: element(field),
    optional: !field.required,
  }
  if (field.hint) block.hint = plain(truncate(field.hint, 2000))
  return block
}

interface FieldState {
  value?: string | null
  selected_option?: { value?: string } | null
  selected_user?: string | null
  selected_channel?: string | null
}

/** One field's submitted value: `undefined` when empty, or an error message for the user. */
function readOne(field: FieldModel, s: FieldState | undefined): { value?: unknown; error?: string } {
  const text = typeof s?.value === 'string' && s.value.trim() !== '' ? s.value : undefined
  switch (field.kind) {
    case 'text':
    case 'textarea':
      return { value: text }
    case 'number':
    case 'integer': {
      if (text === undefined) return {}
      const n = Number(text)
      if (!Number.isFinite(n)) return { error: 'Enter a number.' }
      if (field.kind === 'integer' && !Number.isSafeInteger(n)) return { error: 'Enter a whole number.' }
      return { value: n }
    }
    case 'json': {
      if (text === undefined) return {}
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        return { error: 'Enter valid JSON.' }
      }
      const isArray = Array.isArray(value)
      const isObject = typeof value === 'object' && value !== null && !isArray
      if (field.jsonType === 'array' && !isArray) return { error: 'Enter a JSON array, e.g. ["a", "b"].' }
      if (field.jsonType === 'object' && !isObject) return { error: 'Enter a JSON object, e.g. {"key": "value"}.' }
      return { value }
    }
    case 'select': {
      const picked = s?.selected_option?.value
      if (picked === undefined) return {}
      const option = field.options?.[Number(picked)]
      return option === undefined ? { error: 'Choose one of the options.' } : { value: option.value }
    }
    case 'user':
      return { value: s?.selected_user ?? undefined }
    case 'channel':
      return { value: s?.selected_channel ?? undefined }
  }
}

/** Reads `view.state.values` into `{ key: value }`, or errors keyed by block id for `response_action: 'errors'`. */
export function readFields(fields: readonly FieldModel[], stateValues: unknown): SubmissionResult {
  const state = (typeof stateValues === 'object' && stateValues !== null ? stateValues : {}) as Record<
    string,
    Record<string, FieldState> | undefined
  >
  const values: Record<string, unknown> = {}
  const errors: Record<string, string> = {}
  for (const field of fields) {
    const { value, error } = readOne(field, state[field.blockId]?.[FIELD_ACTION])
    if (error !== undefined) errors[field.blockId] = error
    else if (value !== undefined && value !== null) values[field.key] = value
    else if (field.required) errors[field.blockId] = 'This field is required.'
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, values }
}
