// Payload builders with Slack's real shapes, shared by the signed HTTP driver and Socket Mode envelopes.

import { randomBytes, randomUUID } from 'node:crypto'
import type { FakeSlack } from './server.ts'
import type { Block } from './store.ts'
import { toSlackMessage } from './web-api-chat.ts'

export interface PayloadContext {
  /** When given: trigger_ids and response_urls come from the fake, and messages/views are looked up in it. */
  fake?: FakeSlack
  teamId?: string
  teamDomain?: string
  appId?: string
  /** The legacy verification token Slack still puts in payloads. */
  verificationToken?: string
}

export interface SlashCommandInput {
  command?: string
  /** What the user typed; sent escaped as Slack escapes it (`&` `<` `>` as `&amp;` `&lt;` `&gt;`). */
  text?: string
  /**
   * The text exactly as Slack sends it, instead of `text`: for what Slack writes as control sequences (a mention
   * picked from the list, a channel, a link), e.g. `` `run x who=${slackText.user('U1', 'ada')}` ``.
   */
  rawText?: string
  user_id: string
  channel_id: string
  user_name?: string
  channel_name?: string
  trigger_id?: string
  response_url?: string
  /** Any other form field (e.g. `enterprise_id`). */
  extra?: Record<string, string>
}

export interface BlockActionInput {
  user: string
  action_id: string
  /** Message container: `channel` + `message_ts`. */
  channel?: string
  message_ts?: string
  /** View container (modal or App Home) instead of a message. */
  view_id?: string
  /** Looked up in the stored message/view when omitted. */
  block_id?: string
  value?: string
  /** Element type (default: as stored, else `button`). */
  type?: string
  state?: Record<string, Record<string, unknown>>
  trigger_id?: string
  response_url?: string
}

/** A state value: a string means a `plain_text_input` value. */
export type StateValue = string | Record<string, unknown>

export interface ViewSubmissionInput {
  user: string
  view: {
    id?: string
    callback_id?: string
    private_metadata?: string
    external_id?: string
    state?: { values: Record<string, Record<string, StateValue>> }
  }
  trigger_id?: string
}

type Obj = Record<string, unknown>

const nowSeconds = (): string => (Date.now() / 1000).toFixed(6)

function team(ctx: PayloadContext): { id: string; domain: string } {
  return {
    id: ctx.teamId ?? ctx.fake?.teamId ?? 'T0GREENLT',
    domain: ctx.teamDomain ?? ctx.fake?.teamDomain ?? 'greenlight',
  }
}

const appId = (ctx: PayloadContext): string => ctx.appId ?? ctx.fake?.appId ?? 'A0GLAPP01'
const token = (ctx: PayloadContext): string => ctx.verificationToken ?? 'fake-verification-token'
const userName = (ctx: PayloadContext, id: string): string => ctx.fake?.user(id)?.name ?? id.toLowerCase()

function triggerId(ctx: PayloadContext, user: string): string {
  return ctx.fake?.issueTriggerId(user) ?? `${Date.now()}.${randomBytes(5).toString('hex')}`
}

function responseUrl(ctx: PayloadContext, context: { channel?: string; user: string; message_ts?: string }): string {
  if (ctx.fake) return ctx.fake.issueResponseUrl(context)
  return `https://hooks.slack.com/actions/${team(ctx).id}/${Date.now()}/${randomBytes(12).toString('hex')}`
}

function userObject(ctx: PayloadContext, id: string): Obj {
  return { id, username: userName(ctx, id), name: userName(ctx, id), team_id: team(ctx).id }
}

