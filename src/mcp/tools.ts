// The MCP tool set, one definition per tool (name, description, zod input, what it calls); both transports serve it
// and `greenlight guide` describes it, so the three cannot disagree.
import { z } from 'zod'
import { approvalRequestShape } from '../core/approval-request.ts'
import { validateFlowSource } from '../core/flow/index.ts'
import { isTerminal } from '../core/run-status.ts'
import { AppError } from '../errors.ts'
import type { McpApi } from './api.ts'

export interface ToolContext {
  api: McpApi
  /** Sends an MCP progress notification when the client asked for them (a progressToken); a no-op otherwise. */
  progress(message: string): Promise<void>
}

export interface ToolDefinition<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string
  title: string
  description: string
  /** The token scope the tool needs (the guide lists it). */
  scope: string
  input: S
  readOnly: boolean
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<Record<string, unknown>>
}

/** Keeps each tool's argument type while the list holds them all. */
function tool<S extends z.ZodRawShape>(definition: ToolDefinition<S>): ToolDefinition {
  return definition as unknown as ToolDefinition
}

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

const id = (what: string) => z.string().min(1).max(200).describe(what)
const path = (value: string) => encodeURIComponent(value)

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

export const TOOLS: ToolDefinition[] = [
  tool({
    name: 'flows_list',
    title: 'List flows',
    description: 'Lists the flows with their live version and draft revision.',
    scope: 'flows:read',
    input: {},
    readOnly: true,
    run: async (_args, { api }) => api.get('/flows'),
  }),
  tool({
    name: 'flow_get',
    title: 'Show a flow',
    description: 'Shows a flow: its versions, revisions, triggers and one revision (source and definition).',
    scope: 'flows:read',
    input: {
      slug: id('The flow slug.'),
      ref: z.string().max(20).optional().describe("'live' (default), 'draft', a version (3) or a revision (r5)."),
    },
    readOnly: true,
    run: async ({ slug, ref }, { api }) =>
      api.get(`/flows/${path(slug)}${ref ? `?ref=${encodeURIComponent(ref)}` : ''}`),
  }),
  tool({
    name: 'flow_validate',
    title: 'Validate a flow',
    description:
      'Validates flow YAML offline; problems name the line, column and the fix. Nothing is stored (see flow_push_draft).',
    scope: 'none',
    input: {
      source: z
        .string()
        .max(1024 * 1024)
        .describe('The flow YAML.'),
      file: z.string().max(200).optional().describe('A file name for the problems to name.'),
    },
    readOnly: true,
    run: async ({ source, file }) => {
      const result = validateFlowSource(source, file ?? '<input>')
      return result.ok
        ? { valid: true, slug: result.flow.slug, problems: [] }
        : { valid: false, problems: result.problems }
    },
  }),
  tool({
    name: 'flow_push_draft',
    title: 'Push a flow draft',
    description:
      "Stores flow YAML as the draft revision of its flow (immutable; the same content twice is one revision). Releasing it is a person's step: greenlight flows release <slug>.",
    scope: 'flows:write',
    input: {
      source: z
        .string()
        .max(1024 * 1024)
        .describe('The flow YAML.'),
      file: z.string().max(200).optional().describe('A file name for the problems to name.'),
    },
    readOnly: false,
    run: async ({ source, file }, { api }) => api.post('/flows', { source, ...(file ? { file } : {}) }),
  }),
  tool({
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
        run = (
          (await api.get(`/runs/${path(run.id)}?settle=parked&timeout_ms=${hold()}&view=brief`)) as { run: RunView }
        ).run
      }
      if (['failed', 'timed_out', 'canceled'].includes(run.status)) throw runFailed(run)
      const settled = isTerminal(run.status) || run.status === 'waiting'
      return { run, settled, waiting_on: run.waiting_on, next: nextForRun(run) }
    },
  }),
  tool({
    name: 'run_get',
    title: 'Show a run',
    description: 'Shows a run: status, steps with their outputs, and the wait or approval it is parked on.',
    scope: 'runs:read',
    input: { run: id('The run id (run_…).') },
    readOnly: true,
    run: async ({ run }, { api }) => api.get(`/runs/${path(run)}`),
  }),
  tool({
    name: 'run_events',
    title: 'Run history',
    description: "A run's events in order (hash-chained): who started it, each step, every vote.",
    scope: 'runs:read',
    input: { run: id('The run id (run_…).') },
    readOnly: true,
    run: async ({ run }, { api }) => api.get(`/runs/${path(run)}/events`),
  }),
  tool({
    name: 'waits_list',
    title: 'List waits',
    description: 'Lists open waits and approvals (or every status with all), with ids for wait_complete.',
    scope: 'runs:read',
    input: {
      run: z.string().max(200).optional().describe('Only the waits of this run.'),
      kind: z.enum(['approval', 'wait', 'input', 'job']).optional(),
      all: z.boolean().optional().describe('Every status, not only open ones.'),
    },
    readOnly: true,
    async run({ run, kind, all }, { api }) {
      const query = new URLSearchParams({ status: all ? 'all' : 'open' })
      if (run) query.set('run', run)
      if (kind) query.set('kind', kind)
      return api.get(`/waits?${query}`)
    },
  }),
  tool({
    name: 'wait_complete',
    title: 'Complete a wait',
    description:
      "Completes a wait, job or input with a JSON payload (checked against the wait's schema). Approvals are decided by people, not by this tool.",
    scope: 'runs:write',
    input: {
      wait: id('The wait id (wait_…).'),
      payload: z.unknown().describe('The JSON the waiting step gets as its output.'),
    },
    readOnly: false,
    run: async ({ wait, payload }, { api }) => api.post(`/waits/${path(wait)}/complete`, { payload: payload ?? null }),
  }),
  tool({
    name: 'resource_get',
    title: 'Read a resource',
    description:
      'Reads a stored resource (a diff, a log, a large output) by its res:// ref: text as UTF-8, other bytes as base64.',
    scope: 'runs:read',
    input: { ref: id('res://<sha256> or the bare id.') },
    readOnly: true,
    async run({ ref }, { api }) {
      const bare = ref.replace(/^res:\/\//, '')
      const response = await api.getBytes(`/resources/${path(bare)}`)
      const type = response.headers['content-type']
      const mediaType = (Array.isArray(type) ? type[0] : type) ?? 'application/octet-stream'
      const text = new TextDecoder('utf-8', { fatal: false }).decode(response.body)
      const isText = !text.includes('\uFFFD')
      return {
        resource: {
          ref: `res://${bare}`,
          media_type: mediaType,
          size: response.body.length,
          encoding: isText ? 'utf8' : 'base64',
          content: isText ? text : response.body.toString('base64'),
        },
      }
    },
  }),
  tool({
    name: 'search',
    title: 'Search',
    description: 'Full-text search over runs (inputs, outputs, events, comments), text resources and flow sources.',
    scope: 'runs:read',
    input: {
      query: z.string().min(1).max(500).describe('Words to find.'),
      in: z
        .array(z.enum(['runs', 'resources', 'flows']))
        .optional()
        .describe('Where to look (default: all).'),
      flow: z.string().max(100).optional().describe('Only this flow.'),
      limit: z.number().int().min(1).max(100).optional(),
    },
    readOnly: true,
    async run({ query, in: where, flow, limit }, { api }) {
      const params = new URLSearchParams({ q: query })
      if (where && where.length > 0) params.set('in', where.join(','))
      if (flow) params.set('flow', flow)
      if (limit) params.set('limit', String(limit))
      return api.get(`/search?${params}`)
    },
  }),
  tool({
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
        view = (
          (await api.get(`/approval-requests/${path(view.run.id)}?timeout_ms=${hold}`)) as { request: RequestView }
        ).request
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
  }),
]
