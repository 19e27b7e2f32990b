// /ui/approvals: the open approvals, one approval with its diff and tally, and the vote form's POST (CSRF-checked),
// cast through the engine's vote path with the session's identity, so every approval rule holds.
import { Hono } from 'hono'
import { tally } from '../core/approvals/policy.ts'
import type { Redactor } from '../core/redact.ts'
import { hasScope } from '../core/scopes.ts'
import { specOf } from '../core/wait-spec.ts'
import type { Engine } from '../engine/engine.ts'
import { RESOURCE_REF, resolveText } from '../engine/resources.ts'
import { AppError, notFound } from '../errors.ts'
import type { DiffLayout, ParsedDiff } from './diff-view.ts'
import { ApprovalPage } from './pages/approval.tsx'
import type { Frame } from './pages/layout.tsx'
import { ApprovalsPage } from './pages/runs.tsx'
import { type ConsoleEnv, checkedForm } from './session.ts'
import type { ConsoleSession, ConsoleSignIn } from './sign-in.ts'

/** What the console's page routes share: the engine, the sign-in, and the helpers of app.tsx. */
export interface PageKit {
  engine: Engine
  signIn: ConsoleSignIn
  redactor: Redactor
  frameOf: (c: never, title: string, liveUrl?: string) => Frame
  mask: <T>(value: T) => T
  session: (c: never) => ConsoleSession
  noticeOf: (c: never) => string | null
  layoutOf: (q: string | undefined) => DiffLayout
  pageOf: (q: string | undefined) => number
  diffs: (key: string, text: () => Promise<string | undefined>, fold: boolean) => Promise<ParsedDiff | null>
}

const DECISIONS = new Set(['approve', 'reject', 'request_changes'])

export function approvalPages(kit: PageKit) {
  const { engine, signIn, redactor, mask, layoutOf, pageOf, diffs } = kit
  const frameOf = (c: unknown, title: string, liveUrl?: string) => kit.frameOf(c as never, title, liveUrl)
  const session = (c: unknown) => kit.session(c as never)
  const noticeOf = (c: unknown) => kit.noticeOf(c as never)
  const app = new Hono<ConsoleEnv>()

  app.get('/', async (c) => {
    const s = session(c)
    const open = await engine.reads.listWaits({ kind: 'approval', status: ['open'], limit: 200 })
    const mine = new Set(s.slackUser ? (await engine.approvals.waitingOn(s.slackUser)).map((w) => w.wait.id) : [])
    const waits = await Promise.all(
      open.map(async (wait) => ({
        wait,
        flow: (await engine.reads.run(wait.runId))?.flowSlug ?? '',
        mine: mine.has(wait.id),
      })),
    )
    return c.html(<ApprovalsPage frame={frameOf(c, 'Approvals')} waits={waits} notice={noticeOf(c)} />)
  })

  app.get('/:id', async (c) => {
    const s = session(c)
    const wait = await engine.reads.wait(c.req.param('id'))
    if (wait?.kind !== 'approval') throw notFound('wait_not_found', `No approval with id '${c.req.param('id')}'.`)
    const [full, votes] = await Promise.all([engine.runs.requireRun(wait.runId), engine.reads.votes(wait.id)])
    // Only what the page shows of the run: its inputs may be megabytes (a diff passed in), masked for nothing.
    const run = mask({ id: full.id, flowSlug: full.flowSlug, version: full.version, initiator: full.initiator })
    const spec = mask(specOf(wait, 'approval'))
    const fold = c.req.query('context') !== 'full'
    const layout = layoutOf(c.req.query('layout'))
    // A res:// diff is keyed by its content hash, so a second open neither reads nor parses it again.
    const text = async () => {
      const raw = spec.diff === null ? undefined : await resolveText(engine.resources, spec.diff)
      return raw === undefined ? undefined : redactor.text(raw)
    }
    const diffKey = spec.diff !== null && RESOURCE_REF.test(spec.diff) ? spec.diff : `${wait.id}:${wait.digest ?? ''}`
    const parsed = spec.diff === null ? null : await diffs(diffKey, text, fold)
    const plain = parsed && parsed.files.length === 0 ? ((await text()) ?? null) : null
    const base = `/ui/approvals/${wait.id}`
    const t = tally(votes as never, spec.required, wait.digest ?? '')
    const cannotVote = !hasScope(s.scopes, 'approvals:decide')
      ? "This sign-in cannot vote: its token lacks 'approvals:decide'."
      : null
    return c.html(
      <ApprovalPage
        frame={frameOf(c, `Approval ${wait.stepId}`, `/ui/live/runs/${wait.runId}`)}
        wait={wait}
        spec={spec}
        run={run}
        votes={mask(votes)}
        tally={{ approvals: t.approvals, required: t.required, approvers: t.approvers }}
        diff={
          parsed && parsed.files.length > 0
            ? { diff: parsed, layout, page: pageOf(c.req.query('page')), base, fold }
            : null
        }
        plainDiff={plain}
        attachments={attachmentsOf(spec.attachments)}
        cannotVote={cannotVote}
        notice={noticeOf(c)}
      />,
    )
  })

  app.post('/:id/vote', async (c) => {
    const { session: s, fields } = await checkedForm(c, signIn)
    if (!hasScope(s.scopes, 'approvals:decide'))
      throw new AppError(
        'forbidden',
        "This sign-in cannot vote: its token lacks 'approvals:decide'; nothing was changed.",
        { status: 403 },
      )
    const decision = fields.decision ?? ''
    if (!DECISIONS.has(decision))
      throw new AppError('invalid_decision', 'Choose Approve, Reject or Request changes; nothing was changed.', {
        status: 400,
      })
    const comment = (fields.comment ?? '').trim().slice(0, 3000)
    // Approve with edits: the form's `edit.<field>` values; the engine checks them (names, types, sizes).
    const edits = Object.fromEntries(
      Object.entries(fields)
        .filter(([k]) => k.startsWith('edit.'))
        .map(([k, v]) => [k.slice('edit.'.length), v.replace(/\r\n/g, '\n')]),
    )
    const result = await engine.approvals.vote({
      waitId: c.req.param('id'),
      voter: s.actor,
      decision: decision as never,
      comment: comment === '' ? null : comment,
      via: 'console',
      anonymousToken: s.slackUser === null,
      credential: s.tokenId ? { id: s.tokenId, name: s.tokenName ?? '' } : null,
      ...(fields.digest ? { digest: fields.digest } : {}),
      ...(Object.keys(edits).length > 0 ? { edits } : {}),
    })
    return c.redirect(
      `/ui/approvals/${encodeURIComponent(c.req.param('id'))}?notice=${result.recorded ? 'recorded' : 'duplicate'}`,
      303,
    )
  })

  return app
}

function attachmentsOf(list: unknown[]): { title: string; href: string | null }[] {
  return list.slice(0, 50).map((a, i) => {
    const item = (a ?? {}) as { title?: unknown; resource?: unknown; ref?: unknown; content?: unknown }
    const ref = [item.resource, item.ref, item.content, a].find((v) => typeof v === 'string' && RESOURCE_REF.test(v))
    const id = typeof ref === 'string' ? RESOURCE_REF.exec(ref)?.[1] : undefined
    return {
      title: typeof item.title === 'string' ? item.title : `Attachment ${i + 1}`,
      href: id ? `/ui/resources/${id}` : null,
    }
  })
}
