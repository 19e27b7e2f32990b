// Input modals: every field type with initial values, limits, metadata, and reading submissions back.
import { describe, expect, it } from 'vitest'
import { validateBlocks, validateView } from '../../../test/support/fake-slack/block-kit-limits.ts'
import { parseInputMetadata, parseRunInputsMetadata } from './actions.ts'
import type { Block, ModalView } from './blocks.ts'
import {
  type InputFieldSpec,
  inputModal,
  type RunInputSpec,
  readInputSubmission,
  readRunInputsSubmission,
  runInputsModal,
} from './input-modal.ts'

const FIELDS: InputFieldSpec[] = [
  { id: 'title', label: 'Title', type: 'text', required: true, default: 'Fix <bug> 🐛' },
  { id: 'notes', label: 'Notes', type: 'textarea' },
  { id: 'points', label: 'Points', type: 'number', default: 3 },
  {
    id: 'env',
    label: 'Environment',
    type: 'select',
    options: ['staging', { label: 'Production', value: 'prod' }],
    default: 'prod',
  },
  { id: 'owner', label: 'Owner', type: 'user', default: 'U0ADA' },
  { id: 'room', label: 'Channel', type: 'channel', required: true },
]

function expectOpenable(view: ModalView): void {
  expect(validateView(view)).toEqual([])
  expect(validateBlocks(view.blocks, 'modal')).toEqual([])
}

const inputs = (view: ModalView) =>
  view.blocks.filter((b): b is Extract<Block, { type: 'input' }> => b.type === 'input')

describe('inputModal', () => {
  it('renders each field type with its initial value and required flag', () => {
    const view = inputModal({
      waitId: 'wait_7',
      stepId: 'details',
      stepName: 'Tell us more about the incident',
      message: '*Please* fill in',
      fields: FIELDS,
    })
    expectOpenable(view)
    expect(view.callback_id).toBe('gl_input')
    expect(view.title.text).toBe('Tell us more about the …')
    expect(parseInputMetadata(view.private_metadata)).toEqual({ wait: 'wait_7' })
    expect(JSON.parse(view.private_metadata ?? '')).toEqual({ wait: 'wait_7' })
    const els = inputs(view).map((b) => [b.block_id, b.optional, b.element])
    expect(els).toEqual([
      ['f_title', false, { type: 'plain_text_input', action_id: 'value', initial_value: 'Fix <bug> 🐛' }],
      ['f_notes', true, { type: 'plain_text_input', action_id: 'value', multiline: true }],
      ['f_points', true, { type: 'number_input', action_id: 'value', is_decimal_allowed: true, initial_value: '3' }],
      [
        'f_env',
        true,
        expect.objectContaining({
          type: 'static_select',
          options: [
            { text: { type: 'plain_text', text: 'staging', emoji: true }, value: '0' },
            { text: { type: 'plain_text', text: 'Production', emoji: true }, value: '1' },
          ],
          initial_option: { text: { type: 'plain_text', text: 'Production', emoji: true }, value: '1' },
        }),
      ],
      ['f_owner', true, expect.objectContaining({ type: 'users_select', initial_user: 'U0ADA' })],
      ['f_room', false, expect.objectContaining({ type: 'channels_select' })],
    ])
  })

  it('reads a submission into typed values, and reports bad or missing values by block id', () => {
    const state = {
      f_title: { value: { type: 'plain_text_input', value: 'Hello' } },
      f_notes: { value: { type: 'plain_text_input', value: null } },
      f_points: { value: { type: 'number_input', value: '2.5' } },
      f_env: { value: { type: 'static_select', selected_option: { value: '1' } } },
      f_owner: { value: { type: 'users_select', selected_user: 'U9' } },
      f_room: { value: { type: 'channels_select', selected_channel: 'C1' } },
    }
    expect(readInputSubmission(FIELDS, state)).toEqual({
      ok: true,
      values: { title: 'Hello', points: 2.5, env: 'prod', owner: 'U9', room: 'C1' },
    })
    const bad = {
      ...state,
      f_points: { value: { value: 'abc' } },
      f_env: { value: { selected_option: { value: '9' } } },
      f_room: {},
    }
    expect(readInputSubmission(FIELDS, bad)).toEqual({
      ok: false,
      errors: { f_points: 'Enter a number.', f_env: 'Choose one of the options.', f_room: 'This field is required.' },
    })
  })

  it('stays within limits with 150 fields, 200 options and huge labels', () => {
    const many: InputFieldSpec[] = Array.from({ length: 150 }, (_, i) => ({
      id: `f${i}`,
      label: `${'Ünïcödé 🚀 <>& '.repeat(200)}`,
      type: 'select',
      options: Array.from({ length: 200 }, (_, j) => `${'option '.repeat(20)}${j}`),
      default: 'x'.repeat(5000),
    }))
    const view = inputModal({ waitId: 'w', stepId: 's', message: 'm'.repeat(10_000), fields: many })
    expectOpenable(view)
    expect(view.blocks).toHaveLength(100)
    expect(view.blocks.at(-1)).toMatchObject({ type: 'context' })
    const long = inputModal({ waitId: 'w', stepId: 's', fields: [{ id: 't', label: 'T', default: 'y'.repeat(9000) }] })
    expectOpenable(long)
  })
})

