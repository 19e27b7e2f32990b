// Composes the Slack side when SLACK_BOT_TOKEN is set: Bolt app and transport, run mirror, handlers, directory, around
// the outbox that main.ts builds.
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import type { SlackConfig } from '../config.ts'
import type { Engine } from '../engine/engine.ts'
import type { Directory } from '../engine/engine-deps.ts'
import type { FlowVersions } from '../engine/flow-versions.ts'
import type { OutboxStore } from '../engine/outbox-port.ts'
import type { FlowRepository } from '../engine/ports.ts'
import { createSlackDirectory } from './directory.ts'
import { createSlackHandlers } from './handlers.ts'
import { CARD_UPDATE, createSlackNotifier, runChannel } from './notifier.ts'
import type { Outbox } from './outbox.ts'
import { createSlackApp } from './transport/slack-app.ts'

export interface SlackSurfaceDeps {
  slack: SlackConfig
  /** Started and stopped with the surface. */
  outbox: Outbox
  /** Read at start for the runs a crash left unmirrored. */
  outboxStore: Pick<OutboxStore, 'runsBehind'>
  engine: Engine
  versions: FlowVersions
  flows: FlowRepository
  logger: Logger
  admins: readonly string[]
  defaultChannel: string | undefined
  /** `/gl console`: a one-time web console URL for a Slack user. */
  consoleLink?: ((slackUser: string) => Promise<{ url: string; expiresAt: number }>) | undefined
  /** The console page of an approval (the "View full diff" button), when the console is served. */
  approvalUrl?: ((waitId: string) => string) | undefined
}

export interface SlackSurface {
  /** Mirror a run's change into Slack (card, thread). */
  onRunChange(runId: string): void
  /** Slack user groups and channel members, for approver eligibility and permissions. */
  directory: Directory
  /** `POST /slack/events` for HTTP mode; undefined in Socket Mode. */
  route: Hono | undefined
  start(): Promise<void>
  stop(): Promise<void>
}

export async function createSlackSurface(deps: SlackSurfaceDeps): Promise<SlackSurface> {
  const logger = deps.logger.child({ surface: 'slack' })
  // Handlers are created after the app (they need its client); the transport calls through this late binding.
  let handlers: ReturnType<typeof createSlackHandlers> | undefined
  const bound = {
    command: (input: Parameters<ReturnType<typeof createSlackHandlers>['command']>[0]) =>
      (handlers as NonNullable<typeof handlers>).command(input),
    action: (input: Parameters<ReturnType<typeof createSlackHandlers>['action']>[0]) =>
      (handlers as NonNullable<typeof handlers>).action(input),
    viewSubmission: (input: Parameters<ReturnType<typeof createSlackHandlers>['viewSubmission']>[0]) =>
      (handlers as NonNullable<typeof handlers>).viewSubmission(input),
    homeOpened: (user: string) => (handlers as NonNullable<typeof handlers>).homeOpened(user),
  }
  const slackApp = createSlackApp({ slack: deps.slack, handlers: bound, logger })
  const { outbox } = deps
  const notifier = createSlackNotifier({
    reads: deps.engine.reads,
    flowOf: deps.engine.flowOf,
    resources: deps.engine.resources,
    outbox,
    defaultChannel: deps.defaultChannel,
    clock: { now: () => Date.now() },
    logger,
    approvalUrl: deps.approvalUrl,
    ...(deps.slack.updateIntervalMs === undefined ? {} : { updateIntervalMs: deps.slack.updateIntervalMs }),
  })
  const slackDirectory = createSlackDirectory(slackApp.client as never)
  const directory: Directory = {
    members: slackDirectory.members,
    runChannel: (run, flow) => runChannel(run, flow, deps.defaultChannel),
  }
  handlers = createSlackHandlers({
    directory,
    engine: deps.engine,
    versions: deps.versions,
    flows: deps.flows,
    outbox,
    client: slackApp.client as never,
    admins: deps.admins,
    logger,
    consoleLink: deps.consoleLink,
  })
  let stopped = false
  let retry: NodeJS.Timeout | undefined
  let catchingUp: Promise<void> = Promise.resolve()
  return {
    onRunChange: (runId) => notifier.onRunChange(runId),
    directory,
    route: slackApp.httpRoute,
    async start() {
      outbox.start()
      // Slack being down must not keep the server (API, callbacks) from starting: connect in the background.
      const connect = async (): Promise<void> => {
        if (stopped) return
        try {
          await slackApp.start()
          logger.info({ mode: deps.slack.mode }, 'Slack is on')
        } catch (error) {
          logger.error({ err: error }, 'cannot reach Slack; retrying in 30 s (the API and callbacks keep working)')
          retry = setTimeout(() => void connect(), 30_000)
        }
      }
      await connect()
      // Catch up on what a crash left unmirrored (a commit whose Slack items were never enqueued), found from the
      // outbox itself: every item has an idempotent key, so replaying a run's events posts nothing twice.
      const behind = await deps.outboxStore.runsBehind(CARD_UPDATE)
      catchingUp = notifier.catchUp(behind, () => stopped)
    },
    async stop() {
      stopped = true
      clearTimeout(retry)
      await slackApp.stop()
      await catchingUp
      await notifier.idle()
      await outbox.stop()
    },
  }
}
