// Versioned flows: push drafts, release immutable versions, promote (or roll back) the live one, diff any two.
import { createHash } from 'node:crypto'
import { createTwoFilesPatch } from 'diff'
import type { FlowDefinition, FlowProblem } from '../core/flow/index.ts'
import { validateFlowSource } from '../core/flow/index.ts'
import { REQUEST_FLOW_SLUG } from '../core/request-flow.ts'
import { closest } from '../core/suggest.ts'
import { AppError, conflict, notFound } from '../errors.ts'
import type { Clock, ConnectionLookup, FlowRecord, FlowRepository, RevisionRecord } from './ports.ts'

export interface FlowVersionsDeps {
  flows: FlowRepository
  connections: ConnectionLookup
  clock: Clock
  /** Called after a release or promote made a version live (schedules follow the live version). */
  onLiveChange?: (slug: string) => Promise<void>
  /** Most steps a pushed flow may have (GREENLIGHT_MAX_FLOW_STEPS); the validator's default when unset. */
  maxFlowSteps?: number
}

export interface PushResult {
  slug: string
  revision: number
  created: boolean
  contentHash: string
}

export interface ReleaseOptions {
  note?: string | null
  by?: string | null
  promote?: boolean
}

/** A reference to one revision: `draft`, `live`, a version (`3` or `v3`) or a revision number (`r5`). */
export type RevisionRef = string

export function invalidFlow(problems: FlowProblem[], file?: string): AppError {
  const first = problems[0]
  const where = first ? `${first.file}:${first.line}:${first.column}` : (file ?? 'flow')
  return new AppError('invalid_flow', `${where} ${first?.message ?? 'The flow is invalid.'}`, {
    status: 422,
    hint: first?.fix,
    details: { problems },
  })
}

/** The built-in request flow is changed only by migrations: every run of it must mean the same thing. */
function refuseBuiltIn(slug: string): void {
  if (slug !== REQUEST_FLOW_SLUG) return
  throw conflict('builtin_flow', `Flow '${slug}' is built in; it cannot be pushed, released or promoted.`, {
    hint: "Ask for an ad-hoc approval with 'greenlight request-approval' (MCP: request_approval), or give your flow another slug.",
    details: { slug },
  })
}

export function contentHash(source: string): string {
  return createHash('sha256').update(source).digest('hex')
}

