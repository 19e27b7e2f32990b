// The run lifecycle as people and tools see it: start (pinned to a revision), show, list, cancel, retry, usage.
import type { EventEmitter } from 'node:events'
import { allowsManualRuns } from '../core/flow/index.ts'
import { ACTIVE_STATUSES, enterForRetry, initialCursor, isTerminal, type RunStatus } from '../core/run-status.ts'
import { closest } from '../core/suggest.ts'
import { AppError, conflict, notFound } from '../errors.ts'
import { type Actor, type Authorization, actorNamed, type Credential } from './authorization.ts'
import { type CompiledFlow, resolveInputs } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import type { ConnectionLookup, FlowRepository } from './ports.ts'
import { checkRetryFrom, latestAllowed, type RetryHistory } from './retry-gate.ts'
import type { NewEvent, NewRun, RunRecord, Transition, TriggerClaim } from './run-ports.ts'
import { createSettle } from './settle.ts'
import { endRun } from './transitions.ts'
import { usageReport } from './usage.ts'

export interface StartInput {
  slug: string
  draft?: boolean
  inputs: Record<string, unknown>
  initiator: string
  /** The API token that starts it (none for Slack, schedules and webhooks); recorded in run.started. */
  credential?: Credential | null
  trigger: string
  /** Where the run's Slack thread goes (the channel it was started from). */
  slack?: { channel: string } | null
  /** Schedules and webhooks: the tick or delivery this start consumes; a second start with it starts nothing. */
  claim?: TriggerClaim
  /** What the trigger saw (the tick, the delivery); kept in the run.started event. */
  triggerDetails?: Record<string, unknown>
  /** A released version to start instead of the live one (a `flow` step's `version: N`). */
  version?: number
  /** The parent step visit a child run completes when it ends (a `flow` step). */
  parent?: { run: string; step: string; visit: number; depth: number }
}

/** A start decided but not yet written. */
export interface Prepared {
  flow: string
  key: string | null
  newRun: NewRun
  concurrency: { limit: number; onConflict: 'queue' | 'skip' | 'cancel_running' } | null
}

/** The first event of every run, started or refused at its start: what started it, on which revision, with what. */
export function runStartedEvent(
  input: StartInput,
  flow: string,
  revision: { version: number | null; number: number; contentHash: string },
  inputs: unknown,
): NewEvent {
  return {
    type: 'run.started',
    actor: input.initiator,
    data: {
      flow,
      version: revision.version,
      revision: revision.number,
      content_hash: revision.contentHash,
      trigger: input.trigger,
      ...(input.triggerDetails ? { trigger_details: input.triggerDetails } : {}),
      ...(input.credential ? { token: input.credential } : {}),
      ...(input.parent
        ? { parent: { run: input.parent.run, step: input.parent.step, visit: input.parent.visit } }
        : {}),
      inputs,
    },
  }
}

/** Starts made by people (Slack, the CLI and the API), which a flow's `triggers` may turn off. */
const PEOPLE_TRIGGERS: ReadonlySet<string> = new Set(['api', 'slack', 'cli'])
const RETRYABLE: ReadonlySet<string> = new Set(['failed', 'timed_out', 'canceled'])

/** Where a retry resumes a run: the named step, else the failed one, else where the run stopped. */
export interface RetryPlan {
  /** Where a retry without `--from` starts. */
  from: string
  /** Whether that retry is allowed (it does not start at or past an approval that did not grant the artifact). */
  allowed: boolean
  /** The latest step at or before `from` a retry may start at; null when none may (start a new run). */
  suggested_from: string | null
}

