-- The built-in flow behind ad-hoc approvals (src/core/request-flow.ts): released as version 1 and live.
-- Its source and definition are what validateFlowSource makes of REQUEST_FLOW_SOURCE; a test checks they still agree.
INSERT INTO flow_revisions (flow_slug, number, content_hash, source, definition, version, note, released_by, released_at, created_by, created_at)
VALUES ('greenlight_request', 1, 'e424427ce6d092d8d9b3b0742e7a568ac45f5893bc3d5eab3c697e789baf21e5', 'slug: greenlight_request
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
steps:
  - id: approval
    approval:
      message: "*{{ inputs.title }}*{{ inputs.body = '''' ? '''' : ''\n'' & inputs.body }}{{ $exists(inputs.payload) ? ''\n```\n'' & $string(inputs.payload, true) & ''\n```'' : '''' }}"
      diff: "{{ inputs.diff }}"
', '{"slug":"greenlight_request","name":"Approval requested by an agent","description":"Built in. Each request_approval (MCP) or greenlight request-approval (CLI) call is one run of this flow, started by the token that asks: pinned, audited, and decided by people with every approval rule. It cannot be pushed, released or promoted.","inputs":{"title":{"type":"string","required":true,"description":"What the agent asks to do."},"body":{"type":"string","required":false,"description":"Why, and what happens once approved (Slack mrkdwn).","default":""},"diff":{"type":"string","required":false,"description":"A unified diff of the change, if any.","default":""},"payload":{"type":"object","required":false,"description":"The exact action (a command, a request body), shown as JSON."},"approvers":{"type":"object","required":false,"description":"Who may vote: {users: [U…], usergroups: [S…]}; default: the channel''s members."},"required":{"type":"integer","required":false,"description":"Distinct approvals needed.","default":1},"timeout":{"type":"string","required":false,"description":"How long to wait for a decision.","default":"1h"},"remind_every":{"type":"string","required":false,"description":"Remind the approvers this often while it waits."}},"steps":[{"id":"approval","on_error":"fail","max_visits":10,"approval":{"message":"*{{ inputs.title }}*{{ inputs.body = '''' ? '''' : ''\n'' & inputs.body }}{{ $exists(inputs.payload) ? ''\n```\n'' & $string(inputs.payload, true) & ''\n```'' : '''' }}","diff":"{{ inputs.diff }}","required":1,"allow_self_approval":false}}]}', 1, 'built in', 'greenlight', 1796650180000, 'greenlight', 1796650180000);
--> statement-breakpoint
INSERT INTO flows (slug, name, description, draft_revision, live_version, created_at, updated_at)
VALUES ('greenlight_request', 'Approval requested by an agent', 'Built in. Each request_approval (MCP) or greenlight request-approval (CLI) call is one run of this flow, started by the token that asks: pinned, audited, and decided by people with every approval rule. It cannot be pushed, released or promoted.', 1, 1, 1796650180000, 1796650180000);
