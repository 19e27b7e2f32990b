// /api/v1/flows: push, list, show, diff, release, promote.
import { Hono } from 'hono'
import type { FlowDefinition } from '../../core/flow/index.ts'
import type { FlowVersions } from '../../engine/flow-versions.ts'
import type { FlowRepository, RevisionRecord } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { type ApiEnv, actorOf, requireScope } from '../auth.ts'
import { ok, optionalString, readJson, requiredString } from '../envelope.ts'

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

function revisionView(r: RevisionRecord, live: number | null) {
  return {
    revision: r.number,
    version: r.version,
    live: r.version !== null && r.version === live,
    note: r.note,
    content_hash: r.contentHash,
    created_at: iso(r.createdAt),
    created_by: r.createdBy,
    released_at: iso(r.releasedAt),
    released_by: r.releasedBy,
  }
}

/** What starts the live version besides people: its schedules with their next ticks, and its webhook. */
async function liveTriggers(
  slug: string,
  live: RevisionRecord | undefined,
  schedules: { describe(slug: string): Promise<unknown[]> } | undefined,
) {
  const webhook = (live?.definition as FlowDefinition | undefined)?.triggers?.webhook
  return {
    schedules: live && schedules ? await schedules.describe(slug) : [],
    webhook: webhook ? { path: `/hooks/${slug}`, auth: webhook.auth, secret: webhook.secret } : null,
  }
}

export function flowRoutes(deps: {
  versions: FlowVersions
  flows: FlowRepository
  engine?: { schedules: { describe(slug: string): Promise<unknown[]> } }
}) {
  const { versions, flows } = deps
  const app = new Hono<ApiEnv>()

  app.get('/', requireScope('flows:read'), async (c) => {
    const list = await flows.list()
    return ok(c, {
      flows: list.map((f) => ({
        slug: f.slug,
        name: f.name,
        live_version: f.liveVersion,
        draft_revision: f.draftRevision,
        updated_at: iso(f.updatedAt),
      })),
    })
  })

  app.post('/', requireScope('flows:write'), async (c) => {
    const body = await readJson(c)
    const source = requiredString(body, 'source', 1024 * 1024)
    const file = optionalString(body, 'file', 1000) ?? '<input>'
    const result = await versions.push(source, file, actorOf(c.get('principal')))
    return ok(
      c,
      {
        push: {
          slug: result.slug,
          revision: result.revision,
          created: result.created,
          content_hash: result.contentHash,
        },
      },
      result.created ? 201 : 200,
    )
  })

  app.get('/:slug', requireScope('flows:read'), async (c) => {
    const slug = c.req.param('slug')
    const flow = await versions.requireFlow(slug)
    const ref = c.req.query('ref') ?? (flow.liveVersion === null ? 'draft' : 'live')
    const shown = await versions.resolveRef(slug, ref)
    const revisions = await flows.revisions(slug)
    const live = revisions.find((r) => r.version !== null && r.version === flow.liveVersion)
    return ok(c, {
      flow: {
        slug: flow.slug,
        name: flow.name,
        description: flow.description,
        live_version: flow.liveVersion,
        draft_revision: flow.draftRevision,
        created_at: iso(flow.createdAt),
        updated_at: iso(flow.updatedAt),
        versions: revisions.filter((r) => r.version !== null).map((r) => revisionView(r, flow.liveVersion)),
        revisions: revisions.map((r) => revisionView(r, flow.liveVersion)),
        shown: { ref, ...revisionView(shown, flow.liveVersion), definition: shown.definition, source: shown.source },
        triggers: await liveTriggers(slug, live, deps.engine?.schedules),
      },
    })
  })

  app.get('/:slug/diff', requireScope('flows:read'), async (c) => {
    const slug = c.req.param('slug')
    const flow = await versions.requireFlow(slug)
    const from = c.req.query('from') ?? (flow.liveVersion === null ? 'draft' : 'live')
    const to = c.req.query('to') ?? 'draft'
    return ok(c, { diff: await versions.diff(slug, from, to) })
  })

  app.post('/:slug/release', requireScope('flows:write'), async (c) => {
    const body = await readJson(c)
    const promote = body.promote ?? true
    if (typeof promote !== 'boolean') throw new AppError('invalid_body', "'promote' must be true or false.")
    const released = await versions.release(c.req.param('slug'), {
      note: optionalString(body, 'note', 2000) ?? null,
      by: actorOf(c.get('principal')),
      promote,
    })
    return ok(
      c,
      {
        release: {
          slug: released.flowSlug,
          version: released.version,
          revision: released.number,
          live: promote,
          note: released.note,
          // What a start of this version asks for, so the CLI can suggest one with the required inputs filled in.
          inputs: (released.definition as FlowDefinition).inputs ?? {},
        },
      },
      201,
    )
  })

  app.post('/:slug/promote', requireScope('flows:write'), async (c) => {
    const body = await readJson(c)
    const version = body.version
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new AppError('invalid_body', "'version' must be a positive whole number.")
    }
    const result = await versions.promote(c.req.param('slug'), version)
    return ok(c, { promote: { slug: c.req.param('slug'), ...result } })
  })

  return app
}
