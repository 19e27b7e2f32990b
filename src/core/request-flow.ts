// The built-in flow behind ad-hoc approvals (MCP `request_approval`, `greenlight request-approval`): its slug and
// source. Migration 0010 stores this exact source as version 1; changing it needs a new migration releasing version 2.

export const REQUEST_FLOW_SLUG = 'greenlight_request'

/**
 * One approval step. Its approvers, quorum, timeout, reminders and edit fields come from the run's inputs (see
 * steps/approval.ts `requestPolicy`), since step fields are literals in every other flow; the request endpoint
 * validates them before the run starts.
 */
export const REQUEST_FLOW_SOURCE = `slug: greenlight_request
name: Approval requested by an agent
description: >-
  Built in. Each request_approval (MCP) or greenlight request-approval (CLI) call is one run of this flow,
  started by the token that asks: pinned, audited, and decided by people with every approval rule.
  It cannot be pushed, released or promoted.
inputs:
  title: { type: string, required: true, description: "What the agent asks to do." }
  body: { type: string, default: "", description: "Why, and what happens once approved (Slack mrkdwn)." }
  diff: { type: string, default: "", description: "A unified diff of the change, if any." }
  payload: { type: object, description: "The exact action (a command, a request body), shown as JSON." }
  approvers: { type: object, description: "Who may vote: {users: [U…], usergroups: [S…]}; default: the channel's members." }
  required: { type: integer, default: 1, description: "Distinct approvals needed." }
  timeout: { type: string, default: 1h, description: "How long to wait for a decision." }
  remind_every: { type: string, description: "Remind the approvers this often while it waits." }
  edit: { type: object, description: "Approve with edits: {fields: {name: {type, label, value}}} approvers may correct." }
steps:
  - id: approval
    approval:
      message: "*{{ inputs.title }}*{{ inputs.body = '' ? '' : '\\n' & inputs.body }}{{ $exists(inputs.payload) ? '\\n\`\`\`\\n' & $string(inputs.payload, true) & '\\n\`\`\`' : '' }}"
      diff: "{{ inputs.diff }}"
`
