// Schemas of the steps that wait on people in Slack: approval (quorum votes on an artifact) and input (a modal).
import { z } from 'zod'
import { parseDuration } from './duration.ts'
import { duration, help, type People, people, route, stepId, template } from './model-common.ts'

const attachment = z
  .object({
    title: z.string().min(1),
    content: z.unknown().meta({ description: 'Text, a res:// ref, or JSON (shown as JSON); strings may hold {{ }}.' }),
    format: z.enum(['text', 'markdown', 'json', 'diff', 'log']).default('text'),
  })
  .strict()

export const APPROVAL_OUTCOMES = ['approved', 'changes_requested', 'rejected', 'timed_out'] as const
export type ApprovalOutcome = (typeof APPROVAL_OUTCOMES)[number]

/** Where each outcome goes when `on:` does not say: approval continues, every other outcome fails the run. */
export const DEFAULT_APPROVAL_ROUTES = {
  approved: 'continue',
  changes_requested: 'fail',
  rejected: 'fail',
  timed_out: 'fail',
} as const satisfies Record<ApprovalOutcome, 'fail' | 'continue'>

const escalationLevel = z
  .object({ after: duration, to: people })
  .strict()
  .meta({ description: 'After this long (from when the approval opened), these people may vote too and are pinged.' })

export const EDIT_FIELD_TYPES = ['text', 'textarea'] as const
export type EditFieldType = (typeof EDIT_FIELD_TYPES)[number]
/** Fields an approval may offer for editing: each is a form input in Slack, and its value part of the digest. */
export const MAX_EDIT_FIELDS = 10
/** Characters an edit field's value may hold, as written, rendered, or edited. */
export const MAX_EDIT_VALUE_CHARS = 20_000
/** Characters all edit fields of one approval may hold together: the step output stays well under the size at which
 * outputs become resources (256 KiB by default), so `output.edited.<name>.value` is always the text itself. */
export const MAX_EDIT_TOTAL_CHARS = 60_000

const editField = z
  .object({
    type: z.enum(EDIT_FIELD_TYPES).default('text').meta({ description: 'text: one line; textarea: several.' }),
    label: z.string().min(1).max(100).optional().meta({ description: 'Shown above the field; default: its name.' }),
    value: z
      .string()
      .max(MAX_EDIT_VALUE_CHARS)
      .meta({ description: 'The draft approvers may correct (a template), e.g. "{{ steps.draft.output.text }}".' }),
  })
  .strict()

const approvalEdit = z
  .object({
    fields: z
      .record(stepId, editField)
      .meta({ description: 'Editable values by name (output.edited.<name>); names like step ids.' }),
  })
  .strict()
  .meta({
    description:
      'Approve with edits: approvers may correct these values before approving; the digest covers them and the ' +
      'output carries edited.<name>: { value, was_edited }.',
  })

/** The escalation levels of an approval, a single `{after, to}` being a ladder of one. */
export function escalationLadder(escalate: ApprovalStep['escalate']): { after: string; to: People }[] {
  return escalate === undefined ? [] : Array.isArray(escalate) ? escalate : [escalate]
}

