// Remote agents resume runs: callbacks (with the full status matrix), early callbacks, heartbeats, failures, state.

import { createHash } from 'node:crypto'
import type { CallbackTarget } from '../core/callback-token.ts'
import { parseDuration } from '../core/flow/index.ts'
import { isTerminal, type RunStatus } from '../core/run-status.ts'
import { callbackSchemaOf } from '../core/wait-spec.ts'
import type { CompiledFlow, CompiledStep } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import { continueInline } from './inline-steps.ts'
import { checkPayload, type SchemaProblem } from './payload-schema.ts'
import { externalize } from './resources.ts'
import type { RunRecord, WaitRecord } from './run-ports.ts'
import { createSettle } from './settle.ts'
import { resolveWait, routeFailure } from './transitions.ts'

export type CallbackOutcome =
  /** `runStatus`: the run's status as this callback's commit left it (`succeeded` when it ran the run to its end). */
  | { type: 'accepted'; early: boolean; runId: string; step: string; runStatus: RunStatus }
  | { type: 'duplicate'; runId: string; step: string }
  | { type: 'already_completed' }
  | { type: 'not_found' }
  | { type: 'expired' }
  | { type: 'invalid_payload'; problems: SchemaProblem[] }
  /** Heartbeat and /fail before the wait opened (GET shows `not_started`): nothing to extend or fail yet. */
  | { type: 'not_started' }
  /** Heartbeat and /fail after the wait ended, however it ended; `status` is what GET shows. */
  | { type: 'ended'; status: string }

const CALLBACK_KINDS = new Set(['wait', 'job'])

/** A wait step's payload schema, read from the flow (it is never templated), for bodies that arrive before it opens. */
function stepSchema(step: CompiledStep): unknown {
  return step.kind === 'wait' ? (step.def as { wait?: { schema?: unknown } }).wait?.schema : undefined
}

/** A wait's state as GET /callbacks/:token shows it (and heartbeat and /fail name it once the wait is over). */
function stateOf(wait: WaitRecord | undefined, run: RunRecord, target: CallbackTarget): string {
  if (wait) return wait.status === 'early' ? 'received_early' : wait.status
  const passed = (run.cursor.visits[target.stepId] ?? 0) > target.visit
  return isTerminal(run.status) || passed ? 'expired' : 'not_started'
}

export const payloadHash = (raw: Buffer): string => createHash('sha256').update(raw).digest('hex')

