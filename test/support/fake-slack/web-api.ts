// Web API dispatch: token checks, the method table, and the directory/auth/socket methods.

import {
  type ApiContext,
  type ApiResult,
  type FakeConfig,
  fail,
  type Handler,
  int,
  type Params,
  str,
} from './api-context.ts'
import { chatMethods } from './web-api-chat.ts'
import { fileMethods } from './web-api-files.ts'
import { viewMethods } from './web-api-views.ts'

type TokenKind = 'bot' | 'app'

function tokenKind(token: string, config: FakeConfig): TokenKind | undefined {
  if (config.tokens.bot !== undefined || config.tokens.app !== undefined) {
    if (token === config.tokens.bot) return 'bot'
    if (token === config.tokens.app) return 'app'
    return undefined
  }
  if (/^xox[bp]-./.test(token)) return 'bot'
  if (/^xapp-./.test(token)) return 'app'
  return undefined
}

const directoryMethods: Record<string, Handler> = {
  'auth.test': (_params, ctx) => ({
    ok: true,
    url: `https://${ctx.dir.teamDomain}.slack.com/`,
    team: 'Greenlight Test',
    user: 'greenlight',
    team_id: ctx.dir.teamId,
    user_id: ctx.config.botUserId,
    bot_id: ctx.config.botId,
    is_enterprise_install: false,
  }),
  'users.info': (params, ctx) => {
    const user = ctx.dir.users.get(str(params, 'user') ?? '')
    return user ? { ok: true, user: ctx.dir.userObject(user) } : fail('user_not_found')
  },
  'usergroups.users.list': (params, ctx) => {
    const users = ctx.dir.usergroups.get(str(params, 'usergroup') ?? '')
    return users ? { ok: true, users: [...users] } : fail('no_such_subteam')
  },
  'conversations.members': (params, ctx) => {
    // Like Slack: an id only (a `#name` is channel_not_found).
    const members = ctx.dir.channels.get(str(params, 'channel') ?? '')?.members
    if (!members) return fail('channel_not_found')
    const limit = Math.min(Math.max(int(params, 'limit') ?? 100, 1), 1000)
    const cursor = str(params, 'cursor')
    const offset = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8').replace('offset:', '')) : 0
    if (Number.isNaN(offset)) return fail('invalid_cursor')
    const page = members.slice(offset, offset + limit)
    const next = offset + limit < members.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : ''
    return { ok: true, members: page, response_metadata: { next_cursor: next } }
  },
  'conversations.list': (params, ctx) => {
    const all = [...ctx.dir.channels.entries()].map(([id, c]) => ({
      id,
      name: c.name,
      is_channel: true,
      is_private: c.is_private ?? false,
      is_archived: false,
    }))
    const limit = Math.min(Math.max(int(params, 'limit') ?? 100, 1), 1000)
    const cursor = str(params, 'cursor')
    const offset = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8').replace('offset:', '')) : 0
    if (Number.isNaN(offset)) return fail('invalid_cursor')
    const next = offset + limit < all.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : ''
    return { ok: true, channels: all.slice(offset, offset + limit), response_metadata: { next_cursor: next } }
  },
  'conversations.open': (params, ctx) => {
    const users = (str(params, 'users') ?? '').split(',').filter(Boolean)
    const channel = str(params, 'channel')
    if (channel) return { ok: true, channel: { id: channel } }
    if (users.length === 0) return fail('users_list_not_supplied')
    const id = users.length === 1 && users[0] ? ctx.dir.dmChannelOf(users[0]) : `G${users.join('').replace(/\W/g, '')}`
    return { ok: true, no_op: false, already_open: false, channel: { id } }
  },
}

const appTokenMethods: Record<string, Handler> = {
  'apps.connections.open': (_params, ctx) => ({ ok: true, url: ctx.issueSocketUrl() }),
}

const botTokenMethods: Record<string, Handler> = {
  ...directoryMethods,
  ...chatMethods,
  ...viewMethods,
  ...fileMethods,
}

/** Runs one Web API call; always answers with a Slack-shaped body (HTTP 200 semantics). */
export function handleApiCall(method: string, params: Params, token: string | undefined, ctx: ApiContext): ApiResult {
  const known = method in botTokenMethods || method in appTokenMethods
  if (!known) return fail('unknown_method')
  if (!token) return fail('not_authed')
  const kind = tokenKind(token, ctx.config)
  if (!kind) return fail('invalid_auth')
  if (method === 'auth.test') return directoryMethods['auth.test']?.(params, ctx) ?? fail('unknown_method')
  const handler = kind === 'app' ? appTokenMethods[method] : botTokenMethods[method]
  return handler ? handler(params, ctx) : fail('not_allowed_token_type')
}
