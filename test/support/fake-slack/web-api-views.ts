// views.* methods and trigger_ids: single use, valid for 3 s, as Slack enforces them.

import { randomBytes } from 'node:crypto'
import { type ApiContext, type ApiResult, fail, type Handler, type Params, str } from './api-context.ts'
import { validateView } from './block-kit-limits.ts'
import type { ViewRecord } from './store.ts'

const VIEW_MAX_BYTES = 250_000

/** A trigger_id like Slack's (`13345224609.738474920.8088930838d88f008e0`), valid for `triggerTtlMs`. */
export function issueTriggerId(ctx: ApiContext, user?: string): string {
  const seq = ctx.store.nextId('', 10).replace(/\D/g, '0')
  const id = `${seq}.${Math.floor(ctx.now() / 1000)}.${randomBytes(10).toString('hex')}`
  ctx.store.triggers.set(id, { id, user, issuedAt: ctx.now(), used: false })
  return id
}

type TriggerCheck = { failure: ApiResult } | { failure: undefined; user: string | undefined }

function consumeTrigger(ctx: ApiContext, triggerId: string | undefined): TriggerCheck {
  const trigger = triggerId === undefined ? undefined : ctx.store.triggers.get(triggerId)
  if (!trigger) return { failure: fail('invalid_trigger_id') }
  if (trigger.used) return { failure: fail('exchanged_trigger_id') }
  if (ctx.now() - trigger.issuedAt > ctx.config.triggerTtlMs) return { failure: fail('expired_trigger_id') }
  trigger.used = true
  return { failure: undefined, user: trigger.user }
}

function checkView(view: unknown, expected: 'modal' | 'home'): ApiResult | undefined {
  if (typeof view === 'string')
    return fail('invalid_arguments', { response_metadata: { messages: ['view: bad JSON'] } })
  if (JSON.stringify(view ?? null).length > VIEW_MAX_BYTES) return fail('view_too_large')
  const errors = validateView(view)
  if (errors.length === 0 && (view as Record<string, unknown>).type !== expected) {
    errors.push(`must be ${expected} [json-pointer:/view/type]`)
  }
  if (errors.length === 0) return undefined
  const onlyBlocks = errors.every((e) => e.includes('[json-pointer:/view/blocks'))
  return fail(onlyBlocks ? 'invalid_blocks' : 'invalid_arguments', {
    errors,
    response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
  })
}

const newHash = (ctx: ApiContext): string => `${Math.floor(ctx.now() / 1000)}.${randomBytes(4).toString('hex')}`

/** The view as Slack returns it, with ids, hash and empty state filled in. */
function present(record: ViewRecord, ctx: ApiContext): Record<string, unknown> {
  return {
    ...record.view,
    id: record.id,
    team_id: ctx.dir.teamId,
    app_id: ctx.config.appId,
    bot_id: ctx.config.botId,
    app_installed_team_id: ctx.dir.teamId,
    private_metadata: record.private_metadata,
    callback_id: record.callback_id ?? '',
    external_id: record.external_id ?? '',
    state: { values: {} },
    hash: record.hash,
    root_view_id: record.root_view_id,
    previous_view_id: record.previous_view_id,
  }
}

function createView(ctx: ApiContext, view: Params, user: string | undefined, previous: string | null): ViewRecord {
  const id = ctx.store.nextId('V', 10)
  const record: ViewRecord = {
    id,
    type: view.type === 'home' ? 'home' : 'modal',
    user,
    external_id: str(view, 'external_id'),
    callback_id: str(view, 'callback_id'),
    private_metadata: str(view, 'private_metadata') ?? '',
    hash: newHash(ctx),
    root_view_id: id,
    previous_view_id: previous,
    view,
    history: [view],
    at: ctx.now(),
  }
  ctx.store.views.push(record)
  return record
}

function replaceView(ctx: ApiContext, record: ViewRecord, view: Params): void {
  record.view = view
  record.history.push(view)
  record.external_id = str(view, 'external_id') ?? record.external_id
  record.callback_id = str(view, 'callback_id') ?? record.callback_id
  record.private_metadata = str(view, 'private_metadata') ?? ''
  record.hash = newHash(ctx)
}

function openOrPush(push: boolean): Handler {
  return (params, ctx) => {
    const problem = checkView(params.view, 'modal')
    if (problem) return problem
    const trigger = consumeTrigger(ctx, str(params, 'trigger_id'))
    if (trigger.failure) return trigger.failure
    const previous = push
      ? (ctx.store.views.findLast((v) => v.type === 'modal' && v.user === trigger.user) ?? null)
      : null
    const record = createView(ctx, params.view as Params, trigger.user, previous?.id ?? null)
    if (previous) record.root_view_id = previous.root_view_id
    return { ok: true, view: present(record, ctx) }
  }
}

const update: Handler = (params, ctx) => {
  const viewId = str(params, 'view_id')
  const externalId = str(params, 'external_id')
  if (!viewId && !externalId) return fail('invalid_arguments')
  const record = ctx.store.views.find((v) => (viewId ? v.id === viewId : v.external_id === externalId))
  if (!record) return fail('not_found')
  const problem = checkView(params.view, record.type)
  if (problem) return problem
  const hash = str(params, 'hash')
  if (hash && hash !== record.hash) return fail('hash_conflict')
  replaceView(ctx, record, params.view as Params)
  return { ok: true, view: present(record, ctx) }
}

const publish: Handler = (params, ctx) => {
  const user = str(params, 'user_id')
  if (!user) return fail('invalid_arguments')
  if (ctx.dir.users.size > 0 && !ctx.dir.users.has(user)) return fail('user_not_found')
  const problem = checkView(params.view, 'home')
  if (problem) return problem
  const existing = ctx.store.homes.get(user)
  const hash = str(params, 'hash')
  if (existing && hash && hash !== existing.hash) return fail('hash_conflict')
  const record = existing ?? createView(ctx, params.view as Params, user, null)
  if (existing) replaceView(ctx, existing, params.view as Params)
  ctx.store.homes.set(user, record)
  return { ok: true, view: present(record, ctx) }
}

export const viewMethods: Record<string, Handler> = {
  'views.open': openOrPush(false),
  'views.push': openOrPush(true),
  'views.update': update,
  'views.publish': publish,
}