export function createCallbacks(deps: EngineDeps, resume: (runId: string, leased?: boolean) => void) {
  const { store, clock } = deps
  const { commitAndContinue, transactAndContinue } = createSettle(deps, resume)

  /** The run, its flow and the step a token names, when the step is one that takes callbacks. */
  async function locate(target: CallbackTarget): Promise<{ run: RunRecord; flow: CompiledFlow } | undefined> {
    const run = await store.getRun(target.runId)
    if (!run) return undefined
    const flow = await deps.flowOf(run.revisionId)
    const step = flow.steps.find((s) => s.id === target.stepId)
    return step && CALLBACK_KINDS.has(step.kind) ? { run, flow } : undefined
  }

  const same = (wait: WaitRecord, hash: string) => wait.payloadHash === hash

  async function complete(
    target: CallbackTarget,
    payload: unknown,
    raw: Buffer,
    actor: string | null,
    attempt = 1,
  ): Promise<CallbackOutcome> {
    const hash = payloadHash(raw)
    const large = raw.length > deps.resourceThresholdBytes
    let stored: unknown = payload
    if (large) {
      // Check the schema before storing anything, so a rejected body leaves no resource behind.
      // Store only a body that can be taken (an open wait, or an early callback for a live run).
      const current = await store.getWaitAt(target.runId, target.stepId, target.visit)
      const problems = current?.status === 'open' ? checkPayload(callbackSchemaOf(current), payload) : []
      if (problems.length > 0) return { type: 'invalid_payload', problems }
      const run = current ? undefined : await store.getRun(target.runId)
      if (run) {
        const step = (await deps.flowOf(run.revisionId)).steps.find((s) => s.id === target.stepId)
        const early = step ? checkPayload(stepSchema(step), payload) : []
        if (early.length > 0) return { type: 'invalid_payload', problems: early }
      }
      const takes = current ? current.status === 'open' : run !== undefined && !isTerminal(run.status)
      if (takes)
        stored = (await externalize(deps.resources, payload, deps.resourceThresholdBytes, target.runId, raw)).value
    }
    const at = clock.now()
    // Small bodies (the common case) are decided with reads inside the one write transaction.
    const { result, commit } = await transactAndContinue(async (view) => {
      const run = await view.getRun(target.runId)
      if (!run) return { transition: null, result: { type: 'not_found' } as CallbackOutcome }
      const flow = await deps.flowOf(run.revisionId)
      const step = flow.steps.find((s) => s.id === target.stepId)
      if (!step || !CALLBACK_KINDS.has(step.kind))
        return { transition: null, result: { type: 'not_found' } as CallbackOutcome }
      const located = { run, flow }
      const wait = await view.getWaitAt(target.runId, target.stepId, target.visit)
      if (!wait) {
        const passed = (run.cursor.visits[target.stepId] ?? 0) > target.visit
        if (isTerminal(run.status) || passed)
          return { transition: null, result: { type: 'expired' } as CallbackOutcome }
        // `schema` is never templated: check an early body now rather than drop it when the wait opens.
        const problems = checkPayload(stepSchema(step), payload)
        if (problems.length > 0)
          return { transition: null, result: { type: 'invalid_payload', problems } as CallbackOutcome }
        // Early: the agent answered before the wait step started. Keep it; the step consumes it when it opens.
        return {
          transition: {
            runId: run.id,
            at,
            insertWait: {
              id: deps.ids.next('wait'),
              runId: run.id,
              stepId: target.stepId,
              visit: target.visit,
              kind: 'wait',
              status: 'early',
              deadlineAt: null,
              spec: null,
              digest: null,
              payload: stored,
              payloadHash: hash,
              result: null,
              jobType: null,
              createdAt: at,
            },
            events: [
              {
                type: 'callback.early',
                stepId: target.stepId,
                actor,
                data: { visit: target.visit, bytes: raw.length },
              },
            ],
          },
          result: {
            type: 'accepted',
            early: true,
            runId: run.id,
            step: target.stepId,
            runStatus: run.status,
          } as CallbackOutcome,
        }
      }
      if (wait.status === 'early' || wait.status === 'completed') {
        return {
          transition: null,
          result: (same(wait, hash)
            ? { type: 'duplicate', runId: run.id, step: wait.stepId }
            : { type: 'already_completed' }) as CallbackOutcome,
        }
      }
      if (wait.status !== 'open' || (wait.deadlineAt !== null && wait.deadlineAt < at)) {
        return { transition: null, result: { type: 'expired' } as CallbackOutcome }
      }
      const problems = checkPayload(callbackSchemaOf(wait), payload)
      if (problems.length > 0)
        return { transition: null, result: { type: 'invalid_payload', problems } as CallbackOutcome }
      const resolved = resolveWait({
        run,
        flow: located.flow,
        wait,
        at,
        status: 'succeeded',
        output: stored,
        route: 'next',
        waitStatus: 'completed',
        events: [{ type: 'wait.completed', stepId: wait.stepId, actor, data: { wait_id: wait.id, bytes: raw.length } }],
        owner: deps.owner,
        leaseMs: deps.leaseMs,
        billable: wait.kind === 'job',
        waitPatch: { payload: stored, payloadHash: hash },
      })
      const transition = await continueInline(deps, view, run, flow, resolved)
      return {
        transition,
        result: {
          type: 'accepted',
          early: false,
          runId: run.id,
          step: wait.stepId,
          runStatus: transition.run?.status ?? run.status,
        } as CallbackOutcome,
      }
    })
    // Lost a race (the run moved between our read and our write): answer from the new state.
    if (commit?.ok === false && attempt < 3) return complete(target, payload, raw, actor, attempt + 1)
    return result
  }

  /**
   * The open wait a heartbeat or /fail acts on, or the answer for one that is not open: `not_started` before it
   * opens, `ended` once it is over (completed by a callback, `waits complete` or a job, failed, timed out, canceled,
   * or answered early), `expired` for a visit that never opened and never will.
   */
  async function openWaitFor(
    target: CallbackTarget,
  ): Promise<{ run: RunRecord; flow: CompiledFlow; wait: WaitRecord } | CallbackOutcome> {
    const located = await locate(target)
    if (!located) return { type: 'not_found' }
    const wait = await store.getWaitAt(target.runId, target.stepId, target.visit)
    if (wait?.status === 'open') return { ...located, wait }
    const status = stateOf(wait, located.run, target)
    if (status === 'not_started') return { type: 'not_started' }
    if (status === 'expired') return { type: 'expired' }
    return { type: 'ended', status }
  }

  /** After a heartbeat or /fail lost the race with whatever closed the wait: answer from the state it left. */
  async function closedAnswer(target: CallbackTarget): Promise<CallbackOutcome> {
    const found = await openWaitFor(target)
    return 'type' in found ? found : { type: 'expired' }
  }

  return {
    complete,

    async heartbeat(
      target: CallbackTarget,
      body: { progress?: unknown; extend?: unknown },
    ): Promise<CallbackOutcome | { type: 'ok'; deadlineAt: number | null }> {
      const found = await openWaitFor(target)
      if ('type' in found) return found
      const at = clock.now()
      const extendMs = typeof body.extend === 'string' ? parseDuration(body.extend) : undefined
      // `extend` pushes an existing deadline out; a wait without a timeout stays without one.
      const deadlineAt =
        extendMs === undefined || found.wait.deadlineAt === null
          ? found.wait.deadlineAt
          : Math.max(found.wait.deadlineAt, at + extendMs)
      const progress = typeof body.progress === 'string' ? body.progress.slice(0, 2000) : undefined
      const commit = await commitAndContinue({
        runId: found.run.id,
        at,
        updateWait: { id: found.wait.id, fromStatus: ['open'], patch: { deadlineAt } },
        ...(deadlineAt !== found.wait.deadlineAt && deadlineAt !== null
          ? { rescheduleTimers: [{ key: `w:${found.wait.id}:timeout`, fireAt: deadlineAt }] }
          : {}),
        events: [
          {
            type: 'wait.heartbeat',
            stepId: found.wait.stepId,
            data: { ...(progress ? { progress } : {}), deadline_at: deadlineAt },
          },
        ],
      })
      if (!commit.ok) return closedAnswer(target)
      return { type: 'ok', deadlineAt }
    },

    async fail(target: CallbackTarget, reason: string): Promise<CallbackOutcome> {
      const found = await openWaitFor(target)
      if ('type' in found) return found
      const at = clock.now()
      const step = found.flow.step(found.wait.stepId)
      const error = {
        code: 'agent_failed',
        message: reason.slice(0, 2000) || 'The agent reported a failure.',
        step: step.id,
      }
      const transition = resolveWait({
        run: found.run,
        flow: found.flow,
        wait: found.wait,
        at,
        status: 'failed',
        ...routeFailure(step, error),
        error,
        waitStatus: 'failed',
        events: [{ type: 'wait.failed', stepId: step.id, data: { wait_id: found.wait.id, reason: error.message } }],
        owner: deps.owner,
        leaseMs: deps.leaseMs,
      })
      const commit = await commitAndContinue(transition)
      if (!commit.ok) return closedAnswer(target)
      return {
        type: 'accepted',
        early: false,
        runId: found.run.id,
        step: step.id,
        runStatus: transition.run?.status ?? found.run.status,
      }
    },

    async state(target: CallbackTarget) {
      const located = await locate(target)
      if (!located) return undefined
      const wait = await store.getWaitAt(target.runId, target.stepId, target.visit)
      return {
        run_id: target.runId,
        step: target.stepId,
        visit: target.visit,
        status: stateOf(wait, located.run, target),
        run_status: located.run.status,
        deadline_at: wait?.deadlineAt ? new Date(wait.deadlineAt).toISOString() : null,
      }
    },
  }
}

export type Callbacks = ReturnType<typeof createCallbacks>
