// The CLI's HTTP client for /api/v1: answers are data or an AppError carrying the server's code. It uses node:http
// rather than fetch, whose first use costs tens of milliseconds of start-up in a short-lived CLI process.

import { createWriteStream } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { AppError } from '../errors.ts'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface ApiClient {
  get(path: string): Promise<Record<string, unknown>>
  post(path: string, body: unknown): Promise<Record<string, unknown>>
  delete(path: string): Promise<Record<string, unknown>>
  put(path: string, body: unknown): Promise<Record<string, unknown>>
  /** The raw answer of a GET that is not a JSON envelope (resource bytes); errors still become AppErrors. */
  getBytes(path: string): Promise<RawResponse>
  /**
   * POSTs `body` and streams the answer's bytes into `file` (never held in memory, for a database backup); an error
   * answer becomes an AppError and writes nothing. Resolves with the bytes written and the answer's headers.
   */
  download(path: string, body: unknown, file: string): Promise<{ bytes: number; headers: RawResponse['headers'] }>
}

interface Envelope {
  ok?: boolean
  data?: Record<string, unknown>
  error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> }
}

/** Long enough for `runs start --wait`, whose server side holds a request for up to four minutes. */
const REQUEST_TIMEOUT_MS = 300_000

function unreachable(baseUrl: string, error: Error): AppError {
  return new AppError('server_unreachable', `Cannot reach the Greenlight server at ${baseUrl}.`, {
    status: 503,
    hint: "Start it with 'npm start' (or 'greenlight serve'), or set GREENLIGHT_URL.",
    details: { url: baseUrl, cause: error.message },
  })
}

function send(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const url = new URL(`${baseUrl}/api/v1${path}`)
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', (error) => reject(unreachable(baseUrl, error)))
    req.end(payload)
  })
}

/** A POST whose successful answer is piped into `file`; an error answer is collected and thrown as the server's. */
function stream(
  baseUrl: string,
  token: string,
  path: string,
  body: unknown,
  file: string,
): Promise<{ bytes: number; headers: RawResponse['headers'] }> {
  const url = new URL(`${baseUrl}/api/v1${path}`)
  const payload = Buffer.from(JSON.stringify(body))
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': payload.length,
        },
      },
      (res) => {
        const status = res.statusCode ?? 0
        if (status >= 400) {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            let envelope: Envelope = {}
            try {
              envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope
            } catch {
              // not an envelope: the status says enough
            }
            reject(failure(envelope, status))
          })
          res.on('error', reject)
          return
        }
        let bytes = 0
        const out = createWriteStream(file, { flags: 'wx', mode: 0o600 })
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length
        })
        res.on('error', (error) => {
          out.destroy()
          reject(unreachable(baseUrl, error))
        })
        res.on('aborted', () => {
          out.destroy()
          reject(unreachable(baseUrl, new Error('the answer was cut off')))
        })
        out.on('error', (error) =>
          reject(
            new AppError('file_unwritable', `Cannot write ${file}: ${(error as NodeJS.ErrnoException).code}.`, {
              hint: 'Check that the directory exists and is writable.',
            }),
          ),
        )
        out.on('finish', () => resolve({ bytes, headers: res.headers }))
        res.pipe(out)
      },
    )
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', (error) => reject(unreachable(baseUrl, error)))
    req.end(payload)
  })
}

/** Every Greenlight answer is `{ok: true, data?: {…}}` or `{ok: false, error: {…}}`; other JSON is someone else's. */
function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const { ok, data, error } = value as Envelope
  const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x)
  if (ok === true) return data === undefined || isObject(data)
  return ok === false && isObject(error)
}

function parseEnvelope(baseUrl: string, response: RawResponse): Envelope {
  let value: unknown
  try {
    value = JSON.parse(response.body.toString('utf8'))
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
  if (!isEnvelope(value)) {
    throw new AppError(
      'not_greenlight',
      `The server at ${baseUrl} answered ${response.status} with JSON that is not a Greenlight answer.`,
      {
        status: 502,
        hint: "Check that GREENLIGHT_URL points at 'greenlight serve' (its API answers under /api/v1), not another service.",
        details: { url: baseUrl, status: response.status },
      },
    )
  }
  return value
}

function failure(envelope: Envelope, status: number): AppError {
  const e = envelope.error ?? {}
  return new AppError(e.code ?? 'request_failed', e.message ?? `The server answered ${status}.`, {
    status,
    hint: e.hint,
    details: e.details ?? {},
  })
}

export function createApiClient(baseUrl: string, token: string): ApiClient {
  async function json(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await send(baseUrl, token, method, path, body)
    const envelope = parseEnvelope(baseUrl, response)
    if (response.status >= 400 || envelope.ok === false) throw failure(envelope, response.status)
    return envelope.data ?? {}
  }
  return {
    get: (path) => json('GET', path),
    post: (path, body) => json('POST', path, body),
    delete: (path) => json('DELETE', path),
    put: (path, body) => json('PUT', path, body),
    download: (path, body, file) => stream(baseUrl, token, path, body, file),
    async getBytes(path) {
      const response = await send(baseUrl, token, 'GET', path)
      if (response.status >= 400) {
        let envelope: Envelope = {}
        try {
          envelope = JSON.parse(response.body.toString('utf8')) as Envelope
        } catch {
          // not an envelope: the status line says enough
        }
        throw failure(envelope, response.status)
      }
      return response
    },
  }
}
