// Schemas of the steps that wait on people in Slack: approval (quorum votes on an artifact) and input (a modal).
import { z } from 'zod'
import { parseDuration } from './duration.ts'
import { duration, help, people, route, stepId, template } from './model-common.ts'

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
      .object({ after: duration, to: people })
      .strict()
      .optional()
      .meta({ description: 'Add these people as voters and ping them after a delay.' }),
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
    const timeoutMs = parseDuration(approval.timeout ?? '') ?? Number.POSITIVE_INFINITY
    if (approval.escalate !== undefined && (parseDuration(approval.escalate.after) ?? 0) >= timeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalate', 'after'],
        message: 'escalate.after is not shorter than timeout, so the escalation would never fire',
        ...help('invalid_value', 'escalate before the timeout, e.g. after half of it'),
      })
    }
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
