// Bolt listeners: parse, hand to the handlers, ack (after the handler only where it must be durable first).
import type { App, CodedError, Context, RespondArguments, ViewSubmitAction } from '@slack/bolt'
import type { Logger } from 'pino'
import type { SlackHandlers } from './handlers.ts'
import type { DirectListener } from './http-receiver.ts'
import {
  errorCode,
  errorText,
  replyBody,
  toActionInput,
  toCommandInput,
  toViewInput,
  viewErrorResponse,
} from './inputs.ts'
import { createRecentIds } from './recent-ids.ts'

export interface ListenerOptions {
  handlers: SlackHandlers
  logger: Logger
  /** The slash command (manifest.yml names it). */
  command?: string
  /** A handler still busy at this point gets acked for (Slack gives up at 3 s; Socket Mode has no other timer). */
  ackDeadlineMs?: number
}

export const DEFAULT_ACK_DEADLINE_MS = 2_000
export const SLOW_COMMAND_TEXT = ':hourglass_flowing_sand: Working on it… the answer will follow here.'

type Ack<R> = (reply?: R) => Promise<void>

interface Deadline<R> {
  ms: number
  /** What to ack with when the handler is still busy at the deadline. */
  fallback: R | undefined
  logger: Logger
  /** Log fields naming the interaction. */
  about: Record<string, unknown>
}

/**
 * An ack() that sends once: the listener's own answer, or the fallback when the deadline comes first. Resolves
 * false when it was too late (the fallback went out already).
 */
function ackOnce<R>(ack: Ack<R>, deadline: Deadline<R>): (reply?: R) => Promise<boolean> {
  const { logger, about } = deadline
  let sent = false
  const send = async (reply?: R): Promise<boolean> => {
    if (sent) return false
    sent = true
    clearTimeout(timer)
    await ack(reply)
    return true
  }
  const timer = setTimeout(() => {
    logger.warn({ ...about, deadlineMs: deadline.ms }, 'Slack handler is slow; acked before it finished')
    send(deadline.fallback).catch((err: unknown) => logger.warn({ ...about, err }, 'Could not send the deadline ack'))
  }, deadline.ms)
  return send
}

type ErrorArgs = { error: CodedError & { original?: unknown }; body: unknown; context: Context }

const payloadType = (body: unknown): unknown => {
  const b = body as { type?: unknown; command?: unknown }
  return b.type ?? b.command
}

/** Our buttons and selects: every action id Greenlight renders starts with this. */
const OUR_ACTION = /^gl_/

/** The one block_actions listener, shared by Bolt's dispatch and the receiver's direct path. */
function actionListener(options: ListenerOptions) {
  const { handlers, logger } = options
  const ms = options.ackDeadlineMs ?? DEFAULT_ACK_DEADLINE_MS
  return async (body: unknown, action: unknown, retryNum: number | undefined, ack: () => Promise<void>) => {
    const input = toActionInput(body, action, retryNum)
    const about = { actionId: input.actionId, userId: input.userId }
    const done = ackOnce(() => ack(), { ms, fallback: undefined, logger, about })
    try {
      await handlers.action(input) // durable before Slack hears back
    } finally {
      await done()
    }
  }
}

const logListenerError = (logger: Logger, error: unknown, body: unknown, retryNum: number | undefined): void => {
  logger.error({ err: error, code: errorCode(error), type: payloadType(body), retryNum }, 'Slack listener failed')
}

/**
 * HTTP mode's shortcut for clicks on our buttons: `block_actions` whose (first, as in Bolt) action is one of ours runs
 * the same listener Bolt would, acked the same way and its errors logged the same way, without Bolt's middleware
 * chain (authorize, context, say/respond builders, listener matching), which the listener does not use. A button
 * click is the one request Slack sends in bursts (a vote), so it is the one worth a lighter path; everything else
 * still goes through Bolt. Global middleware registered with `app.use` does not see these clicks.
 */
export function directActions(options: ListenerOptions): DirectListener {
  const listener = actionListener(options)
  return (event) => {
    const body = event.body as { type?: unknown; actions?: unknown }
    if (body.type !== 'block_actions' || !Array.isArray(body.actions)) return undefined
    const action = body.actions[0] as { action_id?: unknown } | undefined
    if (typeof action?.action_id !== 'string' || !OUR_ACTION.test(action.action_id)) return undefined
    return listener(body, action, event.retryNum, () => event.ack()).catch((error: unknown) =>
      logListenerError(options.logger, error, body, event.retryNum),
    )
  }
}

export function registerListeners(app: App, options: ListenerOptions): void {
  const { handlers, logger } = options
  const ms = options.ackDeadlineMs ?? DEFAULT_ACK_DEADLINE_MS
  const recentEvents = createRecentIds()

  // Events are acked by Bolt before any middleware runs, so a dropped retry is still answered 200.
  app.use(async ({ body, context, next }) => {
    const eventId = (body as { event_id?: unknown }).event_id
    if (typeof eventId === 'string' && recentEvents.seen(eventId)) {
      logger.info({ eventId, retryNum: context.retryNum, retryReason: context.retryReason }, 'Dropped a repeated event')
      return
    }
    await next()
  })

  app.command(options.command ?? '/gl', async ({ command, ack, respond }) => {
    const input = toCommandInput(command)
    const slow = replyBody({ text: SLOW_COMMAND_TEXT })
    const reply = ackOnce<string | RespondArguments>(ack, {
      ms,
      fallback: slow,
      logger,
      about: { userId: input.userId },
    })
    let answer: RespondArguments
    try {
      answer = replyBody(await handlers.command(input))
    } catch (error) {
      answer = replyBody({ text: errorText(error) })
      if (!(await reply(answer))) {
        await respond(answer).catch((e: unknown) => logger.warn({ err: e }, 'Could not post the error to response_url'))
      }
      throw error // to app.error, which logs it
    }
    // Too late for the ack: the placeholder went out, so the real answer goes to response_url.
    if (!(await reply(answer))) await respond(answer)
  })

  // Socket Mode's clicks (HTTP mode's take `directActions` before Bolt).
  const onAction = actionListener(options)
  app.action(OUR_ACTION, ({ body, action, ack, context }) => onAction(body, action, context.retryNum, () => ack()))

  app.view<ViewSubmitAction>(/^gl_/, async ({ body, ack }) => {
    const input = toViewInput(body)
    const about = { callbackId: input.callbackId, userId: input.userId }
    const done = ackOnce(ack, { ms, fallback: undefined, logger, about })
    let errors: Record<string, string> | undefined
    try {
      errors = (await handlers.viewSubmission(input))?.errors
    } catch (error) {
      await done(viewErrorResponse(body, error))
      throw error
    }
    await done(errors && Object.keys(errors).length > 0 ? { response_action: 'errors' as const, errors } : undefined)
  })

  app.event('app_home_opened', async ({ event }) => {
    if (event.tab === 'messages') return // the Messages tab fires the same event; nothing to render there
    await handlers.homeOpened(event.user)
  })

  // The one error boundary of this transport: every listener error lands here once, logged with its stable code.
  app.error(async ({ error, body, context }: ErrorArgs) => {
    logListenerError(logger, error.original ?? error, body, context.retryNum)
  })
}
