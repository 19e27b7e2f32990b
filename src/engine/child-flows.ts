// Child flows (SPEC §10, the `flow` step): a step starts an ordinary run of another flow, created in the same
// transaction as the parent's park, and the transaction that ends the child completes the parent's step (the run
// store calls `childEnded` inside it). No polling, and a crash on either side loses nothing: both are one commit.
import { type FlowStep, MAX_FLOW_DEPTH } from '../core/flow/child-flow-model.ts'
import { TerminalError } from '../errors.ts'
import type { EngineDeps } from './engine-deps.ts'
import { parkFor } from './park.ts'
import type { RunRecord, Transition, TxView } from './run-ports.ts'
import type { Prepared, StartInput } from './runs.ts'
import type { StepRunner } from './step-runner.ts'
import { resolveWait, routeFailure } from './transitions.ts'

export function createChildFlows(deps: EngineDeps, prepare: (input: StartInput) => Promise<Prepared>) {
  const runner: StepRunner = {
    kind: 'flow',
    billable: false,
    async run(ctx) {
      const c = ctx.config as unknown as FlowStep
      const depth = (ctx.run.depth ?? 0) + 1
      if (depth > MAX_FLOW_DEPTH) {
        throw new TerminalError(
          'flow_depth_exceeded',
          `Step '${ctx.step.id}' would start a child flow ${depth} levels deep; at most ${MAX_FLOW_DEPTH} nest.`,
          { details: { depth, max: MAX_FLOW_DEPTH, flow: c.slug } },
        )
      }
      const prepared = await prepare({
        slug: c.slug,
        inputs: (c.inputs ?? {}) as Record<string, unknown>,
        // The child acts for whoever started the parent; its thread is the parent's channel.
        initiator: ctx.run.initiator,
        trigger: 'flow',
        draft: c.version === 'draft',
        ...(typeof c.version === 'number' ? { version: c.version } : {}),
        slack: (ctx.run.slack as { channel: string } | null) ?? null,
        parent: { run: ctx.run.id, step: ctx.step.id, visit: ctx.visit, depth },
      })
      const child = prepared.newRun.run.id
      const createRun = { input: prepared.newRun, concurrency: prepared.concurrency }
      const started = {
        type: 'flow.started',
        stepId: ctx.step.id,
        data: { child, flow: prepared.flow, version: prepared.newRun.run.version, wait: c.wait !== false },
      }
      if (c.wait === false) {
        return {
          type: 'done',
          output: { run: child, status: 'started', output: null, error: null },
          events: [started],
          createRun,
        }
      }
      return parkFor(
        ctx.now,
        'flow',
        { child, flow: prepared.flow },
        {
          timeout: (ctx.config as { timeout?: string }).timeout,
          createRun,
          events: [started],
        },
      )
    },
  }

  /** Inside the transaction that ends `child`: the transition completing its parent's step, if the parent waits. */
  async function childEnded(view: TxView, child: RunRecord): Promise<Transition | null> {
    if (!child.parentRunId || !child.parentStep || child.parentVisit == null) return null
    const wait = await view.getWaitAt(child.parentRunId, child.parentStep, child.parentVisit)
    if (wait?.kind !== 'flow' || wait.status !== 'open') return null
    const parent = await view.getRun(wait.runId)
    if (parent?.status !== 'waiting') return null
    const flow = await deps.flowOf(parent.revisionId)
    const step = flow.step(wait.stepId)
    const at = deps.clock.now()
    const output = { run: child.id, status: child.status, output: child.output ?? null, error: child.error ?? null }
    const common = { run: parent, flow, wait, at, owner: deps.owner, leaseMs: deps.leaseMs }
    const data = { wait_id: wait.id, child: child.id, status: child.status }
    if (child.status === 'succeeded') {
      return resolveWait({
        ...common,
        status: 'succeeded',
        output,
        route: 'next',
        waitStatus: 'completed',
        events: [{ type: 'flow.completed', stepId: wait.stepId, data }],
      })
    }
    const error = {
      code: `child_${child.status}`,
      message: `Child run ${child.id} of '${child.flowSlug}' ${child.status.replace('_', ' ')}${
        child.error?.message ? `: ${child.error.message}` : '.'
      }`,
      step: wait.stepId,
      details: { run: child.id, ...(child.error ? { error: child.error } : {}) },
    }
    const routed = routeFailure(step, error)
    return resolveWait({
      ...common,
      status: 'failed',
      route: routed.route,
      output: routed.output === null ? output : { ...output, ...routed.output },
      error,
      waitStatus: 'failed',
      events: [{ type: 'flow.failed', stepId: wait.stepId, data }],
    })
  }

  return { runner, childEnded }
}
