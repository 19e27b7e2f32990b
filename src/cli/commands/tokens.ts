// `greenlight tokens …` and `greenlight whoami`.
import { AGENT_SCOPES, decidingScopes } from '../../core/agent-scopes.ts'
import { SCOPE_GRANTS, SCOPES } from '../../core/scopes.ts'
import { type Command, expectPositionals, listOption, positional, stringOption, usageError } from '../command.ts'

export const create: Command = {
  name: 'tokens create',
  usage: 'greenlight tokens create --name <name> (--scope <scope>… | --for-agent) [--as <slack-user-id>]',
  summary: 'Create an API token (shown once).',
  options: {
    name: { type: 'string' },
    scope: { type: 'string', multiple: true },
    as: { type: 'string' },
    'for-agent': { type: 'boolean' },
  },
  help: {
    scopes: SCOPES.map((scope) => ({ scope, grants: SCOPE_GRANTS[scope] })),
    flags: {
      '--name <name>': 'A name for the token; records show it beside what the token did (token:<name>).',
      '--scope <scope>…': 'Repeat it, or give a comma list (--scope runs:read,runs:write).',
      '--for-agent': `The scopes a coding agent needs (${AGENT_SCOPES.join(', ')}) and none that decide approvals: the token MCP and request-approval accept.`,
      '--as <slack-user-id>':
        'The token votes as that Slack user (e.g. U0ALICE): approver lists, eligibility, quorum and the no-self-approval rule apply as if that person pressed the button in Slack, and records name the person and the token.',
    },
  },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const name = stringOption(args, 'name')
    if (!name) throw usageError('Missing --name.', this.usage)
    const scopes = listOption(args, 'scope')
    if (args.values['for-agent'] === true) {
      const deciding = decidingScopes(scopes)
      if (deciding.length > 0)
        throw usageError(`--for-agent refuses ${deciding.join(', ')}: an agent must not decide approvals.`, this.usage)
      scopes.push(...AGENT_SCOPES)
    }
    const data = await ctx
      .api()
      .post('/tokens', { name, scopes: [...new Set(scopes)], as_user: stringOption(args, 'as') })
    return { data, next: ['greenlight tokens list'], meta: { warning: 'The secret is shown only once; store it now.' } }
  },
}

export const list: Command = {
  name: 'tokens list',
  usage: 'greenlight tokens list',
  summary: 'List API tokens.',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    return { data: await ctx.api().get('/tokens') }
  },
}

export const revoke: Command = {
  name: 'tokens revoke',
  usage: 'greenlight tokens revoke <id|name>',
  summary: 'Revoke an API token.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const ref = positional(args, 0, 'id|name', this.usage)
    return { data: await ctx.api().delete(`/tokens/${encodeURIComponent(ref)}`), next: ['greenlight tokens list'] }
  },
}

export const whoami: Command = {
  name: 'whoami',
  usage: 'greenlight whoami',
  summary: 'Show the token the CLI uses.',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    return { data: { ...(await ctx.api().get('/whoami')), url: ctx.config.url } }
  },
}
