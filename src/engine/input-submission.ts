// Refuses an input step's submission whose values do not fit its fields: 422 naming each field; the input stays open.

import { checkInputValues, type InputFieldRule } from '../core/flow/input-values.ts'
import { specOf } from '../core/wait-spec.ts'
import { AppError } from '../errors.ts'
import type { WaitRecord } from './run-ports.ts'

const isFieldRule = (value: unknown): value is InputFieldRule =>
  typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string'

/** The fields an open input was parked with (its spec, with templates evaluated), decoded once here. */
export function inputFieldsOf(wait: Pick<WaitRecord, 'kind' | 'spec'>): InputFieldRule[] {
  return wait.kind === 'input' ? specOf(wait, 'input').fields.filter(isFieldRule) : []
}

/** Throws `invalid_input_values` (422) for an input whose values do not fit; other kinds of wait pass. */
export function assertInputValues(wait: Pick<WaitRecord, 'kind' | 'spec'>, values: unknown): void {
  if (wait.kind !== 'input') return
  const checked = checkInputValues(inputFieldsOf(wait), values)
  if (checked.ok) return
  throw new AppError(
    'invalid_input_values',
    `The values do not fit the input's fields: ${checked.problems.map((p) => p.message).join(' ')}`,
    {
      status: 422,
      hint: 'Fix the fields listed in details.problems and submit again; the input stays open.',
      details: { problems: checked.problems },
    },
  )
}
