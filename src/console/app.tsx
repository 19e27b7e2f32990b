// The web console under /ui: server-rendered pages over the engine's reads, sign-in by one-time link, votes through
// the engine's vote path (every approval rule, mirrored to Slack), and live updates over server-sent events.
import { Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Logger } from 'pino'
import type { Redactor } from '../core/redact.ts'
import { isRunStatus } from '../core/run-status.ts'
import { readAccess } from '../core/scopes.ts'
import type { Engine } from '../engine/engine.ts'
import type { FlowRepository } from '../engine/ports.ts'
import { parseResourceRef } from '../engine/resources.ts'
import { AppError, isAppError, notFound } from '../errors.ts'
import { limitBody } from '../http/body-limit.ts'
import { approvalPages, type PageKit } from './approval-routes.tsx'
import { loadAssets } from './assets.ts'
import { createDiffCache, type DiffLayout } from './diff-view.ts'
import { flowPages } from './flow-pages.tsx'
import { createLive } from './live.ts'
import { ResourcePage } from './pages/flows.tsx'
import type { Frame } from './pages/layout.tsx'
import { ConfirmSignInPage, ErrorPage, SignInPage } from './pages/messages.tsx'
import { RunPage } from './pages/run.tsx'
import { RunsPage } from './pages/runs.tsx'
import { type ConsoleEnv, checkedForm, clearSessionCookie, readSession, setSessionCookie } from './session.ts'
import type { ConsoleSession, ConsoleSignIn } from './sign-in.ts'

export interface ConsoleDeps {
  engine: Engine
  flows: FlowRepository
  signIn: ConsoleSignIn
  redactor: Redactor
  publicUrl: () => string
  logger: Logger
}

/** Where to go after signing in: the page that asked for it, for 10 minutes. */
const RETURN_COOKIE = 'gl_return'
/** A path of this console only (never another site: no scheme, no `//`, no backslash). */
const isConsolePath = (path: string): boolean =>
  /^\/ui\/[^/\\]/.test(path) && path.length <= 2000 && !/[\r\n]/.test(path)

const NOTICES: Record<string, string> = {
  recorded: 'Your vote is recorded.',
  duplicate: 'You had already cast this vote; it counts once.',
  signed_in: 'You are signed in.',
}

