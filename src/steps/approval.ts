// approval: shows a request (text, diff, attachments) bound by its sha256 digest, and parks until the votes decide.

import { z } from 'zod'
import { approvalRequestShape } from '../core/approval-request.ts'
import {
  approvalDigest,
  editFieldProblems,
  encodeEdit,
  openEdit,
  oversize,
  VALUE_TOO_LONG,
} from '../core/approvals/edits.ts'
import { type ApprovalStep, escalationLadder, parseDuration, toText } from '../core/flow/index.ts'
import { REQUEST_FLOW_SLUG } from '../core/request-flow.ts'
import { parkFor } from '../engine/park.ts'
import { RESOURCE_REF } from '../engine/resources.ts'
import type { TimerArm } from '../engine/run-ports.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { TerminalError } from '../errors.ts'

interface ApprovalConfig {
  message: string
  diff?: unknown
  attachments?: unknown[]
  approvers?: { users?: string[]; usergroups?: string[]; channel?: string }
  required?: number
  allow_self_approval?: boolean
  timeout?: string
  remind_every?: string
  escalate?: ApprovalStep['escalate']
  on?: Record<string, unknown>
  edit?: { fields?: Record<string, { type?: string; label?: string; value?: unknown }> }
}

/** The parts of a request the approval takes from the run's inputs, checked as the request endpoint checks them. */
const requestPolicySchema = z.object({
  approvers: approvalRequestShape.approvers,
  required: approvalRequestShape.required,
  timeout: approvalRequestShape.timeout,
  remind_every: approvalRequestShape.remind_every,
})

/**
 * The built-in request flow asks whom each call names: its approvers, quorum, timeout, reminders and edit fields are
 * the run's inputs, where every other flow writes them as literals. The request endpoint checked them; a run started
 * another way (`runs start greenlight_request …`) is checked here, with the same schema, and fails if they are wrong.
 */
function requestPolicy(inputs: Record<string, unknown>): Partial<ApprovalConfig> {
  const { approvers, required, timeout, remind_every, edit } = inputs
  const parsed = requestPolicySchema.safeParse({ approvers, required, timeout, remind_every })
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    throw new TerminalError('invalid_request', `The request's inputs are invalid: ${problems.join('; ')}.`, {
      hint: "Ask with 'greenlight request-approval' (MCP: request_approval), which checks them first.",
    })
  }
  const policy = parsed.data
  return {
    ...(policy.approvers ? { approvers: policy.approvers } : {}),
    ...(policy.required === undefined ? {} : { required: policy.required }),
    ...(policy.timeout === undefined ? {} : { timeout: policy.timeout }),
    ...(policy.remind_every === undefined ? {} : { remind_every: policy.remind_every }),
    ...(typeof edit === 'object' && edit !== null ? { edit: edit as ApprovalConfig['edit'] } : {}),
  }
}

export const approvalRunner: StepRunner = {
  kind: 'approval',
  billable: false,
  async run(ctx) {
    const configured = ctx.config as unknown as ApprovalConfig
    const c = ctx.run.flowSlug === REQUEST_FLOW_SLUG ? { ...configured, ...requestPolicy(ctx.run.inputs) } : configured
    // Every diff an approval shows is kept as a resource: the digest then binds the exact bytes people saw.
    let diff: string | null = null
    if (typeof c.diff === 'string' && c.diff !== '') {
      diff = RESOURCE_REF.test(c.diff)
        ? c.diff
        : await ctx.resources.put(Buffer.from(c.diff), 'text/x-diff; charset=utf-8', ctx.run.id)
    } else if (c.diff !== undefined && c.diff !== null) {
      diff = await ctx.resources.put(Buffer.from(JSON.stringify(c.diff, null, 2)), 'application/json', ctx.run.id)
    }
    const shown = { message: toText(c.message), diff, attachments: c.attachments ?? [] }
    // The drafts approvers may correct are part of what is shown, so the digest covers them from the start.
    // Flow files are validated when pushed; fields given at run time (the built-in request flow) are checked here.
    // A rendered value that is too long has its own error, below.
    const declared = editFieldProblems(c.edit?.fields).filter((problem) => !problem.includes(VALUE_TOO_LONG))
    if (declared.length > 0)
      throw new TerminalError('invalid_edit_fields', `The approval's edit fields are invalid: ${declared.join('; ')}.`)
    const edit = openEdit(c.edit?.fields)
    const tooLong = edit ? oversize(edit) : null
    if (tooLong) {
      throw new TerminalError('approval_edit_too_large', tooLong, {
        hint: 'Shorten the draft, or show it as the diff or an attachment instead of an edit field.',
      })
    }
    const digest = approvalDigest(shown, edit)
    const at = ctx.now
    const timers: TimerArm[] = []
    const remindMs = c.remind_every === undefined ? undefined : parseDuration(c.remind_every)
    if (remindMs !== undefined)
      timers.push({ key: 'remind:1', kind: 'approval_remind', fireAt: at + remindMs, data: { n: 1 } })
    // Each level of the ladder is its own timer, measured from when the approval opened.
    const ladder = escalationLadder(c.escalate).map((level) => ({
      ...level,
      after_ms: parseDuration(level.after) ?? 0,
    }))
    ladder.forEach((level, index) => {
      timers.push({
        key: `escalate:${index + 1}`,
        kind: 'approval_escalate',
        fireAt: at + level.after_ms,
        data: { level: index + 1 },
      })
    })
    return parkFor(
      at,
      'approval',
      {
        ...shown,
        approvers: {
          users: c.approvers?.users ?? [],
          usergroups: c.approvers?.usergroups ?? [],
          channel: c.approvers?.channel ?? null,
        },
        required: c.required ?? 1,
        allow_self_approval: c.allow_self_approval ?? false,
        initiator: ctx.run.initiator,
        remind_every_ms: remindMs ?? null,
        escalate: ladder,
        escalated_to: [],
        on: c.on ?? {},
        ...(edit ? { edit: encodeEdit(edit) } : {}),
      },
      {
        timeout: c.timeout,
        timeoutTimer: 'approval_timeout',
        digest,
        timers,
        events: [
          {
            type: 'approval.requested',
            stepId: ctx.step.id,
            data: {
              digest,
              required: c.required ?? 1,
              diff,
              ...(edit ? { edit_fields: edit.fields.map((f) => f.name) } : {}),
            },
          },
        ],
      },
    )
  },
}
