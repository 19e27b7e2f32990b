// Composition root of `greenlight serve`: config → store → engine → http → slack.
import { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Logger } from 'pino'
import { ensureCliToken, ensureDataDir, loadSecretKey } from './bootstrap.ts'
import type { Config } from './config.ts'
import { createConsole } from './console/app.tsx'
import { consoleLinkRoute } from './console/link-route.ts'
import { createConsoleSignIn, slackIdentity } from './console/sign-in.ts'
import { DEFAULT_BUDGET, type FlowDefinition, useIsolatedEvaluator } from './core/flow/index.ts'
import { deriveChainKey } from './core/hash-chain.ts'
import { createIdGenerator } from './core/ids.ts'
import { processRedactor } from './core/redact.ts'
import { createFlowCache } from './engine/compiled-flow.ts'
import { createConnections } from './engine/connections.ts'
import { createEngine, type Engine } from './engine/engine.ts'
import { createFlowVersions } from './engine/flow-versions.ts'
import { type Clock, systemClock } from './engine/ports.ts'
import { redactingResources, redactingRunStore } from './engine/redacting-store.ts'
import { createRetention, type Retention } from './engine/retention.ts'
import { createSecrets } from './engine/secrets.ts'
import { createTokens } from './engine/tokens.ts'
import { createWebhooks } from './engine/webhooks.ts'
import { createHttpApp } from './http/app.ts'
import { createMetrics } from './http/metrics.ts'
import { createLogger } from './logger.ts'
import { createExpressionPool } from './sandbox/expression-pool.ts'
import type { SlackSurface } from './slack/slack-surface.ts'
import { createRunners } from './steps/registry.ts'
import { createBackups } from './store/backup.ts'
import { createConnectionRepository } from './store/connection-repository.ts'
import { createConsoleStore } from './store/console-store.ts'
import { openDatabase } from './store/database.ts'
import { createFlowRepository } from './store/flow-repository.ts'
import { createJobStore } from './store/job-store.ts'
import { kvEffect } from './store/kv-store.ts'
import { createOutboxStore } from './store/outbox-store.ts'
import { createPruneStore } from './store/prune-store.ts'
import { createResourceStore } from './store/resource-store.ts'
import { createRunStore, keyPlainChains } from './store/run-store.ts'
import { createScheduleStore } from './store/schedule-store.ts'
import { createSearchIndex } from './store/search-store.ts'
import { createSecretRepository } from './store/secret-repository.ts'
import { createTokenRepository } from './store/token-repository.ts'

export interface RunningServer {
  url: string
  cliTokenPath: string
  logger: Logger
  /** Retention of this server: `retention.prune({dryRun, now, cutoff, batchSize})` is what `greenlight prune` calls. */
  retention: Retention
  /**
   * Drains and stops: stops accepting connections, lets in-flight requests, steps and commits finish for at most
   * `shutdownTimeoutMs`, then cuts what is left (its runs' leases are released, so another instance continues them
   * at once) and closes the database. `drained` is false when the deadline cut something off.
   */
  close(): Promise<{ drained: boolean }>
}

export interface ServerOptions {
  /** Tests drive schedules and signature windows with their own clock. */
  clock?: Clock
}