export function createConsole(deps: ConsoleDeps) {
  const { engine, signIn } = deps
  const assets = loadAssets()
  const href = (name: string) => assets.get(name)?.href ?? `/ui/assets/${name}`
  const assetLinks = {
    css: href('console.css'),
    diffCss: href('diff2html.css'),
    hljsCss: href('highlight.css'),
    js: href('console.js'),
  }
  const live = createLive(engine.changes)
  const diffs = createDiffCache()
  const secure = () => deps.publicUrl().startsWith('https:')
  const frameOf = (
    c: { get(k: 'session'): ConsoleSession | undefined; get(k: 'sessionSecret'): string | undefined },
    title: string,
    liveUrl?: string,
  ): Frame => {
    const secret = c.get('sessionSecret')
    return {
      title,
      session: c.get('session'),
      csrf: secret ? signIn.csrfToken(secret) : undefined,
      assets: assetLinks,
      live: liveUrl,
    }
  }
  /** Masks every known secret in what a page shows, beyond what the store already masked. */
  const mask = <T,>(value: T): T => deps.redactor.value(value) as T

  const app = new Hono<ConsoleEnv>()
  app.use('*', async (c, next) => {
    await next()
    c.header('x-content-type-options', 'nosniff')
    c.header('referrer-policy', 'no-referrer')
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store')
    if ((c.res.headers.get('content-type') ?? '').startsWith('text/html')) {
      c.header('x-frame-options', 'DENY')
      c.header(
        'content-security-policy',
        "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      )
    }
  })
  // Room for the largest Approve with edits form: 10 fields of 20,000 characters, percent-encoded.
  app.use('*', limitBody(2 * 1024 * 1024))

  app.get('/assets/:name', (c) => {
    const a = assets.get(c.req.param('name'))
    if (!a) throw notFound('not_found', 'No such console asset.')
    c.header('content-type', a.type)
    c.header('cache-control', 'public, max-age=31536000, immutable')
    return c.body(a.body)
  })

  // The link only shows a button: a GET never spends it (Slack's link previews and mail scanners open links).
  app.get('/login/:secret', (c) =>
    c.html(<ConfirmSignInPage frame={{ title: 'Sign in', assets: assetLinks }} secret={c.req.param('secret')} />),
  )
  app.post('/login', async (c) => {
    const origin = c.req.header('origin')
    if (
      origin &&
      origin !== 'null' &&
      origin !== new URL(c.req.url).origin &&
      origin !== new URL(deps.publicUrl()).origin
    )
      throw new AppError('cross_site', 'Sign-in was posted from another site; nothing was changed.', { status: 403 })
    const form = await c.req.parseBody()
    const { sessionSecret, session: signedIn } = await signIn.redeem(typeof form.link === 'string' ? form.link : '')
    setSessionCookie(c, sessionSecret, secure())
    // Back to the page that asked for a sign-in (a "View full diff" link from Slack), else the runs.
    const back = getCookie(c, RETURN_COOKIE)
    if (back !== undefined) deleteCookie(c, RETURN_COOKIE, { path: '/ui' })
    // A voter's token (approvals:decide without runs:read) reads approvals only: start there.
    const home = readAccess(signedIn.scopes) === 'all' ? '/ui/runs' : '/ui/approvals'
    return c.redirect(back && isConsolePath(back) ? back : `${home}?notice=signed_in`, 303)
  })
  app.get('/signin', (c) => c.html(<SignInPage frame={{ title: 'Sign in', assets: assetLinks }} reason={null} />))

  app.use('*', readSession(signIn))
  app.post('/logout', async (c) => {
    await checkedForm(c, signIn)
    await signIn.signOut(c.get('sessionSecret') as string)
    clearSessionCookie(c)
    return c.redirect('/ui/signin', 303)
  })
  // Every page below needs a live session; without one, the sign-in page says why (401).
  app.use('*', async (c, next) => {
    if (c.get('session')) return next()
    const reason = c.get('staleCookie')
      ? 'Your session has expired or is not valid. Sign in again with a new link.'
      : 'Sign in to see this page.'
    const path = `${c.req.path}${new URL(c.req.url).search}`
    if (c.req.method === 'GET' && isConsolePath(path) && !path.startsWith('/ui/live/'))
      setCookie(c, RETURN_COOKIE, path, { path: '/ui', httpOnly: true, sameSite: 'Lax', secure: secure(), maxAge: 600 })
    return c.html(<SignInPage frame={{ title: 'Sign in', assets: assetLinks }} reason={reason} />, 401)
  })

  const session = (c: { get(k: 'session'): ConsoleSession | undefined }) => c.get('session') as ConsoleSession
  const requireAll = (s: ConsoleSession, what: string) => {
    if (readAccess(s.scopes) !== 'all')
      throw new AppError('forbidden', `This sign-in reads approvals only; ${what} needs 'runs:read'.`, { status: 403 })
  }
  const requireRun = async (s: ConsoleSession, runId: string) => {
    if (readAccess(s.scopes) !== 'all' && !(await engine.approvals.mayReadRun(runId)))
      throw new AppError('forbidden', "This sign-in reads approvals only; a run without one needs 'runs:read'.", {
        status: 403,
      })
    return engine.runs.requireRun(runId)
  }
  const noticeOf = (c: { req: { query(k: string): string | undefined } }) =>
    NOTICES[c.req.query('notice') ?? ''] ?? null
  const layoutOf = (q: string | undefined): DiffLayout => (q === 'split' ? 'split' : 'unified')
  const pageOf = (q: string | undefined) => Math.max(1, Math.min(Number.parseInt(q ?? '1', 10) || 1, 1_000_000))

  const kit: PageKit = {
    engine,
    signIn,
    redactor: deps.redactor,
    frameOf,
    mask,
    session,
    noticeOf,
    layoutOf,
    pageOf,
    diffs,
  }
  app.get('/', (c) => c.redirect('/ui/runs', 302))
  app.get('/runs', async (c) => {
    requireAll(session(c), 'the runs list')
    const filter = {
      flow: (c.req.query('flow') ?? '').trim().slice(0, 100),
      status: (c.req.query('status') ?? '').trim(),
      initiator: (c.req.query('initiator') ?? '').trim().slice(0, 200),
    }
    const before = c.req.query('before')
    const limit = Math.min(Math.max(Number.parseInt(c.req.query('limit') ?? '50', 10) || 50, 1), 200)
    const runs = await engine.runs.list({
      ...(filter.flow ? { flow: filter.flow } : {}),
      ...(filter.initiator ? { initiator: filter.initiator } : {}),
      ...(isRunStatus(filter.status) ? { status: [filter.status] } : {}),
      limit,
      ...(before && /^run_[0-9A-Z]{26}$/.test(before) ? { before } : {}),
    })
    const last = runs.at(-1)
    const next =
      runs.length === limit && last
        ? `/ui/runs?${new URLSearchParams({ ...filter, limit: String(limit), before: last.id })}`
        : null
    const frame = frameOf(c, 'Runs')
    const notice = noticeOf(c)
    return c.html(<RunsPage frame={frame} runs={mask(runs)} filter={filter} next={next} notice={notice} />)
  })

  app.get('/runs/:id', async (c) => {
    const run = await requireRun(session(c), c.req.param('id'))
    const [detail, events, flow] = await Promise.all([
      engine.reads.runDetail(run),
      engine.reads.events(run.id),
      engine.flowOf(run.revisionId).catch(() => undefined),
    ])
    const planned = (flow?.steps ?? []).map((s) => ({ id: s.id, kind: s.kind, name: s.def.name }))
    return c.html(
      <RunPage
        frame={frameOf(c, `Run ${run.id}`, `/ui/live/runs/${run.id}`)}
        detail={mask(detail)}
        events={mask(events.slice(-2000))}
        planned={planned}
        now={Date.now()}
      />,
    )
  })

  app.get('/live/runs/:id', async (c) => {
    const run = await requireRun(session(c), c.req.param('id'))
    return live.stream(c, run.id)
  })

  app.route('/approvals', approvalPages(kit))

  app.get('/resources/:id', async (c) => {
    const resource = await readableResource(session(c), c.req.param('id'))
    const textual = /^(text\/|application\/(json|x-yaml|yaml|xml|x-diff|javascript))/.test(resource.mediaType)
    const preview = textual ? deps.redactor.text(resource.content.subarray(0, 200_000).toString('utf8')) : null
    return c.html(
      <ResourcePage
        frame={frameOf(c, 'Resource')}
        id={resource.id}
        mediaType={resource.mediaType}
        size={resource.size}
        runId={resource.runId}
        preview={preview}
      />,
    )
  })
  app.get('/resources/:id/download', async (c) => {
    const resource = await readableResource(session(c), c.req.param('id'))
    c.header('content-type', resource.mediaType)
    c.header('content-disposition', `attachment; filename="${resource.id.slice(0, 16)}"`)
    return c.body(new Uint8Array(resource.content))
  })
  async function readableResource(s: ConsoleSession, ref: string) {
    const id = parseResourceRef(ref)
    const resource = await engine.resources.get(id)
    if (!resource) throw notFound('resource_not_found', `No resource res://${id}.`)
    if (readAccess(s.scopes) !== 'all' && !(await engine.approvals.mayReadResource(id, resource.runId)))
      throw new AppError('forbidden', "This sign-in reads approvals only; this resource needs 'runs:read'.", {
        status: 403,
      })
    return resource
  }

  app.route(
    '/flows',
    flowPages({ flows: deps.flows, frameOf, requireAll, session, layoutOf, pageOf, redactor: deps.redactor }),
  )

  app.all('*', (c) => {
    throw notFound('not_found', `No console page at ${c.req.path}.`)
  })
  app.onError((error, c) => {
    const known = isAppError(error)
    if (!known) deps.logger.error({ err: error, path: c.req.path }, 'console error')
    const status = known ? error.status : 500
    const message = known ? error.message : 'The console hit an unexpected error; it is logged.'
    const frame = { ...frameOf(c as never, 'Error') }
    return c.html(
      <ErrorPage
        frame={frame}
        code={known ? error.code : 'internal_error'}
        message={message}
        hint={known ? error.hint : undefined}
      />,
      status as never,
    )
  })

  // Mounted by the HTTP app as a plain Hono: its session variables are set and read only inside.
  return { routes: app as unknown as Hono, closeLive: live.closeAll }
}

export type Console = ReturnType<typeof createConsole>
