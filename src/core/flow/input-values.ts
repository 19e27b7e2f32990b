// The values submitted to an `input` step, checked against its fields: one rule for the API, the CLI and Slack.

export type InputValueType = 'text' | 'textarea' | 'number' | 'select' | 'user' | 'channel'

/** A field of an `input` step as the flow declares it (after its templates were evaluated). */
export interface InputFieldRule {
  id: string
  label?: string
  type?: InputValueType
  required?: boolean
  options?: readonly (string | { label: string; value: string })[]
}

export interface InputValueProblem {
  /** The field id (or the unknown key); empty when the values as a whole are wrong. */
  field: string
  code:
    | 'not_an_object'
    | 'unknown_field'
    | 'required'
    | 'invalid_type'
    | 'not_an_option'
    | 'invalid_user'
    | 'invalid_channel'
  message: string
}

export type InputValuesCheck =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; problems: InputValueProblem[] }

// Slack ids: users U…/W… (Enterprise Grid), conversations C…/G… (private, older)/D… (a DM).
const USER_ID = /^[UW][A-Z0-9]+$/
const CHANNEL_ID = /^[CGD][A-Z0-9]+$/

/** Left empty: absent, null, or text with nothing but whitespace (what an emptied Slack field sends). */
const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '')

const optionValues = (field: InputFieldRule): string[] =>
  (field.options ?? []).map((o) => (typeof o === 'string' ? o : o.value))

/** Why a value that is present does not fit its field, or undefined when it fits. */
function misfit(field: InputFieldRule, value: unknown): Omit<InputValueProblem, 'field'> | undefined {
  const name = `'${field.label ?? field.id}'`
  switch (field.type ?? 'text') {
    case 'text':
    case 'textarea':
      return typeof value === 'string' ? undefined : { code: 'invalid_type', message: `${name} must be text.` }
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : { code: 'invalid_type', message: `${name} must be a number.` }
    case 'select': {
      const allowed = optionValues(field)
      return typeof value === 'string' && allowed.includes(value)
        ? undefined
        : { code: 'not_an_option', message: `${name} must be one of: ${allowed.join(', ')}.` }
    }
    case 'user':
      return typeof value === 'string' && USER_ID.test(value)
        ? undefined
        : { code: 'invalid_user', message: `${name} must be a Slack user id such as U012ABCDEF.` }
    case 'channel':
      return typeof value === 'string' && CHANNEL_ID.test(value)
        ? undefined
        : { code: 'invalid_channel', message: `${name} must be a Slack channel id such as C012ABCDEF.` }
  }
}

/**
 * Checks submitted values against an input's fields: every key must be a field, every required field filled, and
 * every filled field of its type (a select's value one of its options). All problems are reported at once, in the
 * order of the fields, then the unknown keys.
 */
export function checkInputValues(fields: readonly InputFieldRule[], values: unknown): InputValuesCheck {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    return {
      ok: false,
      problems: [{ field: '', code: 'not_an_object', message: 'The values must be an object of field ids to values.' }],
    }
  }
  const given = values as Record<string, unknown>
  const problems: InputValueProblem[] = []
  for (const field of fields) {
    const value = Object.hasOwn(given, field.id) ? given[field.id] : undefined
    if (isEmpty(value)) {
      if (field.required)
        problems.push({ field: field.id, code: 'required', message: `'${field.label ?? field.id}' is required.` })
      continue
    }
    const wrong = misfit(field, value)
    if (wrong) problems.push({ field: field.id, ...wrong })
  }
  const ids = new Set(fields.map((f) => f.id))
  for (const key of Object.keys(given)) {
    if (ids.has(key)) continue
    problems.push({
      field: key,
      code: 'unknown_field',
      message: `'${key}' is not a field of this input (fields: ${[...ids].join(', ')}).`,
    })
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values: given }
}
