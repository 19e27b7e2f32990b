// POST /mcp: MCP over Streamable HTTP, stateless (a fresh server and transport per request, so any instance can
// answer any call and a waiting call holds only its own request). The bearer token is a Greenlight token.
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { decidingTokenError } from '../core/agent-scopes.ts'
import { AppError } from '../errors.ts'
import { createFetchApi } from './api.ts'
import { createMcpServer } from './server.ts'

export interface McpHttpDeps {
  /** The scopes of a valid, unrevoked token; undefined otherwise. */
  scopesOf(token: string): Promise<readonly string[] | undefined>
  /** The server's own app, which the tools call in process with the request's token. */
  fetch(request: Request): Promise<Response>
}

function refusal(error: AppError): Response {
  return Response.json({ ok: false, error: error.toJSON() }, { status: error.status })
}

export function createMcpHandler(deps: McpHttpDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'POST') {
      return refusal(
        new AppError('method_not_allowed', `MCP here is stateless: ${request.method} /mcp is not served.`, {
          status: 405,
          hint: 'Send each JSON-RPC message as POST /mcp; there are no sessions to resume or delete.',
        }),
      )
    }
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')
    const token = match?.[1]
    const scopes = token ? await deps.scopesOf(token) : undefined
    if (!token || !scopes) {
      return refusal(
        new AppError('unauthorized', token ? 'The API token is invalid or revoked.' : 'An API token is required.', {
          status: 401,
          hint: "Send 'Authorization: Bearer <token>' with a token from 'greenlight tokens create --for-agent'.",
        }),
      )
    }
    const refused = decidingTokenError(scopes)
    if (refused) return refusal(refused)
    const server = createMcpServer(createFetchApi(deps.fetch, token))
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    await server.connect(transport)
    const response = await transport.handleRequest(request)
    // The server lives as long as its one answer: a JSON body, or a stream of progress ending with the result.
    if (!response.body) {
      await server.close()
      return response
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    response.body
      .pipeTo(writable)
      .catch(() => undefined)
      .then(() => server.close())
      .catch(() => undefined)
    return new Response(readable, { status: response.status, headers: response.headers })
  }
}
