// The CLI's command list. Modules load on demand so `greenlight flows list` starts fast.
import type { Command } from './command.ts'

export interface CommandEntry {
  name: string
  summary: string
  load: () => Promise<Command>
}

const flows = () => import('./commands/flows.ts')
const tokens = () => import('./commands/tokens.ts')

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
  { name: 'tokens create', summary: 'Create an API token (shown once).', load: async () => (await tokens()).create },
  { name: 'tokens list', summary: 'List API tokens.', load: async () => (await tokens()).list },
  { name: 'tokens revoke', summary: 'Revoke an API token.', load: async () => (await tokens()).revoke },
  { name: 'whoami', summary: 'Show the token the CLI uses.', load: async () => (await tokens()).whoami },
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
