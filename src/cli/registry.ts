// The CLI's command list. Modules load on demand so `greenlight flows list` starts fast.
import type { Command } from './command.ts'

export interface CommandEntry {
  name: string
  summary: string
  load: () => Promise<Command>
}

const flows = () => import('./commands/flows.ts')
const tokens = () => import('./commands/tokens.ts')
const secrets = () => import('./commands/secrets.ts')
const connections = () => import('./commands/connections.ts')
const worker = () => import('./commands/worker.ts')
const runs = () => import('./commands/runs.ts')
const waits = () => import('./commands/waits.ts')
const resources = () => import('./commands/resources.ts')
const audit = () => import('./commands/audit.ts')

export const COMMANDS: CommandEntry[] = [
  {
    name: 'serve',
    summary: 'Run the server (HTTP API, callbacks, Slack).',
    load: async () => (await import('./commands/serve.ts')).serve,
  },
  { name: 'flows validate', summary: 'Validate flow files offline.', load: async () => (await flows()).validate },
  { name: 'flows push', summary: 'Store flow files as draft revisions.', load: async () => (await flows()).push },
  { name: 'flows list', summary: 'List flows with their live version.', load: async () => (await flows()).list },
  { name: 'flows show', summary: 'Show a flow, its versions and a revision.', load: async () => (await flows()).show },
  { name: 'flows diff', summary: 'Unified diff between two revisions.', load: async () => (await flows()).diff },
  { name: 'flows release', summary: 'Turn the draft into version N.', load: async () => (await flows()).release },
  {
    name: 'flows promote',
    summary: 'Make a released version live (rollback too).',
    load: async () => (await flows()).promote,
  },
  {
    name: 'flows export',
    summary: 'Write a flow version as a template (source, requirements, content hash).',
    load: async () => (await import('./commands/flow-templates.ts')).exportFlow,
  },
  {
    name: 'flows import',
    summary: 'Push a template as a draft and list what it still needs bound.',
    load: async () => (await import('./commands/flow-templates.ts')).importFlow,
  },
  {
    name: 'runs start',
    summary: 'Start a run; --wait returns when it ends or parks.',
    load: async () => (await runs()).start,
  },
  { name: 'runs list', summary: 'List recent runs, newest first.', load: async () => (await runs()).list },
  { name: 'runs show', summary: 'Show a run, its steps and what it waits on.', load: async () => (await runs()).show },
  {
    name: 'runs events',
    summary: 'The run history: every event, hash-chained.',
    load: async () => (await runs()).events,
  },
  { name: 'runs cancel', summary: 'Cancel a queued, running or waiting run.', load: async () => (await runs()).cancel },
  {
    name: 'runs retry',
    summary: 'Resume a failed run from the failed (or named) step; --wait returns when it ends or parks.',
    load: async () => (await runs()).retry,
  },
  {
    name: 'runs wait',
    summary: 'Wait until a run ends (or parks, with --until parked).',
    load: async () => (await runs()).wait,
  },
  {
    name: 'waits list',
    summary: 'List open waits and approvals (--all: every status).',
    load: async () => (await waits()).list,
  },
  { name: 'waits show', summary: 'Show one wait or approval, with its votes.', load: async () => (await waits()).show },
  {
    name: 'waits complete',
    summary: 'Complete a wait, job or input with a JSON payload.',
    load: async () => (await waits()).complete,
  },
  {
    name: 'waits approve',
    summary: 'Approve (counts towards the quorum).',
    load: async () => (await waits()).approve,
  },
  { name: 'waits reject', summary: 'Reject an approval, with the reason.', load: async () => (await waits()).reject },
  {
    name: 'waits request-changes',
    summary: 'Request changes, with what to change.',
    load: async () => (await waits()).requestChanges,
  },
  {
    name: 'resources list',
    summary: 'List stored resources (diffs, logs, large payloads).',
    load: async () => (await resources()).list,
  },
  {
    name: 'resources get',
    summary: 'Read a resource (exact bytes with --out).',
    load: async () => (await resources()).get,
  },
  {
    name: 'audit verify',
    summary: "Check that a run's event chain, or an audit export file, was not changed or cut.",
    load: async () => (await audit()).verify,
  },
  {
    name: 'audit export',
    summary: "Write runs' events as a JSON Lines file that verifies offline.",
    load: async () => (await audit()).exportRuns,
  },
  {
    name: 'console login',
    summary: 'A one-time URL that signs a browser into the web console as this token.',
    load: async () => (await import('./commands/console.ts')).login,
  },
  {
    name: 'search',
    summary: 'Full-text search over runs, events, resources and flow sources.',
    load: async () => (await import('./commands/search.ts')).search,
  },
  { name: 'usage', summary: 'Billable step executions per flow for a month.', load: async () => (await audit()).usage },
  {
    name: 'prune',
    summary: 'Remove ended runs older than the retention (--dry-run: count only).',
    load: async () => (await import('./commands/prune.ts')).prune,
  },
  {
    name: 'backup',
    summary: "Write a consistent copy of the running server's database.",
    load: async () => (await import('./commands/backup.ts')).backup,
  },
  {
    name: 'secrets set',
    summary: 'Store a secret (encrypted; never printed).',
    load: async () => (await secrets()).set,
  },
  { name: 'secrets list', summary: 'List secret names.', load: async () => (await secrets()).list },
  { name: 'secrets delete', summary: 'Delete a secret.', load: async () => (await secrets()).remove },
  {
    name: 'connections set',
    summary: 'Create or replace an ssh or http connection.',
    load: async () => (await connections()).set,
  },
  { name: 'connections list', summary: 'List connections.', load: async () => (await connections()).list },
  { name: 'connections delete', summary: 'Delete a connection.', load: async () => (await connections()).remove },
  {
    name: 'worker',
    summary: 'Run jobs of one type with a handler command.',
    load: async () => (await worker()).worker,
  },
  { name: 'tokens create', summary: 'Create an API token (shown once).', load: async () => (await tokens()).create },
  { name: 'tokens list', summary: 'List API tokens.', load: async () => (await tokens()).list },
  { name: 'tokens revoke', summary: 'Revoke an API token.', load: async () => (await tokens()).revoke },
  { name: 'whoami', summary: 'Show the token the CLI uses.', load: async () => (await tokens()).whoami },
  {
    name: 'request-approval',
    summary: 'Ask people in Slack to approve an action; --wait exits 0 only when approved.',
    load: async () => (await import('./commands/request-approval.ts')).requestApproval,
  },
  {
    name: 'mcp',
    summary: 'Serve MCP over stdio for a local coding agent (a token that cannot decide approvals).',
    load: async () => (await import('./commands/mcp.ts')).mcp,
  },
  {
    name: 'guide',
    summary: 'Print the guide for coding agents (Markdown, not JSON): lifecycle, envelope, errors, tools.',
    load: async () => (await import('./commands/guide.ts')).guideCommand(COMMANDS),
  },
]

/** Finds the longest command name that prefixes argv; returns it with the remaining arguments. */
export function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ')
    const entry = COMMANDS.find((c) => c.name === name)
    if (entry) return { entry, rest: argv.slice(words) }
  }
  return undefined
}