function refuseRetry(runId: string, from: string, approval: string, outcome: string, earlier: string | null) {
  const why =
    outcome === 'not_reached'
      ? 'was never reached'
      : outcome === 'superseded'
        ? 'was approved, but the steps before it ran again since'
        : outcome === 'open'
          ? 'is still open'
          : outcome === 'undecided' || outcome === 'failed'
            ? 'was not decided'
            : `was ${outcome.replace('_', ' ')}`
  return conflict(
    'approval_not_granted',
    `A retry from '${from}' would ${from === approval ? 'reopen' : 'get past'} the approval '${approval}', which ${why}.`,
    {
      hint:
        earlier === null
          ? 'No step before it can be retried; start a new run.'
          : `Retry from a step before it, which asks again: 'greenlight runs retry ${runId} --from ${earlier}'.`,
      details: { approval, outcome, from, suggested_from: earlier },
    },
  )
}

/** A tick or delivery that was already consumed: answers the run it started (null when it started none). */
function alreadyStarted(slug: string, claim: TriggerClaim | undefined, runId: string | null): AppError {
  const what = claim?.kind === 'schedule_tick' ? 'This schedule tick' : 'This delivery'
  return conflict(
    claim?.kind === 'schedule_tick' ? 'duplicate_tick' : 'duplicate_delivery',
    runId === null ? `${what} of '${slug}' was already handled.` : `${what} of '${slug}' already started run ${runId}.`,
    {
      ...(runId === null ? {} : { hint: `Run 'greenlight runs show ${runId}'.` }),
      details: { run_id: runId },
    },
  )
}

