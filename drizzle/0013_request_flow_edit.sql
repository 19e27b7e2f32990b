-- Version 2 of the built-in request flow (src/core/request-flow.ts): the edit input, for approve with edits.
-- Released and made live; runs of version 1 stay pinned to it. A test checks the live source is REQUEST_FLOW_SOURCE.
INSERT INTO flow_revisions (flow_slug, number, content_hash, source, definition, version, note, released_by, released_at, created_by, created_at)
VALUES ('greenlight_request', 2, '52a26f215a447b81484ec03eb3de624a7bf3b5f23622bef2e749d68651a78b7e', 'slug: greenlight_request
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
  approvers: { type: object, description: "Who may vote: {users: [U…], usergroups: [S…]}; default: the channel''s members." }
  required: { type: integer, default: 1, description: "Distinct approvals needed." }
  timeout: { type: string, default: 1h, description: "How long to wait for a decision." }
  remind_every: { type: string, description: "Remind the approvers this often while it waits." }
  edit: { type: object, description: "Approve with edits: {fields: {name: {type, label, value}}} approvers may correct." }
steps:
  - id: approval
    approval:
      message: "*{{ inputs.title }}*{{ inputs.body = '''' ? '''' : ''\n'' & inputs.body }}{{ $exists(inputs.payload) ? ''\n```\n'' & $string(inputs.payload, true) & ''\n```'' : '''' }}"
      diff: "{{ inputs.diff }}"
', '{"slug":"greenlight_request","name":"Approval requested by an agent","description":"Built in. Each request_approval (MCP) or greenlight request-approval (CLI) call is one run of this flow, started by the token that asks: pinned, audited, and decided by people with every approval rule. It cannot be pushed, released or promoted.","inputs":{"title":{"type":"string","required":true,"description":"What the agent asks to do."},"body":{"type":"string","required":false,"description":"Why, and what happens once approved (Slack mrkdwn).","default":""},"diff":{"type":"string","required":false,"description":"A unified diff of the change, if any.","default":""},"payload":{"type":"object","required":false,"description":"The exact action (a command, a request body), shown as JSON."},"approvers":{"type":"object","required":false,"description":"Who may vote: {users: [U…], usergroups: [S…]}; default: the channel''s members."},"required":{"type":"integer","required":false,"description":"Distinct approvals needed.","default":1},"timeout":{"type":"string","required":false,"description":"How long to wait for a decision.","default":"1h"},"remind_every":{"type":"string","required":false,"description":"Remind the approvers this often while it waits."},"edit":{"type":"object","required":false,"description":"Approve with edits: {fields: {name: {type, label, value}}} approvers may correct."}},"steps":[{"id":"approval","on_error":"fail","max_visits":10,"approval":{"message":"*{{ inputs.title }}*{{ inputs.body = '''' ? '''' : ''\n'' & inputs.body }}{{ $exists(inputs.payload) ? ''\n```\n'' & $string(inputs.payload, true) & ''\n```'' : '''' }}","diff":"{{ inputs.diff }}","required":1,"allow_self_approval":false}}]}', 2, 'built in: edit fields', 'greenlight', 1796650300000, 'greenlight', 1796650300000);
--> statement-breakpoint
UPDATE flows SET name = 'Approval requested by an agent', description = 'Built in. Each request_approval (MCP) or greenlight request-approval (CLI) call is one run of this flow, started by the token that asks: pinned, audited, and decided by people with every approval rule. It cannot be pushed, released or promoted.', draft_revision = 2, live_version = 2, updated_at = 1796650300000 WHERE slug = 'greenlight_request';