/** Escapes typed text as Slack does before it sends it: only `&`, `<` and `>`, as HTML entities. */
export function escapeSlackText(typed: string): string {
  return typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The control sequences Slack writes for what a user picked or pasted, for `rawText`. */
export const slackText = {
  user: (id: string, name?: string): string => (name === undefined ? `<@${id}>` : `<@${id}|${name}>`),
  channel: (id: string, name?: string): string => (name === undefined ? `<#${id}>` : `<#${id}|${name}>`),
  /** A link; the URL is escaped too (`&` in a query string arrives as `&amp;`). */
  link: (url: string, label?: string): string =>
    label === undefined ? `<${escapeSlackText(url)}>` : `<${escapeSlackText(url)}|${escapeSlackText(label)}>`,
  usergroup: (id: string, handle: string): string => `<!subteam^${id}|@${handle.replace(/^@/, '')}>`,
}

/** Slash command form fields (all strings), as Slack posts them. */
export function buildSlashCommandPayload(input: SlashCommandInput, ctx: PayloadContext = {}): Record<string, string> {
  const channelId = ctx.fake?.channelId(input.channel_id) ?? input.channel_id
  return {
    token: token(ctx),
    team_id: team(ctx).id,
    team_domain: team(ctx).domain,
    channel_id: channelId,
    channel_name: input.channel_name ?? ctx.fake?.channelName(channelId) ?? channelId.toLowerCase(),
    user_id: input.user_id,
    user_name: input.user_name ?? userName(ctx, input.user_id),
    command: input.command ?? '/gl',
    text: input.rawText ?? escapeSlackText(input.text ?? ''),
    api_app_id: appId(ctx),
    is_enterprise_install: 'false',
    response_url: input.response_url ?? responseUrl(ctx, { channel: channelId, user: input.user_id }),
    trigger_id: input.trigger_id ?? triggerId(ctx, input.user_id),
    ...input.extra,
  }
}

/** Finds an interactive element by action_id in a list of blocks. */
function findElement(blocks: unknown, actionId: string): { block_id: string; element: Obj } | undefined {
  if (!Array.isArray(blocks)) return undefined
  for (const block of blocks as Obj[]) {
    const candidates = [
      ...(Array.isArray(block.elements) ? (block.elements as Obj[]) : []),
      block.accessory as Obj | undefined,
      block.element as Obj | undefined,
    ]
    const element = candidates.find((e) => e?.action_id === actionId)
    if (element) return { block_id: String(block.block_id ?? ''), element }
  }
  return undefined
}

/** The stored view in the shape Slack sends it in interaction payloads. */
function viewPayload(ctx: PayloadContext, id: string, values: Obj = {}): Obj {
  const stored = ctx.fake?.view(id)
  return {
    id,
    team_id: team(ctx).id,
    type: stored?.type ?? 'modal',
    blocks: [],
    ...stored?.view,
    private_metadata: stored?.private_metadata ?? '',
    callback_id: stored?.callback_id ?? '',
    external_id: stored?.external_id ?? '',
    state: { values },
    hash: stored?.hash ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
    clear_on_close: false,
    notify_on_close: false,
    previous_view_id: stored?.previous_view_id ?? null,
    root_view_id: stored?.root_view_id ?? id,
    app_id: appId(ctx),
    app_installed_team_id: team(ctx).id,
    bot_id: ctx.fake?.botId ?? 'B0GLBOT01',
  }
}

/** A `block_actions` payload for a click on a message button (or on a view's, with `view_id`). */
export function buildBlockActionPayload(input: BlockActionInput, ctx: PayloadContext = {}): Obj {
  const channel = input.channel === undefined ? undefined : (ctx.fake?.channelId(input.channel) ?? input.channel)
  const stored = channel && input.message_ts ? ctx.fake?.message(channel, input.message_ts) : undefined
  const blocks: Block[] | undefined = stored?.blocks ?? (ctx.fake?.view(input.view_id ?? '')?.view.blocks as Block[])
  const found = findElement(blocks, input.action_id)
  if (ctx.fake && !found && input.block_id === undefined) {
    throw new Error(`fake slack: no element with action_id ${input.action_id} on the target; pass block_id to force`)
  }
  const element = found?.element ?? {}
  const text = element.text as Obj | undefined
  const action: Obj = {
    action_id: input.action_id,
    block_id: input.block_id ?? found?.block_id ?? 'block',
    type: input.type ?? element.type ?? 'button',
    action_ts: nowSeconds(),
    ...(text ? { text } : {}),
    ...(element.style ? { style: element.style } : {}),
    ...((input.value ?? element.value) !== undefined ? { value: input.value ?? element.value } : {}),
  }
  const base: Obj = {
    type: 'block_actions',
    user: userObject(ctx, input.user),
    api_app_id: appId(ctx),
    token: token(ctx),
    trigger_id: input.trigger_id ?? triggerId(ctx, input.user),
    team: team(ctx),
    enterprise: null,
    is_enterprise_install: false,
    state: { values: input.state ?? {} },
    actions: [action],
  }
  if (input.view_id !== undefined) {
    return { ...base, container: { type: 'view', view_id: input.view_id }, view: viewPayload(ctx, input.view_id) }
  }
  if (channel === undefined || input.message_ts === undefined) {
    throw new Error('fake slack: blockAction needs channel + message_ts, or view_id')
  }
  const message = stored ? toSlackMessage(stored, appId(ctx), team(ctx).id) : { type: 'message', ts: input.message_ts }
  return {
    ...base,
    container: {
      type: 'message',
      message_ts: input.message_ts,
      channel_id: channel,
      is_ephemeral: false,
      ...(stored?.thread_ts ? { thread_ts: stored.thread_ts } : {}),
    },
    channel: { id: channel, name: ctx.fake?.channelName(channel) ?? channel.toLowerCase() },
    message,
    response_url:
      input.response_url ??
      responseUrl(ctx, { channel, user: input.user, message_ts: input.message_ts, ...threadOf(stored?.thread_ts) }),
  }
}

const threadOf = (threadTs: string | undefined): { thread_ts?: string } => (threadTs ? { thread_ts: threadTs } : {})

function stateValues(values: Record<string, Record<string, StateValue>>): Obj {
  const out: Obj = {}
  for (const [blockId, actions] of Object.entries(values)) {
    const block: Obj = {}
    for (const [actionId, v] of Object.entries(actions)) {
      block[actionId] = typeof v === 'string' ? { type: 'plain_text_input', value: v } : v
    }
    out[blockId] = block
  }
  return out
}

/** A `view_submission` payload; with a fake, the stored view fills callback_id, metadata and blocks. */
export function buildViewSubmissionPayload(input: ViewSubmissionInput, ctx: PayloadContext = {}): Obj {
  const id = input.view.id ?? `V${randomBytes(5).toString('hex').toUpperCase()}`
  const view = viewPayload(ctx, id, stateValues(input.view.state?.values ?? {}))
  for (const key of ['callback_id', 'private_metadata', 'external_id'] as const) {
    if (input.view[key] !== undefined) view[key] = input.view[key]
  }
  return {
    type: 'view_submission',
    team: team(ctx),
    user: userObject(ctx, input.user),
    api_app_id: appId(ctx),
    token: token(ctx),
    trigger_id: input.trigger_id ?? triggerId(ctx, input.user),
    view,
    response_urls: [],
    enterprise: null,
    is_enterprise_install: false,
  }
}

/** `app_home_opened` carries the user's DM channel and the opened tab. */
function homeDefaults(event: { type: string } & Obj, ctx: PayloadContext): Obj {
  if (event.type !== 'app_home_opened' || typeof event.user !== 'string') return {}
  return { tab: 'home', channel: ctx.fake?.channelId(event.user) ?? `D${event.user.slice(1)}` }
}

/** An Events API `event_callback` envelope around `event`; reuse `eventId` to simulate a retry. */
export function buildEventEnvelope(
  event: { type: string } & Obj,
  ctx: PayloadContext = {},
  options: { eventId?: string } = {},
): Obj {
  const eventTime = Math.floor(Date.now() / 1000)
  return {
    token: token(ctx),
    team_id: team(ctx).id,
    context_team_id: team(ctx).id,
    context_enterprise_id: null,
    api_app_id: appId(ctx),
    event: { event_ts: nowSeconds(), ...homeDefaults(event, ctx), ...event },
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
    event_time: eventTime,
    authorizations: [
      {
        enterprise_id: null,
        team_id: team(ctx).id,
        user_id: ctx.fake?.botUserId ?? 'U0GLBOT01',
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(16).toString('base64url')}`,
  }
}

export function buildUrlVerification(challenge: string, ctx: PayloadContext = {}): Obj {
  return { token: token(ctx), challenge, type: 'url_verification' }
}
