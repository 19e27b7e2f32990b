// Bolt payloads → the handler inputs of handlers.ts, and handler results → Slack ack bodies. Pure functions.
import type { RespondArguments, types } from '@slack/bolt'
import { AppError } from '../../errors.ts'
import type { BlockActionInput, SlackReply, SlashCommandInput, ViewSubmissionInput } from './handlers.ts'

type Obj = Record<string, unknown>

const obj = (value: unknown): Obj => (typeof value === 'object' && value !== null ? (value as Obj) : {})
const str = (value: unknown): string => (typeof value === 'string' ? value : '')
const strOrNull = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null)

export function toCommandInput(body: unknown): SlashCommandInput {
  const b = obj(body)
  return {
    userId: str(b.user_id),
    userName: str(b.user_name),
    channelId: str(b.channel_id),
    text: str(b.text).trim(),
    triggerId: str(b.trigger_id),
    responseUrl: str(b.response_url),
    teamId: str(b.team_id),
  }
}

/** The value of whichever element was used: button value, selected option, date, text input… */
function actionValue(action: Obj): string {
  for (const key of ['value', 'selected_date', 'selected_time', 'selected_user', 'selected_channel']) {
    if (typeof action[key] === 'string') return action[key]
  }
  return str(obj(action.selected_option).value)
}

export function toActionInput(body: unknown, action: unknown, retryNum: number | undefined): BlockActionInput {
  const b = obj(body)
  const a = obj(action)
  const container = obj(b.container)
  return {
    userId: str(obj(b.user).id),
    actionId: str(a.action_id),
    value: actionValue(a),
    blockId: str(a.block_id),
    channelId: strOrNull(obj(b.channel).id) ?? strOrNull(container.channel_id),
    messageTs: strOrNull(obj(b.message).ts) ?? strOrNull(container.message_ts),
    triggerId: str(b.trigger_id),
    viewId: strOrNull(obj(b.view).id) ?? strOrNull(container.view_id),
    retryNum: retryNum ?? 0,
  }
}

export function toViewInput(body: unknown): ViewSubmissionInput {
  const b = obj(body)
  const view = obj(b.view)
  return {
    userId: str(obj(b.user).id),
    callbackId: str(view.callback_id),
    privateMetadata: str(view.private_metadata),
    values: obj(obj(view.state).values) as Record<string, Record<string, unknown>>,
    viewId: str(view.id),
    triggerId: strOrNull(b.trigger_id),
  }
}

/** The command ack body: ephemeral unless the handler asks for in_channel. */
export function replyBody(reply: SlackReply): RespondArguments {
  const blocks = reply.blocks as (types.KnownBlock | types.Block)[] | undefined
  return { response_type: reply.responseType ?? 'ephemeral', text: reply.text, ...(blocks ? { blocks } : {}) }
}

/** The stable code users see and logs carry; internal messages stay in the log. */
export function errorCode(error: unknown): string {
  return error instanceof AppError ? error.code : 'internal_error'
}

export function errorText(error: unknown): string {
  const code = errorCode(error)
  return error instanceof AppError
    ? `:warning: Something went wrong (${code}): ${error.message}`
    : `:warning: Something went wrong (${code}). The details are in Greenlight's log.`
}

/** A failed view submission keeps the modal open, showing the error under its first input block. */
export function viewErrorResponse(
  body: unknown,
  error: unknown,
): { response_action: 'errors'; errors: Record<string, string> } | undefined {
  const values = toViewInput(body).values
  const firstBlock = Object.keys(values)[0]
  if (firstBlock === undefined) return undefined
  return { response_action: 'errors', errors: { [firstBlock]: errorText(error).replace(':warning: ', '') } }
}