export async function startServer(
  config: Config,
  logger = createLogger(config.logLevel),
  options: ServerOptions = {},
): Promise<RunningServer> {
  ensureDataDir(config.dataDir)
  const secretKey = loadSecretKey(config.secretKey, config.dataDir, logger)
  const database = await openDatabase({ url: config.databaseUrl, authToken: config.databaseAuthToken })
  const clock = options.clock ?? systemClock
  const chainKey = deriveChainKey(secretKey)
  const chains = await keyPlainChains(database, chainKey, clock.now())
  if (chains.keyed > 0)
    logger.warn({ runs: chains.keyed }, 'keyed the event chains of runs written before this version')
  if (chains.leftUnkeyed > 0) {
    logger.error(
      { runs: chains.leftUnkeyed },
      'runs whose event chain ends unkeyed: written without the key (a rewrite, or an older version); audit verify fails them',
    )
  }
  // Flow expressions that are not cheap by their syntax run in child processes: one cannot take the server down.
  const expressionPool = createExpressionPool({
    budget: { ...DEFAULT_BUDGET, timeoutMs: config.expressions.timeoutMs },
    memoryMb: config.expressions.memoryMb,
    workers: config.expressions.workers,
  })
  const uninstallPool = useIsolatedEvaluator(expressionPool)
  expressionPool.warm()
  let publicUrl = config.publicUrl
  const ids = createIdGenerator(clock.now)
  const flows = createFlowRepository(database)
  const connections = createConnectionRepository(database)
  const tokens = createTokens({ tokens: createTokenRepository(database), ids, clock })
  let engine: Engine | undefined
  const versions = createFlowVersions({
    flows,
    connections,
    clock,
    maxFlowSteps: config.maxFlowSteps,
    // A promote (or release) changes the live version: its schedules replace the old ones at once.
    onLiveChange: async (slug) => {
      await engine?.schedules
        .sync(slug)
        .catch((error: unknown) => logger.error({ err: error, flow: slug }, 'could not sync schedules'))
    },
  })
  const cliTokenPath = await ensureCliToken(tokens, config.dataDir)
  const redactor = processRedactor
  const secrets = createSecrets({ secrets: createSecretRepository(database), key: secretKey, clock, redactor })
  const { tooShort } = await secrets.primeRedactor()
  if (tooShort.length > 0) {
    logger.warn(
      { code: 'secret_too_short', secrets: tooShort },
      'secrets shorter than 8 characters (set before the rule) are masked only as written; set longer values',
    )
  }
  const connectionService = createConnections({ repository: connections, secrets, clock, redactor })
  let slack: SlackSurface | undefined
  const owner = ids.next('inst')
  const searchIndex = createSearchIndex(database)
  const pruneStore = createPruneStore(database)
  engine = createEngine({
    store: redactingRunStore(createRunStore(database, chainKey), redactor),
    resources: redactingResources(createResourceStore(database, clock.now), redactor),
    search: searchIndex,
    flowOf: createFlowCache(async (id) => {
      const revision = await flows.revisionById(id)
      if (!revision) throw new Error(`revision ${id} not found`)
      return revision.definition as FlowDefinition
    }),
    runners: createRunners({
      connection: (name) => connectionService.http(name),
      maxResponseBytes: config.maxBodyBytes,
      sshConnection: (name) => connectionService.ssh(name),
      databaseConnection: (name) => connectionService.database(name),
      kv: kvEffect,
      search: searchIndex,
    }),
    clock,
    ids,
    logger,
    secretKey,
    publicUrl: () => publicUrl,
    redactor,
    owner,
    onRunChange: (runId) => slack?.onRunChange(runId),
    leaseMs: config.leaseMs,
    maxTakeovers: config.maxTakeovers,
    maxRunEvents: config.maxRunEvents,
    resourceThresholdBytes: config.resourceThresholdBytes,
    // Slack resolves user groups and channel members; without Slack nobody can be resolved (null).
    directory: {
      members: async (groups, channel) => (slack ? slack.directory.members(groups, channel) : null),
      runChannel: (run, flow) => slack?.directory.runChannel?.(run, flow) ?? null,
    },
    flows,
    connections,
    schedules: createScheduleStore(database),
    jobLeases: createJobStore(database),
    admins: config.admins,
    prunedRun: (id) => pruneStore.prunedRun(id),
  })
  await engine.schedules.start()
  engine.scheduler.start()
  // Hourly, counted from the start of the last prune any instance made; the lease makes instances take turns.
  const retention = createRetention({
    store: pruneStore,
    clock,
    logger,
    owner,
    retentionMs: config.retentionMs,
    leaseMs: config.leaseMs,
    pauseMs: config.prunePauseMs,
  })
  await retention.start()
  const consoleSignIn = createConsoleSignIn({
    store: createConsoleStore(database),
    clock,
    publicUrl: () => publicUrl,
    secretKey,
  })
  const webConsole = createConsole({
    engine,
    flows,
    signIn: consoleSignIn,
    redactor,
    publicUrl: () => publicUrl,
    logger,
  })

  if (config.slack) {
    // Loaded only when Slack is on, so a server without Slack starts without Bolt or the Web API client.
    const [{ WebClient }, { createOutbox }, { createSlackSurface }] = await Promise.all([
      import('@slack/web-api'),
      import('./slack/outbox.ts'),
      import('./slack/slack-surface.ts'),
    ])
    const outboxStore = createOutboxStore(database)
    const outbox = createOutbox({
      store: outboxStore,
      // The outbox has a client of its own: WebClient pauses its whole queue on a 429, which would delay views.open
      // (whose trigger_id lives 3 s) behind a rate-limited chat.postMessage. It fails fast and lets the outbox retry.
      client: new WebClient(config.slack.botToken, {
        slackApiUrl: config.slack.apiUrl,
        rejectRateLimitedCalls: true,
        retryConfig: { retries: 0 },
        timeout: 30_000,
      }),
      // Real time even under a test clock: its backoffs and Retry-After are waits on Slack, not on runs.
      clock: systemClock,
      logger: logger.child({ surface: 'slack' }),
      owner,
      pollMs: 250,
    })
    slack = await createSlackSurface({
      slack: config.slack,
      outbox,
      outboxStore,
      engine,
      versions,
      flows,
      logger,
      admins: config.admins,
      defaultChannel: config.defaultChannel,
      consoleLink: (user) => consoleSignIn.issueLink(slackIdentity(user)),
      approvalUrl: (waitId) => `${publicUrl}/ui/approvals/${waitId}`,
    })
  } else logger.info('Slack is off: SLACK_BOT_TOKEN is not set; runs are driven through the API and CLI')

  const app = createHttpApp({
    versions,
    flows,
    tokens,
    engine,
    secrets,
    webhooks: createWebhooks({ flows, flowOf: engine.flowOf, runs: engine.runs, secrets, clock, logger }),
    connections: connectionService,
    secretKey,
    logger,
    metrics: createMetrics(database.stats),
    ready: database.ready,
    maxBodyBytes: config.maxBodyBytes,
    slackRoute: slack?.route,
    admin: { retention, backups: createBackups(config.databaseUrl, config.dataDir) },
    console: { routes: webConsole.routes, api: consoleLinkRoute(consoleSignIn) },
  })
  const listening = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s))
    s.once('error', reject)
  })
  // Without a createServer option, serve() builds a node:http server: the one whose connections a shutdown drains.
  if (!(listening instanceof HttpServer)) throw new Error('expected a node:http server')
  const server = listening
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  if (!config.publicUrlSet) publicUrl = url
  await slack?.start()
  logger.info({ url, database: config.databaseUrl.replace(/\?.*$/, '') }, 'greenlight is listening')

  return {
    url,
    cliTokenPath,
    logger,
    retention,
    async close() {
      const deadline = expiry(config.shutdownTimeoutMs)
      let drained = true
      const bounded = async (what: string, work: Promise<unknown>): Promise<void> => {
        const settled = work.then(
          () => true,
          (error: unknown) => {
            logger.error({ err: error }, `shutdown: ${what} failed`)
            return true
          },
        )
        if (await Promise.race([settled, deadline.expired.then(() => false)])) return
        drained = false
        logger.warn({ timeout_ms: config.shutdownTimeoutMs }, `shutdown: gave up waiting for ${what}`)
      }
      // No new connections from now on; idle keep-alive connections close as they become idle, so a client
      // reconnects (and is refused) instead of sending a new request into a closing server.
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Console pages left open hold a server-sent event stream each: end them, or the drain waits on them.
      webConsole.closeLive()
      const idle = setInterval(() => server.closeIdleConnections(), 50)
      server.closeIdleConnections()
      // Requests first: a callback's commit resumes its run on this instance, so the scheduler must still be there.
      await bounded('in-flight requests', httpClosed)
      clearInterval(idle)
      server.closeAllConnections()
      engine?.schedules.stop()
      await bounded('the prune', retention.stop())
      const stopped = await engine?.scheduler.stop(deadline.expired)
      if (stopped && stopped.abandoned > 0) {
        drained = false
        logger.warn({ runs: stopped.abandoned }, 'shutdown: steps still running were handed back to other instances')
      }
      await bounded('Slack', slack?.stop() ?? Promise.resolve())
      await bounded('database commits', database.settled())
      uninstallPool()
      await bounded('expression evaluators', expressionPool.close())
      deadline.cancel()
      // Abandoned steps may still read and write: closing the native connections under them aborts the process.
      // Left open, they end with the process (a commit never half-happens), which exits a moment later.
      if (!stopped || stopped.abandoned === 0) database.close()
      return { drained }
    },
  }
}

/** A deadline `ms` from now; `expired` settles then, or never once cancelled. */
function expiry(ms: number): { expired: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return { expired, cancel: () => clearTimeout(timer) }
}