export function createFlowVersions(deps: FlowVersionsDeps) {
  const { flows, connections, clock } = deps

  async function requireFlow(slug: string): Promise<FlowRecord> {
    const flow = await flows.get(slug)
    if (flow) return flow
    const suggestion = closest(
      slug,
      (await flows.list()).map((f) => f.slug),
    )
    return Promise.reject(
      notFound('flow_not_found', `No flow with slug '${slug}'.`, {
        hint: suggestion
          ? `Did you mean '${suggestion}'? Run 'greenlight flows list'.`
          : "Run 'greenlight flows list' to see the flows, or 'greenlight flows push <file>' to add one.",
        details: { slug, ...(suggestion ? { suggestion } : {}) },
      }),
    )
  }

  async function resolveRef(slug: string, ref: RevisionRef): Promise<RevisionRecord> {
    const flow = await requireFlow(slug)
    const lower = ref.toLowerCase()
    let revision: RevisionRecord | undefined
    if (lower === 'draft') revision = await flows.revisionByNumber(slug, flow.draftRevision)
    else if (lower === 'live') {
      if (flow.liveVersion === null) {
        throw notFound('no_live_version', `Flow '${slug}' has no live version yet.`, {
          hint: `Run 'greenlight flows release ${slug}' to release the draft.`,
        })
      }
      revision = await flows.revisionByVersion(slug, flow.liveVersion)
    } else if (/^v?\d+$/.test(lower)) revision = await flows.revisionByVersion(slug, Number(lower.replace('v', '')))
    else if (/^r\d+$/.test(lower)) revision = await flows.revisionByNumber(slug, Number(lower.slice(1)))
    else {
      throw new AppError('invalid_ref', `'${ref}' is not a revision reference.`, {
        hint: "Use 'draft', 'live', a version such as 3 or v3, or a revision such as r5.",
      })
    }
    if (!revision) {
      throw notFound('revision_not_found', `Flow '${slug}' has no revision '${ref}'.`, {
        hint: `Run 'greenlight flows show ${slug}' to list its versions and revisions.`,
      })
    }
    return revision
  }

  async function checkRequirements(definition: FlowDefinition): Promise<void> {
    const required = definition.requires?.connections ?? []
    const missing = await connections.missing(required)
    if (missing.length > 0) {
      throw new AppError('requirements_missing', `Missing connection(s): ${missing.join(', ')}.`, {
        status: 422,
        hint: `Create them with 'greenlight connections set <name> …', then try again.`,
        details: { missing: { connections: missing } },
      })
    }
  }

  /** The child flows a definition's steps name, with the revision each would start. */
  function childrenOf(definition: FlowDefinition): { slug: string; version: 'live' | 'draft' | number }[] {
    return definition.steps.flatMap((step) =>
      step.flow ? [{ slug: step.flow.slug, version: step.flow.version ?? 'live' }] : [],
    )
  }

  async function checkNoCycle(slug: string, definition: FlowDefinition): Promise<void> {
    const seen = new Set<string>()
    const walk = async (of: FlowDefinition, path: string[]): Promise<void> => {
      for (const child of childrenOf(of)) {
        const next = [...path, child.slug]
        if (child.slug === slug) {
          throw new AppError(
            'flow_cycle',
            `Releasing '${slug}' would make a cycle of child flows: ${next.join(' → ')}.`,
            {
              status: 422,
              hint: 'A flow may not start itself, directly or through its children; remove one of the flow steps.',
              details: { cycle: next },
            },
          )
        }
        const key = `${child.slug}@${child.version}`
        if (seen.has(key)) continue
        seen.add(key)
        const target = await flows.get(child.slug)
        if (!target) continue
        const revision =
          child.version === 'draft'
            ? await flows.revisionByNumber(child.slug, target.draftRevision)
            : await flows.revisionByVersion(
                child.slug,
                child.version === 'live' ? (target.liveVersion ?? -1) : child.version,
              )
        if (revision) await walk(revision.definition as FlowDefinition, next)
      }
    }
    await walk(definition, [slug])
  }

  return {
    requireFlow,
    resolveRef,

    async push(source: string, file: string, by: string | null): Promise<PushResult> {
      const result = validateFlowSource(source, file, { maxSteps: deps.maxFlowSteps })
      if (!result.ok) throw invalidFlow(result.problems, file)
      const flow = result.flow
      refuseBuiltIn(flow.slug)
      const hash = contentHash(source)
      const { revision, created } = await flows.pushRevision({
        slug: flow.slug,
        name: flow.name ?? flow.slug,
        description: flow.description ?? null,
        contentHash: hash,
        source,
        definition: flow,
        createdBy: by,
        at: clock.now(),
      })
      return { slug: flow.slug, revision: revision.number, created, contentHash: hash }
    },

    /**
     * Refuses a release whose child flows lead back to it: this draft's `flow` steps, then the revisions they would
     * start (live, a version, or the draft), and theirs. A cycle hidden behind something else is caught at run time
     * by the depth limit.
     */
    async release(slug: string, options: ReleaseOptions = {}): Promise<RevisionRecord> {
      refuseBuiltIn(slug)
      const flow = await requireFlow(slug)
      const draft = await resolveRef(slug, 'draft')
      if (draft.version !== null) {
        throw conflict('already_released', `The draft of '${slug}' is already version ${draft.version}.`, {
          hint: `Push a change first, or run 'greenlight flows promote ${slug} ${draft.version}' to make it live.`,
          details: { version: draft.version, live: flow.liveVersion },
        })
      }
      // Validate again: the draft was valid when pushed, but the rules may have grown since.
      const result = validateFlowSource(draft.source, `${slug}@r${draft.number}`, { maxSteps: deps.maxFlowSteps })
      if (!result.ok) throw invalidFlow(result.problems)
      await checkRequirements(result.flow)
      await checkNoCycle(slug, result.flow)
      const released = await flows.release(
        slug,
        draft.number,
        options.by ?? null,
        options.note ?? null,
        clock.now(),
        options.promote ?? true,
      )
      if (options.promote ?? true) await deps.onLiveChange?.(slug)
      return released
    },

    async promote(slug: string, version: number): Promise<{ previous: number | null; live: number }> {
      refuseBuiltIn(slug)
      const flow = await requireFlow(slug)
      const revision = await flows.revisionByVersion(slug, version)
      if (!revision) {
        const released = (await flows.revisions(slug)).flatMap((r) => (r.version === null ? [] : [r.version]))
        throw notFound('version_not_found', `Flow '${slug}' has no version ${version}.`, {
          hint:
            released.length > 0
              ? `Released versions: ${released.sort((a, b) => a - b).join(', ')}.`
              : `Run 'greenlight flows release ${slug}' first.`,
          details: { released },
        })
      }
      await flows.setLive(slug, version, clock.now())
      await deps.onLiveChange?.(slug)
      return { previous: flow.liveVersion, live: version }
    },

    async diff(slug: string, fromRef: RevisionRef, toRef: RevisionRef) {
      const [from, to] = [await resolveRef(slug, fromRef), await resolveRef(slug, toRef)]
      const label = (r: RevisionRecord) => `${slug}@${r.version === null ? `r${r.number}` : `v${r.version}`}`
      const patch = createTwoFilesPatch(label(from), label(to), from.source, to.source, undefined, undefined, {
        context: 3,
      })
      const lines = patch.split('\n')
      const added = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length
      const removed = lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length
      return {
        from: { ref: fromRef, revision: from.number, version: from.version },
        to: { ref: toRef, revision: to.number, version: to.version },
        identical: from.contentHash === to.contentHash,
        added,
        removed,
        patch: from.contentHash === to.contentHash ? '' : patch,
      }
    },
  }
}

export type FlowVersions = ReturnType<typeof createFlowVersions>
