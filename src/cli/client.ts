// The CLI's HTTP client for /api/v1: answers are data or an AppError carrying the server's code.
import { AppError } from '../errors.ts'

export interface ApiClient {
  get(path: string): Promise<Record<string, unknown>>
  post(path: string, body: unknown): Promise<Record<string, unknown>>
  delete(path: string): Promise<Record<string, unknown>>
}

interface Envelope {
  ok?: boolean
  data?: Record<string, unknown>
  error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> }
}

export function createApiClient(baseUrl: string, token: string): ApiClient {
  async function request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    let response: Response
    try {
      response = await fetch(`${baseUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw new AppError('server_unreachable', `Cannot reach the Greenlight server at ${baseUrl}.`, {
        status: 503,
        hint: "Start it with 'npm start' (or 'greenlight serve'), or set GREENLIGHT_URL.",
        details: {
          url: baseUrl,
          cause:
            error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error),
        },
      })
    }
    const text = await response.text()
    let envelope: Envelope
    try {
      envelope = JSON.parse(text) as Envelope
    } catch {
      throw new AppError(
        'bad_response',
        `The server at ${baseUrl} answered ${response.status} with a body that is not JSON.`,
        {
          status: 502,
          hint: 'Check that GREENLIGHT_URL points at a Greenlight server.',
        },
      )
    }
    if (!response.ok || envelope.ok === false) {
      const e = envelope.error ?? {}
      throw new AppError(e.code ?? 'request_failed', e.message ?? `The server answered ${response.status}.`, {
        status: response.status,
        hint: e.hint,
        details: e.details ?? {},
      })
    }
    return envelope.data ?? {}
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    delete: (path) => request('DELETE', path),
  }
}
