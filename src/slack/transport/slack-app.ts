// createSlackApp: the Bolt App on Socket Mode or our HTTP receiver, with Greenlight's listeners and one error boundary.
import { App, type Receiver, SocketModeReceiver } from '@slack/bolt'
import type { WebClient } from '@slack/web-api'
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import type { SlackConfig } from '../../config.ts'
import { AppError } from '../../errors.ts'
import { createBoltLogger } from './bolt-logger.ts'
import type { SlackHandlers } from './handlers.ts'
import { HttpReceiver, type HttpReceiverOptions } from './http-receiver.ts'
import { directActions, type ListenerOptions, registerListeners } from './listeners.ts'

export interface SlackAppOptions {
  slack: SlackConfig
  handlers: SlackHandlers
  logger: Logger
  /** The slash command, `/gl` unless manifest.yml says otherwise. */
  command?: string
  /** Listener-side ack deadline for handlers that are still busy (default 2 s). */
  ackDeadlineMs?: number
  /** HTTP mode: receiver knobs (path, ack timeout, body limit, clock). */
  http?: Omit<HttpReceiverOptions, 'signingSecret' | 'logger'>
  /** Socket Mode: ping timeout of @slack/socket-mode (also its reconnect delay). */
  socket?: { clientPingTimeout?: number }
}

export interface SlackApp {
  app: App
  /** The bot's Web API client (SLACK_API_URL, no client-side retries: the durable outbox owns retries). */
  client: WebClient
  mode: SlackConfig['mode']
  /** auth.test, then (Socket Mode) apps.connections.open, or (HTTP) the route starts answering. Rejects if Slack is unreachable. */
  start(): Promise<void>
  stop(): Promise<void>
  /** HTTP mode only: serves `POST /slack/events`; mount with `hono.route('/', httpRoute)`. */
  httpRoute?: Hono
}

interface Transport {
  receiver: Receiver
  httpRoute?: Hono
  /** Socket Mode: resolves once the WebSocket is closed (Bolt's own stop() does not wait for it). */
  disconnect?: () => Promise<void>
}

const STOP_TIMEOUT_MS = 3_000

function createReceiver(options: SlackAppOptions, logger: Logger, listeners: ListenerOptions): Transport {
  const { slack } = options
  if (slack.mode === 'socket') {
    if (!slack.appToken) throw new AppError('slack_config_invalid', 'Socket Mode needs SLACK_APP_TOKEN.')
    const receiver = new SocketModeReceiver({
      appToken: slack.appToken,
      logger: createBoltLogger(logger.child({ transport: 'socket' })),
      ...(options.socket?.clientPingTimeout === undefined
        ? {}
        : { clientPingTimeout: options.socket.clientPingTimeout }),
      // Its own options object: @slack/socket-mode writes a retry policy into it for apps.connections.open.
      installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } },
    })
    return { receiver, disconnect: () => receiver.client.disconnect() }
  }
  if (!slack.signingSecret) throw new AppError('slack_config_invalid', 'HTTP mode needs SLACK_SIGNING_SECRET.')
  const receiver = new HttpReceiver({
    ...options.http,
    signingSecret: slack.signingSecret,
    logger,
    direct: directActions(listeners),
  })
  return { receiver, httpRoute: receiver.route }
}

export function createSlackApp(options: SlackAppOptions): SlackApp {
  const logger = options.logger.child({ component: 'slack' })
  const listeners: ListenerOptions = {
    handlers: options.handlers,
    logger,
    ...(options.command === undefined ? {} : { command: options.command }),
    ...(options.ackDeadlineMs === undefined ? {} : { ackDeadlineMs: options.ackDeadlineMs }),
  }
  const { receiver, httpRoute, disconnect } = createReceiver(options, logger, listeners)
  const app = new App({
    token: options.slack.botToken,
    receiver,
    logger: createBoltLogger(logger),
    clientOptions: { slackApiUrl: options.slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
    // auth.test runs in start(), awaited: the constructor's eager call would be an unhandled rejection when Slack is down.
    deferInitialization: true,
    extendedErrorHandler: true,
  })
  registerListeners(app, listeners)

  let started = false
  return {
    app,
    client: app.client,
    mode: options.slack.mode,
    ...(httpRoute === undefined ? {} : { httpRoute }),
    async start() {
      if (started) return
      await app.init()
      await app.start()
      started = true
      logger.info({ mode: options.slack.mode }, 'Slack is connected')
    },
    async stop() {
      if (!started) return
      started = false
      if (disconnect === undefined) {
        await app.stop()
        return
      }
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS)
      })
      await Promise.race([disconnect(), timeout])
      clearTimeout(timer)
    },
  }
}
