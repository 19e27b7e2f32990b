// The Greenlight API as the MCP tools call it: the CLI's client over HTTP (stdio), or the server's own app in
// process (POST /mcp). Either way each call carries the agent's token, so its scopes decide what a tool may do.
import { AppError } from '../errors.ts'

export interface McpApi {
  get(path: string): Promise<Record<string, unknown>>
  post(path: string, body: unknown): Promise<Record<string, unknown>>
  /** The raw bytes of a GET (resources); errors still become AppErrors. */
  getBytes(
    path: string,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>
}

interface Envelope {
  ok?: boolean
  data?: Record<string, unknown>
  error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> }
}

function failure(envelope: Envelope, status: number): AppError {
  const e = envelope.error ?? {}
  return new AppError(e.code ?? 'request_failed', e.message ?? `The server answered ${status}.`, {
    status,
    hint: e.hint,
    details: e.details ?? {},
  })
}

async function envelopeOf(response: Response): Promise<Envelope> {
  try {
    return (await response.json()) as Envelope
  } catch {
    return {}
  }
}

/** An McpApi over a fetch function: the Hono app's own `fetch` for POST /mcp. */
export function createFetchApi(fetch: (request: Request) => Promise<Response>, token: string): McpApi {
  const send = (method: string, path: string, body?: unknown) =>
    fetch(
      new Request(`http://greenlight.internal/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    )
  const json = async (method: string, path: string, body?: unknown) => {
    const response = await send(method, path, body)
    const envelope = await envelopeOf(response)
    if (response.status >= 400 || envelope.ok !== true) throw failure(envelope, response.status)
    return envelope.data ?? {}
  }
  return {
    get: (path) => json('GET', path),
    post: (path, body) => json('POST', path, body),
    async getBytes(path) {
      const response = await send('GET', path)
      if (response.status >= 400) throw failure(await envelopeOf(response), response.status)
      const headers: Record<string, string> = {}
      response.headers.forEach((value, name) => {
        headers[name] = value
      })
      return {
        status: response.status,
        headers,
        body: Buffer.from(await response.arrayBuffer()),
      }
    },
  }
}