describe('runInputsModal', () => {
  const missing: RunInputSpec[] = [
    { name: 'repo', type: 'string', required: true, description: 'owner/name' },
    { name: 'issue', type: 'integer', required: true },
    { name: 'env', enum: ['staging', 'prod'], required: true, default: 'staging' },
    { name: 'dry_run', type: 'boolean', required: true },
    { name: 'labels', type: 'array', required: true },
  ]

  it('asks for the missing inputs and carries the given ones in private_metadata', () => {
    const view = runInputsModal(
      { slug: 'agent_fix', name: 'Agent fixes', version: 3 },
      missing,
      { note: 'hi <there>' },
      { channel: 'C1' },
    )
    expectOpenable(view)
    expect(view.callback_id).toBe('gl_run_inputs')
    expect(view.submit?.text).toBe('Start run')
    expect(inputs(view).map((b) => [b.block_id, b.element.type])).toEqual([
      ['in_repo', 'plain_text_input'],
      ['in_issue', 'number_input'],
      ['in_env', 'static_select'],
      ['in_dry_run', 'static_select'],
      ['in_labels', 'plain_text_input'],
    ])
    expect(JSON.stringify(view.blocks)).toContain('`note` = hi &lt;there&gt;')
    expect(parseRunInputsMetadata(view.private_metadata)).toEqual({
      flow: 'agent_fix',
      draft: false,
      given: { note: 'hi <there>' },
      channel: 'C1',
    })
  })

  it('reads typed values back and refuses malformed ones', () => {
    const state = {
      in_repo: { value: { value: 'acme/api' } },
      in_issue: { value: { value: '42' } },
      in_env: { value: { selected_option: { value: '1' } } },
      in_dry_run: { value: { selected_option: { value: '1' } } },
      in_labels: { value: { value: '["bug"]' } },
    }
    expect(readRunInputsSubmission(missing, state)).toEqual({
      ok: true,
      values: { repo: 'acme/api', issue: 42, env: 'prod', dry_run: false, labels: ['bug'] },
    })
    const bad = { ...state, in_issue: { value: { value: '4.2' } }, in_labels: { value: { value: '{"a":1}' } } }
    expect(readRunInputsSubmission(missing, bad)).toEqual({
      ok: false,
      errors: { in_issue: 'Enter a whole number.', in_labels: 'Enter a JSON array, e.g. ["a", "b"].' },
    })
  })

  it('explains instead of dropping given values that cannot fit the metadata', () => {
    const view = runInputsModal({ slug: 'f', draft: true }, missing, { blob: 'x'.repeat(4000) })
    expectOpenable(view)
    expect(view.submit).toBeUndefined()
    expect(view.private_metadata).toBeUndefined()
    expect(JSON.stringify(view.blocks)).toContain('too long to carry through a form')
  })
})
