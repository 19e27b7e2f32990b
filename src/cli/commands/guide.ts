// `greenlight guide`: the guide for coding agents. The one command that prints Markdown rather than JSON, since its
// reader is a model's context or an AGENTS.md file; --json wraps it in the usual envelope.
import { type Command, expectPositionals } from '../command.ts'
import { agentGuide } from '../guide.ts'

/** The command over the registry's list of commands, which the registry hands in (it loads this module). */
export const guideCommand = (commands: readonly { name: string; summary: string }[]): Command => ({
  name: 'guide',
  usage: 'greenlight guide [--json]   (Markdown on stdout; --json: {ok, data: {markdown}})',
  summary: 'Print the guide for coding agents (Markdown, not JSON): lifecycle, envelope, errors, tools.',
  options: { json: { type: 'boolean' } },
  async run(_ctx, args) {
    expectPositionals(args, 0, this.usage)
    const markdown = agentGuide(commands)
    if (args.values.json === true) return { data: { markdown } }
    process.stdout.write(markdown)
    return { data: null, emitted: true }
  },
})
