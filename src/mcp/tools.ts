// The MCP tool set, one definition per tool (name, description, zod input, what it calls); both transports serve it
// and `greenlight guide` describes it, so the three cannot disagree.
import { z } from 'zod'
import { validateFlowSource } from '../core/flow/index.ts'
import { id, path, type ToolDefinition, tool } from './tool.ts'
import { requestApproval, runStart } from './waiting-tools.ts'

export type { ToolContext, ToolDefinition } from './tool.ts'

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
  runStart,
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
  requestApproval,
]
