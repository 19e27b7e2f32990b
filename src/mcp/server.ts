// Builds the MCP server over the tool set. It lists and calls the tools itself (rather than through registerTool) so
// that every failure, bad arguments included, is a tool error carrying the code, message and hint the CLI prints.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { closest } from '../core/suggest.ts'
import { AppError, isAppError } from '../errors.ts'
import type { McpApi } from './api.ts'
import { TOOLS, type ToolDefinition } from './tools.ts'

export const SERVER_INFO = { name: 'greenlight', version: '1' }

const INSTRUCTIONS =
  'Greenlight runs versioned flows with humans in the loop. Ask people before a risky action with request_approval ' +
  'and act only when its decision is approved; start flows with run_start; a parked run waits on a person or a ' +
  "callback. Errors carry a stable code and a hint saying what to do. 'greenlight guide' prints the full guide."

const schemas = new Map(TOOLS.map((tool) => [tool.name, z.object(tool.input).strict()]))

/** What tools/list shows for a tool: its input as JSON Schema, from the same zod shape the call is checked with. */
export function toolListing(tool: ToolDefinition): Tool {
  const { $schema: _, ...inputSchema } = z.toJSONSchema(schemas.get(tool.name) ?? z.object({})) as Record<
    string,
    unknown
  >
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: { ...inputSchema, type: 'object' },
    annotations: { title: tool.title, readOnlyHint: tool.readOnly, openWorldHint: false },
  }
}

function errorResult(error: unknown): CallToolResult {
  const appError = isAppError(error)
    ? error
    : new AppError('internal_error', error instanceof Error ? error.message : String(error), { status: 500 })
  const body = { ok: false, error: appError.toJSON() }
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body }
}

function unknownTool(name: string): AppError {
  const suggestion = closest(
    name,
    TOOLS.map((t) => t.name),
  )
  return new AppError('unknown_tool', `'${name}' is not a Greenlight tool.`, {
    status: 400,
    hint: suggestion ? `Did you mean '${suggestion}'? tools/list shows them all.` : 'tools/list shows them all.',
    details: suggestion ? { suggestion } : {},
  })
}

function invalidArguments(tool: string, issues: z.core.$ZodIssue[]): AppError {
  const problems = issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
  return new AppError(
    'invalid_arguments',
    `Invalid arguments for ${tool}: ${problems.map((p) => `${p.path || 'arguments'}: ${p.message}`).join('; ')}.`,
    { status: 400, hint: `See the inputSchema of ${tool} in tools/list.`, details: { problems } },
  )
}

export function createMcpServer(api: McpApi): McpServer {
  const server = new McpServer(SERVER_INFO, { instructions: INSTRUCTIONS, capabilities: { tools: {} } })
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS.map(toolListing) }))
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = TOOLS.find((t) => t.name === request.params.name)
    if (!tool) return errorResult(unknownTool(request.params.name))
    const parsed = schemas.get(tool.name)?.safeParse(request.params.arguments ?? {})
    if (!parsed?.success) return errorResult(invalidArguments(tool.name, parsed?.error.issues ?? []))
    const token = request.params._meta?.progressToken
    let sent = 0
    const progress = async (message: string) => {
      if (token === undefined) return
      sent += 1
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: sent, message },
      })
    }
    try {
      const data = await tool.run(parsed.data as never, { api, progress })
      return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data }
    } catch (error) {
      return errorResult(error)
    }
  })
  return server
}
