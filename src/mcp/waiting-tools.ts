// The tools that wait: run_start (until the run ends or parks) and request_approval (until people decide), each
// bounded by wait_seconds and reporting progress while it waits.
import { z } from 'zod'
import { approvalRequestShape } from '../core/approval-request.ts'
import { isTerminal } from '../core/run-status.ts'
import { AppError } from '../errors.ts'
import { id, path, type ToolDefinition, tool } from './tool.ts'

/** Below the 60 s an MCP client waits for a tool by default; call again (same run or key) to keep waiting. */
export const DEFAULT_WAIT_SECONDS = 50
/** How often a waiting tool reports progress: each report is one long-poll of the API. */
const PROGRESS_EVERY_MS = 5_000

const waitSeconds = z
  .number()
  .min(0)
  .max(3600)
  .optional()
  .describe(`Return after this many seconds even if still waiting (default ${DEFAULT_WAIT_SECONDS}).`)

interface RunView {
  id: string
  status: string
  waiting_on: { step: string; kind: string; wait_id?: string } | null
  error: { message: string } | null
}

function runFailed(run: RunView): AppError {
  return new AppError('run_failed', `Run ${run.id} ended ${run.status}${run.error ? `: ${run.error.message}` : '.'}`, {
    status: 409,
    hint: `See run_events for ${run.id}; retry it with 'greenlight runs retry ${run.id}'.`,
    details: { run },
  })
}

function nextForRun(run: RunView): string[] {
  const on = run.status === 'waiting' ? run.waiting_on : null
  if (on?.wait_id && on.kind === 'approval') return [`people decide ${on.wait_id} in Slack; run_get ${run.id} later`]
  if (on?.wait_id && on.kind !== 'sleep') return [`wait_complete {wait: "${on.wait_id}", payload: {…}}`]
  if (isTerminal(run.status)) return [`run_events {run: "${run.id}"}`]
  return [`run_get {run: "${run.id}"}`]
}

interface RequestView {
  run: RunView
  decision: string | null
  comment: string | null
  edited: Record<string, { value: string; was_edited: boolean }> | null
  votes: unknown[]
  tally: { approvals: number; required: number } | null
  wait_id: string | null
}

export const runStart: ToolDefinition = tool({
  name: 'run_start',
  title: 'Start a run',
  description:
    'Starts a run of a flow (live version unless draft) and returns when it ends or parks on a wait or approval, or after wait_seconds; the result says what it waits on. A run that fails is the tool error run_failed.',
  scope: 'runs:write',
  input: {
    flow: id('The flow slug.'),
    inputs: z.record(z.string(), z.unknown()).optional().describe('The run inputs, by name.'),
    draft: z.boolean().optional().describe('Start the draft revision instead of the live version.'),
    wait_seconds: waitSeconds,
  },
  readOnly: false,
  async run({ flow, inputs, draft, wait_seconds }, { api, progress }) {
    const deadline = Date.now() + (wait_seconds ?? DEFAULT_WAIT_SECONDS) * 1000
    const hold = () => Math.max(0, Math.min(deadline - Date.now(), PROGRESS_EVERY_MS))
    const started = (await api.post('/runs', {
      flow,
      inputs: inputs ?? {},
      draft: draft === true,
      wait: true,
      timeout_ms: hold(),
    })) as { run: RunView }
    let run = started.run
    while (!isTerminal(run.status) && run.status !== 'waiting' && Date.now() < deadline) {
      await progress(`Run ${run.id} is ${run.status}.`)
      run = ((await api.get(`/runs/${path(run.id)}?settle=parked&timeout_ms=${hold()}&view=brief`)) as { run: RunView })
        .run
    }
    if (['failed', 'timed_out', 'canceled'].includes(run.status)) throw runFailed(run)
    const settled = isTerminal(run.status) || run.status === 'waiting'
    return { run, settled, waiting_on: run.waiting_on, next: nextForRun(run) }
  },
})

export const requestApproval: ToolDefinition = tool({
  name: 'request_approval',
  title: 'Ask people to approve',
  description:
    'Asks people in Slack to approve an action you are about to take (a command, a migration, a reply) and waits for their decision: approved, rejected, changes_requested or timed_out, with the votes and comment. Do the action only when decision is approved. With edit fields, approvers may correct your drafts: use edited.<name>.value, not your draft. Give an idempotency_key and call again with it to keep waiting (after wait_seconds, a crash or a restart) without asking twice.',
  scope: 'runs:write',
  input: { ...approvalRequestShape, wait_seconds: waitSeconds },
  readOnly: false,
  async run({ wait_seconds, ...request }, { api, progress }) {
    const deadline = Date.now() + (wait_seconds ?? DEFAULT_WAIT_SECONDS) * 1000
    const asked = (await api.post('/approval-requests', request)) as { request: RequestView; created: boolean }
    let view = asked.request
    while (view.decision === null && !isTerminal(view.run.status) && Date.now() < deadline) {
      const tally = view.tally ? `${view.tally.approvals} of ${view.tally.required} approvals` : 'not open yet'
      await progress(`Waiting for people to decide run ${view.run.id}: ${tally}.`)
      const hold = Math.max(0, Math.min(deadline - Date.now(), PROGRESS_EVERY_MS))
      view = ((await api.get(`/approval-requests/${path(view.run.id)}?timeout_ms=${hold}`)) as { request: RequestView })
        .request
    }
    const again = request.idempotency_key
      ? `request_approval again with idempotency_key "${request.idempotency_key}" to keep waiting`
      : `run_get {run: "${view.run.id}"} to see it later`
    return {
      decision: view.decision,
      approved: view.decision === 'approved',
      comment: view.comment,
      ...(view.edited ? { edited: view.edited } : {}),
      votes: view.votes,
      tally: view.tally,
      run: { id: view.run.id, status: view.run.status },
      wait_id: view.wait_id,
      created: asked.created,
      next: view.decision === null ? [again] : [`run_events {run: "${view.run.id}"}`],
    }
  },
})
