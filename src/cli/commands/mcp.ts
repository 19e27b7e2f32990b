// `greenlight mcp`: the MCP server over stdio for a local coding agent. Its tools call the server's API with the
// CLI's token (GREENLIGHT_URL, GREENLIGHT_TOKEN), so they can do what the token may and nothing more.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { decidingTokenError } from '../../core/agent-scopes.ts'
import { createMcpServer } from '../../mcp/server.ts'
import { type Command, expectPositionals } from '../command.ts'

export const mcp: Command = {
  name: 'mcp',
  usage: 'greenlight mcp   (speaks MCP on stdin/stdout; configure it as a stdio MCP server)',
  summary: 'Serve MCP over stdio for a local coding agent, with a token that cannot decide approvals.',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const api = ctx.api()
    // Refused before serving: stdout then carries this one error document instead of the protocol.
    const { token } = (await api.get('/whoami')) as { token: { scopes: string[] } }
    const refused = decidingTokenError(token.scopes)
    if (refused) throw refused
    const server = createMcpServer(api)
    const transport = new StdioServerTransport()
    await server.connect(transport)
    await new Promise<void>((resolve) => {
      server.server.onclose = resolve
      process.stdin.once('end', resolve)
      ctx.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    await server.close()
    // stdout belongs to the protocol: nothing else is printed on it.
    return { data: null, emitted: true }
  },
}
