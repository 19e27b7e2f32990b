// The Hono application: health, metrics, /api/v1, and the one place errors become HTTP answers.
import { Hono } from 'hono'
import type { Logger } from 'pino'
import type { Connections } from '../engine/connections.ts'
import type { Engine } from '../engine/engine.ts'
import type { FlowVersions } from '../engine/flow-versions.ts'
import type { FlowRepository } from '../engine/ports.ts'
import type { Secrets } from '../engine/secrets.ts'
import type { Tokens } from '../engine/tokens.ts'
import type { Webhooks } from '../engine/webhooks.ts'
import { AppError } from '../errors.ts'
import { createMcpHandler } from '../mcp/http.ts'
import { type AdminDeps, adminRoutes } from './api/admin.ts'
import { approvalRequestRoutes } from './api/approval-requests.ts'
import { auditRoutes } from './api/audit.ts'
import { connectionRoutes } from './api/connections.ts'
import { flowRoutes } from './api/flows.ts'
import { jobRoutes } from './api/jobs.ts'
import { resourceRoutes } from './api/resources.ts'
import { runRoutes, usageRoutes } from './api/runs.ts'
import { searchRoutes } from './api/search.ts'
import { secretRoutes } from './api/secrets.ts'
import { tokenRoutes, whoamiRoute } from './api/tokens.ts'
import { waitRoutes } from './api/waits.ts'
import { type ApiEnv, authenticate } from './auth.ts'
import { limitBody } from './body-limit.ts'
import { callbackRoutes } from './callbacks.ts'
import { fail } from './envelope.ts'
import { hookRoutes } from './hooks.ts'
import type { Metrics } from './metrics.ts'

export interface HttpDeps {
  versions: FlowVersions
  flows: FlowRepository
  tokens: Tokens
  engine: Engine
  secrets: Secrets
  connections: Connections
  secretKey: Buffer
  metrics: Metrics
  logger: Logger
  ready: () => Promise<boolean>
  maxBodyBytes: number
  /** `POST /slack/events` (Slack HTTP mode), when Slack is on without Socket Mode. */
  slackRoute?: Hono | undefined
  /** `POST /hooks/:slug`, webhook triggers. */
  webhooks?: Webhooks | undefined
  /** `/api/v1/admin`: prune and backup (admin scope). */
  admin?: AdminDeps | undefined
  /** The web console (`/ui/…`) and its sign-in link route (`POST /api/v1/console/login`). */
  console?: { routes: Hono; api: Hono<ApiEnv> } | undefined
}

/** Webhook bodies are buffered before they are authenticated, so their cap is lower than the API's. */
export const WEBHOOK_MAX_BYTES = 1024 * 1024

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono()
  app.use('*', deps.metrics.middleware)

  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/readyz', async (c) => {
    const ready = await deps.ready()
    return c.json({ ok: ready, checks: { database: ready } }, ready ? 200 : 503)
  })
  app.get('/metrics', async (c) => {
    c.header('content-type', deps.metrics.registry.contentType)
    return c.body(await deps.metrics.registry.metrics())
  })

  const api = new Hono<ApiEnv>()
  api.use('*', limitBody(deps.maxBodyBytes))
  api.use('*', authenticate(deps.tokens))
  api.route('/flows', flowRoutes(deps))
  api.route('/tokens', tokenRoutes(deps.tokens))
  api.route('/whoami', whoamiRoute())
  api.route('/runs', runRoutes(deps.engine))
  api.route('/approval-requests', approvalRequestRoutes(deps.engine.requests))
  api.route('/waits', waitRoutes(deps.engine))
  api.route('/resources', resourceRoutes(deps.engine))
  api.route('/search', searchRoutes(deps.engine))
  api.route('/usage', usageRoutes(deps.engine))
  api.route('/audit', auditRoutes(deps.engine))
  api.route('/secrets', secretRoutes(deps.secrets))
  api.route('/connections', connectionRoutes(deps.connections))
  api.route('/jobs', jobRoutes(deps.engine.jobs, deps.engine.changes))
  if (deps.admin) api.route('/admin', adminRoutes(deps.admin))
  if (deps.console) api.route('/console', deps.console.api)
  app.route('/api/v1', api)
  if (deps.console) app.route('/ui', deps.console.routes)
  // MCP for coding agents: its tools call this same app with the agent's token, so scopes and errors are the API's.
  const mcp = createMcpHandler({
    scopesOf: async (token) => (await deps.tokens.authenticate(token))?.scopes,
    fetch: async (request) => app.fetch(request),
  })
  app.all('/mcp', (c) => mcp(c.req.raw))
  if (deps.slackRoute) app.route('/', deps.slackRoute)
  app.route('/callbacks', callbackRoutes(deps.engine, deps.secretKey, deps.maxBodyBytes))
  if (deps.webhooks) app.route('/hooks', hookRoutes(deps.webhooks, Math.min(deps.maxBodyBytes, WEBHOOK_MAX_BYTES)))

  app.notFound((c) =>
    fail(
      c,
      new AppError('not_found', `No route for ${c.req.method} ${c.req.path}.`, {
        status: 404,
        hint: 'See docs/cli.md for the API.',
      }),
    ),
  )
  app.onError((error, c) => {
    if (error instanceof AppError) {
      // The body was refused unread: close the connection, or a client reusing it races our close (fetch failed).
      if (error.status === 413) c.header('connection', 'close')
      if (error.status >= 500) deps.logger.error({ err: error, path: c.req.path }, error.message)
      return fail(c, error)
    }
    deps.logger.error({ err: error, method: c.req.method, path: c.req.routePath }, 'unhandled error')
    return fail(c, new AppError('internal_error', 'The server hit an unexpected error; it is logged.', { status: 500 }))
  })
  return app
}
