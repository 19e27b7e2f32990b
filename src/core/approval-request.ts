// What an agent sends to ask people for an ad-hoc approval: one schema for the API, the MCP tool and the CLI.
import { z } from 'zod'
import { EDIT_FIELD_TYPES, MAX_EDIT_FIELDS, MAX_EDIT_VALUE_CHARS } from './flow/human-steps-model.ts'
import { duration, STEP_ID_PATTERN } from './flow/model-common.ts'

const userId = z.string().regex(/^[UW][A-Z0-9]{2,30}$/, 'a Slack user id such as U012ABCDEF')
const usergroupId = z.string().regex(/^S[A-Z0-9]{2,30}$/, 'a Slack user-group id such as S012ABCDEF')

/** The fields of a request, as a zod shape (the MCP tool's input schema extends it with wait_seconds). */
export const approvalRequestShape = {
  title: z.string().min(1).max(200).describe('One line: what you are about to do, e.g. "Run the users migration".'),
  body: z.string().max(10_000).optional().describe('Why, what happens once approved, how to undo it (Slack mrkdwn).'),
  diff: z
    .string()
    .max(1_000_000)
    .optional()
    .describe('A unified diff of the change; approvers see it and the vote is bound to it.'),
  payload: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('The exact action as JSON, e.g. {"command": "npm run migrate"}; shown to approvers.'),
  approvers: z
    .object({ users: z.array(userId).max(50).optional(), usergroups: z.array(usergroupId).max(20).optional() })
    .strict()
    .optional()
    .describe("Who may vote; default: the members of the request's channel."),
  required: z.number().int().min(1).max(50).optional().describe('Distinct approvals needed (default 1).'),
  timeout: duration.optional().describe('How long to wait for a decision, e.g. 30m (default 1h); then timed_out.'),
  remind_every: duration.optional().describe('Remind the approvers this often while it waits, e.g. 15m.'),
  channel: z
    .string()
    .regex(/^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,30})$/, 'a channel id (C…) or #name')
    .optional()
    .describe("Slack channel for the request's thread; default: the server's default channel."),
  edit: z
    .object({
      fields: z.record(
        z.string().regex(STEP_ID_PATTERN, 'a field name: a-z, 0-9 and _, starting with a letter'),
        z
          .object({
            type: z.enum(EDIT_FIELD_TYPES).optional().describe('text (one line, default) or textarea.'),
            label: z.string().min(1).max(100).optional(),
            value: z.string().max(MAX_EDIT_VALUE_CHARS).describe('Your draft, which approvers may correct.'),
          })
          .strict(),
      ),
    })
    .strict()
    .optional()
    .describe(
      'Approve with edits: drafts (a reply, a command) approvers may correct before approving; the result then has edited.<name>: {value, was_edited}. Use the edited value.',
    ),
  idempotency_key: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, '1 to 200 printable ASCII characters, no spaces')
    .optional()
    .describe('Ask again with the same key (after a crash or a timeout) to get the same request back.'),
}

export const approvalRequestSchema = z
  .object(approvalRequestShape)
  .strict()
  .superRefine((request, ctx) => {
    const fields = Object.keys(request.edit?.fields ?? {}).length
    if (request.edit !== undefined && (fields === 0 || fields > MAX_EDIT_FIELDS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['edit', 'fields'],
        message: `give 1 to ${MAX_EDIT_FIELDS} fields, not ${fields}`,
      })
    }
    const { users, usergroups } = request.approvers ?? {}
    const required = request.required ?? 1
    if (users !== undefined && usergroups === undefined && required > new Set(users).size) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `required is ${required} but only ${new Set(users).size} approver(s) are listed`,
      })
    }
  })

export type ApprovalRequest = z.infer<typeof approvalRequestSchema>

/**
 * What a request came to: the approval's outcome, or, when its run ended before people decided, `canceled` (someone
 * canceled it) or `failed` (it could not ask, e.g. edit fields it could not show).
 */
export type RequestDecision = 'approved' | 'rejected' | 'changes_requested' | 'timed_out' | 'canceled' | 'failed'

/** The run inputs of the built-in flow for a request (the flow's defaults fill what is left out). */
export function requestInputs(request: ApprovalRequest): Record<string, unknown> {
  const { channel: _channel, idempotency_key: _key, ...inputs } = request
  return Object.fromEntries(Object.entries(inputs).filter(([, value]) => value !== undefined))
}
