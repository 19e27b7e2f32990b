// `greenlight connections set|list|delete`: ssh, http and database connections that name secrets (never hold values).
import { type Command, expectPositionals, positional, stringOption, usageError } from '../command.ts'

const SET_USAGE =
  'greenlight connections set <name> --type ssh --host H [--port 22] --user U (--key-secret S [--passphrase-secret S] | --password-secret S) [--host-key SHA256:…]\n' +
  '       greenlight connections set <name> --type http --base-url URL [--bearer-secret S | --header-secret Name=S | --basic-user U --basic-secret S] [--header Name=value …]\n' +
  '       greenlight connections set <name> --type database --url postgres://…|libsql://…|file:… [--password-secret S]'

function pair(raw: string, flag: string): [string, string] {
  const at = raw.indexOf('=')
  if (at <= 0) throw usageError(`${flag} takes Name=value, got '${raw}'.`, SET_USAGE)
  return [raw.slice(0, at), raw.slice(at + 1)]
}

function sshBody(args: Parameters<Command['run']>[1]): Record<string, unknown> {
  const host = stringOption(args, 'host')
  const user = stringOption(args, 'user')
  if (!host || !user) throw usageError('An ssh connection needs --host and --user.', SET_USAGE)
  const portText = stringOption(args, 'port')
  const port = portText === undefined ? undefined : Number(portText)
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw usageError(`--port must be 1 to 65535, got '${portText}'.`, SET_USAGE)
  const key = stringOption(args, 'key-secret')
  const password = stringOption(args, 'password-secret')
  if ((key === undefined) === (password === undefined))
    throw usageError('Give exactly one of --key-secret or --password-secret.', SET_USAGE)
  return {
    type: 'ssh',
    host,
    user,
    ...(port === undefined ? {} : { port }),
    ...(key ? { private_key_secret: key } : {}),
    ...(password ? { password_secret: password } : {}),
    ...(stringOption(args, 'passphrase-secret') ? { passphrase_secret: stringOption(args, 'passphrase-secret') } : {}),
    ...(stringOption(args, 'host-key') ? { host_key: stringOption(args, 'host-key') } : {}),
  }
}

function httpBody(args: Parameters<Command['run']>[1]): Record<string, unknown> {
  const baseUrl = stringOption(args, 'base-url')
  if (!baseUrl) throw usageError('An http connection needs --base-url.', SET_USAGE)
  const bearer = stringOption(args, 'bearer-secret')
  const header = stringOption(args, 'header-secret')
  const basicUser = stringOption(args, 'basic-user')
  const basicSecret = stringOption(args, 'basic-secret')
  if ((basicUser === undefined) !== (basicSecret === undefined))
    throw usageError('--basic-user and --basic-secret go together.', SET_USAGE)
  const auths = [bearer, header, basicUser].filter((a) => a !== undefined)
  if (auths.length > 1) throw usageError('Give at most one kind of auth.', SET_USAGE)
  let auth: Record<string, unknown> | undefined
  if (bearer) auth = { type: 'bearer', secret: bearer }
  if (header) {
    const [name, secret] = pair(header, '--header-secret')
    auth = { type: 'header', header: name, secret }
  }
  if (basicUser && basicSecret) auth = { type: 'basic', username: basicUser, secret: basicSecret }
  const headers = Object.fromEntries(
    (Array.isArray(args.values.header) ? args.values.header : []).map((h) => pair(String(h), '--header')),
  )
  return {
    type: 'http',
    base_url: baseUrl,
    ...(auth ? { auth } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  }
}

function databaseBody(args: Parameters<Command['run']>[1]): Record<string, unknown> {
  const url = stringOption(args, 'url')
  if (!url) throw usageError('A database connection needs --url.', SET_USAGE)
  // Checked here too so the refusal names the flag; the server refuses such a URL from any client.
  let password = ''
  try {
    password = new URL(url).password
  } catch {}
  if (password !== '') {
    throw usageError(
      'The --url holds a password. Store it as a secret (greenlight secrets set NAME, value on stdin) and pass --password-secret NAME; leave it out of the URL.',
      SET_USAGE,
    )
  }
  const secret = stringOption(args, 'password-secret')
  return { type: 'database', url, ...(secret ? { password_secret: secret } : {}) }
}

export const set: Command = {
  name: 'connections set',
  usage: SET_USAGE,
  summary: 'Create or replace an ssh, http or database connection.',
  options: {
    type: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    user: { type: 'string' },
    'key-secret': { type: 'string' },
    'passphrase-secret': { type: 'string' },
    'password-secret': { type: 'string' },
    'host-key': { type: 'string' },
    'base-url': { type: 'string' },
    'bearer-secret': { type: 'string' },
    'header-secret': { type: 'string' },
    'basic-user': { type: 'string' },
    'basic-secret': { type: 'string' },
    header: { type: 'string', multiple: true },
    url: { type: 'string' },
  },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const name = positional(args, 0, 'name', this.usage)
    const type = stringOption(args, 'type')
    if (type !== 'ssh' && type !== 'http' && type !== 'database')
      throw usageError('--type must be ssh, http or database.', this.usage)
    const allowed: Record<typeof type, string[]> = {
      ssh: ['host', 'port', 'user', 'key-secret', 'passphrase-secret', 'password-secret', 'host-key'],
      http: ['base-url', 'bearer-secret', 'header-secret', 'basic-user', 'basic-secret', 'header'],
      database: ['url', 'password-secret'],
    }
    const foreign = Object.values(allowed)
      .flat()
      .filter((o) => !allowed[type].includes(o) && args.values[o] !== undefined)
    if (foreign.length > 0) throw usageError(`--${foreign[0]} does not apply to ${type} connections.`, this.usage)
    const body = type === 'ssh' ? sshBody(args) : type === 'http' ? httpBody(args) : databaseBody(args)
    const data = await ctx.api().put(`/connections/${encodeURIComponent(name)}`, body)
    const connection = data.connection as { config?: { host_key?: string } } | undefined
    const next = ['greenlight connections list']
    if (type === 'ssh' && !connection?.config?.host_key)
      next.unshift(`ssh-keyscan -p <port> <host> | ssh-keygen -lf - -E sha256   # then: --host-key SHA256:…`)
    return { data, next }
  },
}

export const list: Command = {
  name: 'connections list',
  usage: 'greenlight connections list',
  summary: 'List connections (their configuration names secrets, never values).',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    return { data: await ctx.api().get('/connections') }
  },
}

export const remove: Command = {
  name: 'connections delete',
  usage: 'greenlight connections delete <name>',
  summary: 'Delete a connection.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const name = positional(args, 0, 'name', this.usage)
    return {
      data: await ctx.api().delete(`/connections/${encodeURIComponent(name)}`),
      next: ['greenlight connections list'],
    }
  },
}
