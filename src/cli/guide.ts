// The guide for coding agents (`greenlight guide`): Markdown built from the CLI's command list and the MCP tool
// definitions, so a command or tool added, renamed or redescribed shows in the guide without anyone editing it.
import { z } from 'zod'
import { AGENT_SCOPES } from '../core/agent-scopes.ts'
import { TOOLS, type ToolDefinition } from '../mcp/tools.ts'

/** The error codes an agent meets most, with what to do; `test/integration/mcp-guide.test.ts` checks each exists. */
export const GUIDE_ERRORS: readonly [code: string, what: string][] = [
  ['invalid_usage', 'Wrong flags or arguments (exit 2): read the hint, which shows the usage.'],
  ['invalid_flow', 'The flow YAML is invalid: details.problems name the line, column and fix.'],
  ['invalid_inputs', 'Run inputs are missing or of the wrong type: details.problems lists each.'],
  ['flow_not_found', 'No such flow: the hint suggests the closest slug.'],
  ['no_live_version', 'The flow was never released: a person releases it, or start the draft.'],
  ['forbidden', 'The token lacks a scope: details.required_scope names it. Do not ask for approvals:decide.'],
  ['unauthorized', 'The token is missing, wrong or revoked (exit 3).'],
  ['server_unreachable', 'The server is not running or GREENLIGHT_URL is wrong (exit 3).'],
  ['run_failed', 'The run ended failed, timed_out or canceled: read its events; details.run has the error.'],
  ['wait_timeout', 'Still not settled when your timeout passed: wait again, nothing failed.'],
  ['already_completed', 'The wait was completed already (with a different payload): nothing changed.'],
  ['requirements_missing', 'A connection the flow requires is not set up: a person binds it.'],
  ['token_can_decide', 'MCP refused a token that can decide approvals: use a --for-agent token.'],
  ['builtin_flow', 'greenlight_request is built in: it cannot be pushed, released or promoted.'],
  ['request_rejected', 'request-approval --wait: people said no (exit 1). Do not go ahead.'],
  ['request_timed_out', 'request-approval --wait: nobody decided in time (exit 1). Do not go ahead.'],
]

function parameters(tool: ToolDefinition): string[] {
  const schema = z.toJSONSchema(z.object(tool.input)) as {
    properties?: Record<string, { type?: string; description?: string; enum?: unknown[] }>
    required?: string[]
  }
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const type = p.enum ? p.enum.map((v) => JSON.stringify(v)).join(' | ') : (p.type ?? 'any')
    const required = schema.required?.includes(name) ? ', required' : ''
    return `  - \`${name}\` (${type}${required})${p.description ? `: ${p.description}` : ''}`
  })
}

/** The guide, over the CLI's commands as the registry lists them (passed in: the registry loads this module). */
export function agentGuide(commandList: readonly { name: string; summary: string }[]): string {
  const tools = TOOLS.map((tool) =>
    [
      `- **${tool.name}** (${tool.scope === 'none' ? 'no scope' : tool.scope}): ${tool.description}`,
      ...parameters(tool),
    ].join('\n'),
  )
  const commands = commandList.filter((c) => c.name !== 'serve').map((c) => `- \`greenlight ${c.name}\`: ${c.summary}`)
  const errors = GUIDE_ERRORS.map(([code, what]) => `| \`${code}\` | ${what} |`)
  return `# Greenlight for coding agents

Greenlight runs versioned workflows ("flows") with people in the loop, in Slack. You start runs, complete the waits
they park on, read what happened, and ask people before anything risky. People approve; you never do.

## Connect

- MCP over stdio: \`greenlight mcp\` (uses GREENLIGHT_URL and GREENLIGHT_TOKEN).
- MCP over HTTP: \`POST <server>/mcp\` with \`Authorization: Bearer <token>\` (stateless Streamable HTTP).
- Shell: every \`greenlight\` command prints one JSON document.
- Token: \`greenlight tokens create --name <agent> --for-agent\` (${AGENT_SCOPES.join(', ')}). MCP refuses a token
  with approvals:decide or admin.

## Before a risky action, ask

Call \`request_approval\` (MCP) or \`greenlight request-approval --title … --wait\` (shell) and go ahead only when the
decision is \`approved\` (the command exits 0 only then). Give an \`idempotency_key\`: asking again with it returns the
same request, still waiting or decided, so a timeout, a crash or a restart never asks twice. People see your title,
body, diff and payload in Slack; the decision comes back with the votes and the comment. Decisions: approved,
rejected, changes_requested (read the comment, change, ask again), timed_out.

## Lifecycle

- A run is \`queued → running ⇄ waiting → succeeded | failed | canceled | timed_out\`, pinned to the flow version it
  started on.
- \`run_start\` / \`greenlight runs start <slug> k=v --wait\` returns when the run ends or parks. A parked run says
  what it waits on: \`waiting_on: {step, kind, wait_id}\`.
- kind \`wait\`, \`job\`, \`input\`: complete it with \`wait_complete\` / \`greenlight waits complete <wait> --payload '{…}'\`.
- kind \`approval\`: people decide in Slack. Poll with \`run_get\` or \`greenlight runs wait <run>\`.
- \`run_events\` / \`greenlight runs events <run>\` is the audited history.

## The envelope

\`{"ok": true, "data": …, "meta": {"next": [commands to run next]}}\` or
\`{"ok": false, "error": {"code", "message", "hint", "details"}}\`. Follow \`meta.next\` and \`error.hint\`. Exit codes:
0 ok, 1 the operation failed, 2 bad usage or input, 3 server unreachable or not configured. MCP tool errors carry
the same \`error\` object. \`greenlight guide\` is the one command that prints Markdown (this guide); \`--json\` wraps
it in the envelope.

## Error codes that matter

| code | what to do |
|---|---|
${errors.join('\n')}

## MCP tools

${tools.join('\n')}

## CLI commands

${commands.join('\n')}
`
}