export const approvalStep = z
  .object({
    message: template('Request text (Slack mrkdwn) shown above the diff and buttons.'),
    diff: template('Unified diff to review: a string or a res:// ref.').optional(),
    attachments: z.array(attachment).optional(),
    approvers: people
      .extend({ channel: z.string().min(1).optional().meta({ description: 'Members of this channel may vote.' }) })
      .strict()
      .optional()
      .meta({ description: "Eligible voters; default: members of the run's channel." }),
    required: z.number().int().min(1).max(50).default(1).meta({ description: 'Distinct approvals needed (quorum).' }),
    allow_self_approval: z.boolean().default(false).meta({ description: 'Let the run initiator vote.' }),
    timeout: duration.optional().meta({ description: 'Outcome timed_out after this long; default: no timeout.' }),
    remind_every: duration.optional(),
    escalate: z
      .union([escalationLevel, z.array(escalationLevel).min(1).max(10)], {
        error: 'expected { after, to } or a list of such levels',
      })
      .optional()
      .meta({
        description:
          'Add these people as voters and ping them after a delay; a list is a ladder, each level after the last.',
      }),
    edit: approvalEdit.optional(),
    on: z
      .object(
        Object.fromEntries(APPROVAL_OUTCOMES.map((outcome) => [outcome, route.optional()])) as Record<
          ApprovalOutcome,
          z.ZodOptional<typeof route>
        >,
      )
      .strict()
      .optional()
      .meta({ description: 'Route per outcome; default approved: continue, others: fail.' }),
  })
  .strict()
  .superRefine((approval, ctx) => {
    const { users, usergroups, channel } = approval.approvers ?? {}
    // Only a plain user list has a known size; groups and channels are resolved at run time.
    if (users !== undefined && usergroups === undefined && channel === undefined && approval.required > users.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `required is ${approval.required} but only ${users.length} approver(s) are listed`,
        ...help('invalid_value', `lower required to ${users.length} or add approvers`),
      })
    }
    const editFields = Object.keys(approval.edit?.fields ?? {}).length
    if (approval.edit !== undefined && (editFields === 0 || editFields > MAX_EDIT_FIELDS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['edit', 'fields'],
        message:
          editFields === 0
            ? 'edit needs at least one field'
            : `edit has ${editFields} fields; at most ${MAX_EDIT_FIELDS} are allowed`,
        ...help('invalid_value', editFields === 0 ? 'add a field, e.g. reply: { value: "…" }' : 'remove fields'),
      })
    }
    const editChars = Object.values(approval.edit?.fields ?? {}).reduce((sum, f) => sum + f.value.length, 0)
    if (editChars > MAX_EDIT_TOTAL_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['edit', 'fields'],
        message: `the edit fields hold ${editChars} characters together; at most ${MAX_EDIT_TOTAL_CHARS} are allowed`,
        ...help('invalid_value', 'shorten the values or show long text as the diff or an attachment'),
      })
    }
    const timeoutMs = parseDuration(approval.timeout ?? '') ?? Number.POSITIVE_INFINITY
    const ladder = Array.isArray(approval.escalate)
    let previous = 0
    escalationLadder(approval.escalate).forEach((level, index) => {
      const path = ladder ? ['escalate', index, 'after'] : ['escalate', 'after']
      const afterMs = parseDuration(level.after) ?? 0
      if (afterMs >= timeoutMs) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'escalate.after is not shorter than timeout, so the escalation would never fire',
          ...help('invalid_value', 'escalate before the timeout, e.g. after half of it'),
        })
      } else if (index > 0 && afterMs <= previous) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'each escalation level must come after the one before it',
          ...help('invalid_value', 'order the levels by their after, each later than the last'),
        })
      }
      previous = afterMs
    })
  })

const selectOption = z.union([z.string(), z.object({ label: z.string().min(1), value: z.string() }).strict()], {
  error: 'expected an option string or { label, value }',
})

export const INPUT_FIELD_TYPES = ['text', 'textarea', 'number', 'select', 'user', 'channel'] as const

const inputField = z
  .object({
    id: stepId.meta({ description: 'Key of the value in the step output.' }),
    label: z.string().min(1),
    type: z.enum(INPUT_FIELD_TYPES).default('text'),
    required: z.boolean().default(false),
    options: z.array(selectOption).min(1).optional().meta({ description: 'Choices of a select field.' }),
    default: z.unknown().optional(),
  })
  .strict()
  .superRefine((field, ctx) => {
    if (field.type === 'select' && field.options === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a select field needs options',
        ...help('missing_key', 'add options: [a, b]'),
      })
    }
    if (field.type !== 'select' && field.options !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['options'],
        message: 'options apply to select fields only',
        ...help('invalid_value', 'set type: select or remove options'),
      })
    }
  })

export const inputStep = z
  .object({
    fields: z.array(inputField).min(1, 'an input step needs at least one field'),
    assignees: people.optional().meta({ description: 'Who may fill the form; default: the run initiator.' }),
    timeout: duration.optional(),
    message: template('Text posted with the button that opens the form.').optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const seen = new Set<string>()
    input.fields.forEach((field, index) => {
      if (seen.has(field.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', index, 'id'],
          message: `field id '${field.id}' is used twice`,
          ...help('duplicate_field_id', 'give each field its own id'),
        })
      }
      seen.add(field.id)
    })
  })

export type ApprovalStep = z.infer<typeof approvalStep>
export type InputStep = z.infer<typeof inputStep>
export type InputField = z.infer<typeof inputField>
export type InputFieldType = (typeof INPUT_FIELD_TYPES)[number]
