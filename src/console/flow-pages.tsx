// /ui/flows: the flows, one flow's revisions with the live marker, and the diff between any two of its revisions.
import { createTwoFilesPatch } from 'diff'
import { Hono } from 'hono'
import type { Redactor } from '../core/redact.ts'
import type { FlowRepository } from '../engine/ports.ts'
import { notFound } from '../errors.ts'
import { type DiffLayout, paginateDiff } from './diff-view.ts'
import { FlowPage, FlowsPage } from './pages/flows.tsx'
import type { Frame } from './pages/layout.tsx'
import type { ConsoleEnv } from './session.ts'
import type { ConsoleSession } from './sign-in.ts'

export function flowPages(deps: {
  flows: FlowRepository
  redactor: Redactor
  frameOf: (c: never, title: string) => Frame
  requireAll: (s: ConsoleSession, what: string) => void
  session: (c: never) => ConsoleSession
  layoutOf: (q: string | undefined) => DiffLayout
  pageOf: (q: string | undefined) => number
}) {
  const app = new Hono<ConsoleEnv>()
  app.get('/', async (c) => {
    deps.requireAll(deps.session(c as never), 'the flows')
    return c.html(<FlowsPage frame={deps.frameOf(c as never, 'Flows')} flows={await deps.flows.list()} />)
  })
  app.get('/:slug', async (c) => {
    deps.requireAll(deps.session(c as never), 'a flow')
    const slug = c.req.param('slug')
    const flow = await deps.flows.get(slug)
    if (!flow) throw notFound('flow_not_found', `No flow with slug '${slug}'.`)
    const revisions = await deps.flows.revisions(slug)
    const pick = (q: string | undefined, fallback: number | undefined) => {
      const n = Number.parseInt(q ?? '', 10)
      return revisions.find((r) => r.number === (Number.isFinite(n) ? n : fallback))
    }
    const live = revisions.find((r) => r.version !== null && r.version === flow.liveVersion)
    const to = pick(c.req.query('to'), flow.draftRevision)
    const from = pick(c.req.query('from'), live && live.number !== to?.number ? live.number : (to?.number ?? 1) - 1)
    const fold = c.req.query('context') !== 'full'
    const patch =
      from && to && from.number !== to.number
        ? createTwoFilesPatch(
            `${slug}.yaml`,
            `${slug}.yaml`,
            deps.redactor.text(from.source),
            deps.redactor.text(to.source),
            `r${from.number}`,
            `r${to.number}`,
          )
        : null
    const diff = patch
      ? {
          diff: paginateDiff(`diff --git a/${slug}.yaml b/${slug}.yaml\n${patch}`, { fold }),
          layout: deps.layoutOf(c.req.query('layout')),
          page: deps.pageOf(c.req.query('page')),
          base: `/ui/flows/${encodeURIComponent(slug)}?from=${from?.number}&to=${to?.number}`,
          fold,
        }
      : null
    return c.html(
      <FlowPage
        frame={deps.frameOf(c as never, `Flow ${slug}`)}
        flow={flow}
        revisions={revisions.map((r) => ({ ...r, source: deps.redactor.text(r.source) }))}
        from={from}
        to={to ? { ...to, source: deps.redactor.text(to.source) } : undefined}
        diff={diff}
      />,
    )
  })
  return app
}
