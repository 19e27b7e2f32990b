// Builds the MCP server over the tool set: each call's result is structured content (and the same JSON as text);
// a failure is a tool error carrying the code, message and hint the CLI would print.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { AppError, isAppError } from '../errors.ts'
import type { McpApi } from './api.ts'
import { TOOLS } from './tools.ts'

export const SERVER_INFO = { name: 'greenlight', version: '1' }

const INSTRUCTIONS =
  'Greenlight runs versioned flows with humans in the loop. Ask people before a risky action with request_approval ' +
  'and act only when its decision is approved; start flows with run_start; a parked run waits on a person or a ' +
  "callback. Errors carry a stable code and a hint saying what to do. 'greenlight guide' prints the full guide."

function errorResult(error: unknown): CallToolResult {
  const appError = isAppError(error)
    ? error
    : new AppError('internal_error', error instanceof Error ? error.message : String(error), { status: 500 })
  const body = { ok: false, error: appError.toJSON() }
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body }
}

export function createMcpServer(api: McpApi): McpServer {
  const server = new McpServer(SERVER_INFO, { instructions: INSTRUCTIONS })
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        annotations: { readOnlyHint: tool.readOnly, openWorldHint: false },
      },
      async (args: Record<string, unknown>, extra) => {
        const token = extra._meta?.progressToken
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
          const data = await tool.run(args as never, { api, progress })
          return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data }
        } catch (error) {
          return errorResult(error)
        }
      },
    )
  }
  return server
}