export function createRuns(
  deps: EngineDeps & {
    flows: FlowRepository
    connections: ConnectionLookup
    resume: (runId: string, leased?: boolean) => void
    changes: EventEmitter
    authorization: Authorization
  },
) {
  const { store, clock, flows } = deps
  const settle = createSettle(deps, deps.resume)

  async function requireRun(id: string): Promise<RunRecord> {
    const run = await store.getRun(id)
    if (!run)
      throw notFound('run_not_found', `No run with id '${id}'.`, {
        hint: "Run 'greenlight runs list' to see recent runs.",
      })
    return run
  }

  /**
   * Everything a start decides before the run row is written: the revision (live, a version, or the draft), whether
   * it may start, its inputs and concurrency key, and the row and first event. A child flow's run is written in
   * its parent step's transaction; every other start writes it at once (`start`).
   */
  async function prepare(input: StartInput): Promise<Prepared> {
    const flow = await flows.get(input.slug)
    if (!flow) {
      const suggestion = closest(
        input.slug,
        (await flows.list()).map((f) => f.slug),
      )
      throw notFound('flow_not_found', `No flow with slug '${input.slug}'.`, {
        hint: suggestion
          ? `Did you mean '${suggestion}'? Run 'greenlight flows list'.`
          : "Run 'greenlight flows list'.",
      })
    }
    const revision = input.draft
      ? await flows.revisionByNumber(flow.slug, flow.draftRevision)
      : input.version !== undefined
        ? await flows.revisionByVersion(flow.slug, input.version)
        : flow.liveVersion === null
          ? undefined
          : await flows.revisionByVersion(flow.slug, flow.liveVersion)
    if (!revision && input.version !== undefined) {
      throw notFound('version_not_found', `Flow '${flow.slug}' has no version ${input.version}.`, {
        hint: `Run 'greenlight flows show ${flow.slug}' to see its versions.`,
      })
    }
    if (!revision) {
      throw new AppError('no_live_version', `Flow '${flow.slug}' has no live version.`, {
        status: 409,
        hint: `Release it with 'greenlight flows release ${flow.slug}', or start the draft with --draft.`,
      })
    }
    const compiled = await deps.flowOf(revision.id)
    const definition = compiled.definition
    // Drafts stay startable by hand, so a schedule-only flow can be tried before it is released.
    if (PEOPLE_TRIGGERS.has(input.trigger) && !input.draft && !allowsManualRuns(definition.triggers)) {
      throw conflict('manual_runs_disabled', `Flow '${flow.slug}' starts only from its triggers, not by hand.`, {
        hint: 'Add manual: {} to its triggers and release it, or start the draft with --draft.',
      })
    }
    // The initiator is a Slack user in Slack and for a token created --as one; other tokens are nobody a rule lists.
    if (PEOPLE_TRIGGERS.has(input.trigger))
      await deps.authorization.assertMayStart(definition, actorNamed(input.initiator, input.slack?.channel ?? null))
    const missing = await deps.connections.missing(definition.requires?.connections ?? [])
    if (missing.length > 0) {
      throw new AppError('requirements_missing', `Missing connection(s): ${missing.join(', ')}.`, {
        status: 422,
        hint: "Create them with 'greenlight connections set <name> …', then start the run again.",
        details: { missing: { connections: missing } },
      })
    }
    const inputs = resolveInputs(definition.inputs, input.inputs)
    const at = clock.now()
    const id = deps.ids.next('run')
    const key = compiled.concurrencyKey
      ? String(
          (await compiled.concurrencyKey.evaluate({
            inputs,
            // The same `run` the steps see (scope.ts), so a key may use any of it.
            run: {
              id,
              flow: flow.slug,
              version: revision.version,
              initiator: input.initiator,
              trigger: input.trigger,
            },
          })) ?? '',
        )
      : null
    const first = compiled.steps[0]?.id ?? null
    const parent = input.parent
    return {
      flow: flow.slug,
      key,
      newRun: {
        run: {
          id,
          flowSlug: flow.slug,
          revisionId: revision.id,
          version: revision.version,
          status: 'running',
          inputs,
          initiator: input.initiator,
          trigger: input.trigger,
          concurrencyKey: key,
          cursor: initialCursor(first),
          waitingOn: null,
          output: null,
          error: null,
          runnableAt: at,
          // Leased to this instance from the start, so it continues here without another claiming write.
          leaseOwner: deps.owner,
          leaseExpiresAt: at + deps.leaseMs,
          slack: input.slack ?? null,
          ...(parent
            ? { parentRunId: parent.run, parentStep: parent.step, parentVisit: parent.visit, depth: parent.depth }
            : {}),
          createdAt: at,
          startedAt: at,
          endedAt: null,
          updatedAt: at,
        },
        events: [runStartedEvent(input, flow.slug, revision, inputs)],
        ...(input.claim ? { claim: input.claim } : {}),
      },
      concurrency: definition.concurrency
        ? { limit: definition.concurrency.limit ?? 1, onConflict: definition.concurrency.on_conflict ?? 'queue' }
        : null,
    }
  }

  /**
   * Cancels a run, then its children that are still active (a `flow` step waiting on them), and theirs: a parent's
   * cancel is not a child's permission to go on.
   */
  async function cancelTree(id: string, actor: Actor): Promise<RunRecord> {
    const at = clock.now()
    const { commit } = await settle.transactAndContinue(async (view) => {
      const run = await view.getRun(id)
      if (!run || isTerminal(run.status)) return { transition: null, result: null }
      const flow = await deps.flowOf(run.revisionId)
      const transition = endRun(run, flow, at, 'canceled', { actor: actor.id, token: actor.credential ?? null })
      transition.fenceStatus = [run.status]
      const waitId = run.waitingOn?.wait_id
      if (waitId && run.status === 'waiting')
        transition.updateWait = { id: waitId, fromStatus: ['open'], patch: { status: 'canceled', completedAt: at } }
      return { transition, result: null }
    })
    const after = await requireRun(id)
    if (!commit?.ok && !isTerminal(after.status))
      throw conflict('cancel_conflict', 'The run changed while canceling; try again.')
    if (commit?.ok) {
      const children = await store.listRuns({ parent: id, status: [...ACTIVE_STATUSES, 'queued'], limit: 1000 })
      for (const child of children) await cancelTree(child.id, { id: 'greenlight', user: null })
    }
    return after
  }

  async function start(input: StartInput): Promise<RunRecord> {
    const { flow, key, newRun, concurrency } = await prepare(input)
    const { run, skippedBecause, duplicateOf } = await store.createRun(newRun, concurrency)
    if (duplicateOf !== undefined) throw alreadyStarted(flow, input.claim, duplicateOf)
    if (skippedBecause) {
      throw conflict(
        'concurrency_limit',
        `Flow '${flow}' already has ${skippedBecause.length} active run(s) for this key; skipped.`,
        {
          hint: `Wait for ${skippedBecause[0]} to finish, or cancel it.`,
          details: { active_runs: skippedBecause, key },
        },
      )
    }
    deps.onRunChange?.(run.id)
    if (run.status === 'running') deps.resume(run.id, true)
    return run
  }

  async function historyOf(run: RunRecord, flow: CompiledFlow): Promise<RetryHistory> {
    const approvals = flow.steps.filter((s) => s.kind === 'approval')
    const [stepRuns, events, waits] = await Promise.all([
      store.stepRuns(run.id),
      store.events(run.id),
      Promise.all(approvals.map((s) => store.getWaitAt(run.id, s.id, run.cursor.visits[s.id] ?? 0))),
    ])
    return { run, steps: flow.steps, stepRuns, events, waits: waits.filter((w) => w !== undefined) }
  }

  const defaultRetryStep = (run: RunRecord, flow: CompiledFlow): string | null =>
    run.error?.step ?? run.cursor.step ?? flow.steps[0]?.id ?? null

  return {
    start,
    prepare,
    requireRun,

    /** Where a retry of this run would start and whether it may; null for a run that cannot be retried. */
    async retryPlan(run: RunRecord): Promise<RetryPlan | null> {
      if (!RETRYABLE.has(run.status)) return null
      const flow = await deps.flowOf(run.revisionId)
      const from = defaultRetryStep(run, flow)
      if (from === null || !flow.steps.some((s) => s.id === from)) return null
      const history = await historyOf(run, flow)
      const allowed = checkRetryFrom(history, from).ok
      return { from, allowed, suggested_from: allowed ? from : latestAllowed(history, from) }
    },

    list: (query: { flow?: string; initiator?: string; status?: RunStatus[]; limit?: number; before?: string }) =>
      store.listRuns({ ...query, limit: Math.min(Math.max(query.limit ?? 20, 1), 200) }),

    async cancel(id: string, actor: Actor): Promise<RunRecord> {
      const current = await requireRun(id)
      // The initiator and the pinned revision never change, so this holds for the transaction below too.
      await deps.authorization.assertMayCancel(current, (await deps.flowOf(current.revisionId)).definition, actor)
      return cancelTree(id, actor)
    },

    async retry(
      id: string,
      from: string | undefined,
      actor: string,
      credential: Credential | null = null,
    ): Promise<RunRecord> {
      const run = await requireRun(id)
      if (!RETRYABLE.has(run.status)) {
        throw conflict(
          'run_not_retryable',
          `Run ${id} is ${run.status}; only failed, timed out or canceled runs can be retried.`,
        )
      }
      const flow = await deps.flowOf(run.revisionId)
      const step = from ?? defaultRetryStep(run, flow)
      if (step === null || !flow.steps.some((s) => s.id === step)) {
        throw new AppError('unknown_step', `The flow has no step '${step}'.`, {
          hint: `Steps: ${flow.steps.map((s) => s.id).join(', ')}.`,
        })
      }
      const history = await historyOf(run, flow)
      const gate = checkRetryFrom(history, step)
      if (!gate.ok) throw refuseRetry(id, step, gate.approval, gate.outcome, latestAllowed(history, step))
      const at = clock.now()
      const concurrency = flow.definition.concurrency
      let replaced: string[] = []
      let queued = false
      // Every change to a run appends an event: an unchanged count means the history judged above is still the run's.
      type Decided = 'changed' | 'retried' | { skippedBecause: string[] }
      const { result: decided, commit } = await store.transact<Decided>(async (view) => {
        const now = await view.getRun(id)
        if (now?.eventCount !== run.eventCount) return { transition: null, result: 'changed' }
        // A retried run takes its key's slot again like a new start: it must not run beside the run holding it.
        const holders = concurrency ? await view.concurrencyHolders(now.flowSlug, now.concurrencyKey, now.id) : []
        const full = concurrency !== undefined && holders.length >= (concurrency.limit ?? 1)
        const onConflict = concurrency?.on_conflict ?? 'queue'
        if (full && onConflict === 'skip') return { transition: null, result: { skippedBecause: holders } }
        queued = full && onConflict === 'queue'
        replaced = full && onConflict === 'cancel_running' ? holders : []
        const transition: Transition = {
          runId: id,
          at,
          fenceStatus: [now.status],
          run: {
            status: queued ? 'queued' : 'running',
            cursor: enterForRetry(now.cursor, step),
            runnableAt: queued ? null : at,
            endedAt: null,
            error: null,
            leaseOwner: null,
            leaseExpiresAt: null,
            waitingOn: null,
          },
          events: [
            {
              type: 'run.retried',
              actor,
              stepId: step,
              data: { from: step, ...(credential ? { token: credential } : {}) },
            },
            ...(queued ? [{ type: 'run.queued', data: { key: now.concurrencyKey, behind: holders } }] : []),
          ],
          ...(replaced.length > 0 ? { cancelRuns: { ids: replaced, actor } } : {}),
        }
        return { transition, result: 'retried' }
      })
      if (typeof decided === 'object') {
        throw conflict(
          'concurrency_limit',
          `Flow '${run.flowSlug}' already has ${decided.skippedBecause.length} active run(s) for this key; not retried.`,
          {
            hint: `Wait for ${decided.skippedBecause[0]} to finish, or cancel it, then retry again.`,
            details: { active_runs: decided.skippedBecause, key: run.concurrencyKey },
          },
        )
      }
      if (decided !== 'retried' || !commit?.ok)
        throw conflict('retry_conflict', 'The run changed while retrying; try again.')
      deps.onRunChange?.(id)
      for (const canceled of replaced) deps.onRunChange?.(canceled)
      // A queued retry starts when the holder ends (its end promotes the oldest queued run of the key).
      if (!queued) deps.resume(id)
      return requireRun(id)
    },

    async usage(month: string) {
      const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month)
      if (!match)
        throw new AppError('invalid_month', `'${month}' is not a month.`, { hint: 'Use YYYY-MM, e.g. 2026-11.' })
      const from = Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)
      const to = Date.UTC(Number(match[1]), Number(match[2]), 1)
      return usageReport(month, await store.usage(from, to))
    },

    /** Resolves when the run ends or parks (or only ends, with `until: 'ended'`), or when the timeout passes. */
    async settle(
      id: string,
      timeoutMs: number,
      until: 'parked' | 'ended' = 'parked',
    ): Promise<{ run: RunRecord; timedOut: boolean }> {
      const deadline = clock.now() + timeoutMs
      for (;;) {
        const run = await requireRun(id)
        if (isTerminal(run.status) || (until === 'parked' && run.status === 'waiting')) return { run, timedOut: false }
        const left = deadline - clock.now()
        if (left <= 0) return { run, timedOut: true }
        await new Promise<void>((resolve) => {
          const done = (changed: string) => {
            if (changed !== id) return
            cleanup()
          }
          const timer = setTimeout(() => cleanup(), Math.min(left, 200))
          const cleanup = () => {
            clearTimeout(timer)
            deps.changes.off('run', done)
            resolve()
          }
          deps.changes.on('run', done)
        })
      }
    },
  }
}

export type Runs = ReturnType<typeof createRuns>
