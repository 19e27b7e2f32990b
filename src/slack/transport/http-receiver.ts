// Bolt Receiver for HTTP mode on Hono: raw body → signature → parse → app.processEvent, answered when ack() is called.
import { type App, type Receiver, type ReceiverEvent, ReceiverMultipleAckError } from '@slack/bolt'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import { decodeUtf8Strict } from '../../core/utf8.ts'
import { AppError } from '../../errors.ts'
import { isSslCheck, parseSlackBody } from './parse-body.ts'
import { checkSlackSignature } from './signature.ts'

export interface HttpReceiverOptions {
  signingSecret: string
  logger: Logger
  /** Route path on the returned Hono app. */
  path?: string
  /** When nothing has acked by then, answer 200 with an empty body so Slack (3 s limit) never times out. */
  ackTimeoutMs?: number
  maxBodyBytes?: number
  /** Slack's replay window, either way. */
  maxSkewSeconds?: number
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number
  /**
   * Consulted before Bolt for every verified body: returns a promise when it takes the event (and acks it itself),
   * undefined to leave it to Bolt. Greenlight's button clicks take this path (see `directActions` in listeners.ts).
   */
  direct?: DirectListener
}

/** A listener the receiver runs itself instead of Bolt's dispatch; it must ack like a Bolt listener would. */
export type DirectListener = (event: ReceiverEvent) => Promise<void> | undefined

export const DEFAULT_ACK_TIMEOUT_MS = 2_500
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

const errorResponse = (status: number, code: string, message: string, details: Record<string, unknown> = {}) =>
  Response.json({ ok: false, error: new AppError(code, message, { status, details }).toJSON() }, { status })

const emptyOk = (): Response => new Response(null, { status: 200 })

/** What Bolt passes to ack(): nothing, a string, or a JSON body (command replies, view response_action). */
function ackResponse(reply: unknown): Response {
  if (reply === undefined || reply === null || reply === '') return emptyOk()
  if (typeof reply === 'string') return new Response(reply, { status: 200, headers: { 'content-type': 'text/plain' } })
  return Response.json(reply, { status: 200 })
}

/** Reads at most `max` bytes; undefined when the body is larger. */
async function readBody(request: Request, max: number): Promise<Uint8Array | undefined> {
  const length = request.headers.get('content-length')
  const declared = Number(length ?? 0)
  if (declared > max) return undefined
  // A declared length is what Node's HTTP parser reads, no more: read it in one go (on @hono/node-server this skips
  // the web stream). Without one (chunked), count the bytes as they come.
  if (length !== null && /^\d+$/.test(length)) return new Uint8Array(await request.arrayBuffer())
  if (request.body === null) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

function retryNum(header: string | null): number | undefined {
  return header !== null && /^\d{1,3}$/.test(header) ? Number(header) : undefined
}

export class HttpReceiver implements Receiver {
  /** The Hono sub-app serving `POST {path}`; mount it with `hono.route('/', receiver.route)`. */
  readonly route: Hono
  private app: App | undefined
  private running = false
  private readonly ackTimeoutMs: number
  private readonly maxBodyBytes: number
  private readonly now: () => number

  constructor(private readonly options: HttpReceiverOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    this.now = options.now ?? Date.now
    this.route = new Hono().post(options.path ?? '/slack/events', (c) => this.handle(c.req.raw))
  }

  init(app: App): void {
    this.app = app
  }

  async start(): Promise<Hono> {
    this.running = true
    return this.route
  }

  async stop(): Promise<void> {
    this.running = false
  }

  /** One Slack request in, one response out; never throws and never answers 5xx for what the client sent. */
  handle = async (request: Request): Promise<Response> => {
    const { logger } = this.options
    let raw: Uint8Array | undefined
    try {
      raw = await readBody(request, this.maxBodyBytes)
    } catch {
      return errorResponse(400, 'unreadable_body', 'The request body could not be read.')
    }
    if (raw === undefined) {
      return errorResponse(413, 'payload_too_large', `The body is over ${this.maxBodyBytes} bytes.`)
    }
    const contentType = request.headers.get('content-type')
    if (raw.byteLength < 256 && isSslCheck(Buffer.from(raw).toString('utf8'), contentType)) return emptyOk()

    const failure = checkSlackSignature({
      signingSecret: this.options.signingSecret,
      rawBody: raw,
      timestamp: request.headers.get('x-slack-request-timestamp'),
      signature: request.headers.get('x-slack-signature'),
      nowMs: this.now(),
      maxSkewSeconds: this.options.maxSkewSeconds ?? 300,
    })
    if (failure !== undefined) {
      logger.warn(
        { reason: failure, userAgent: request.headers.get('user-agent') ?? undefined },
        'Rejected a Slack request that is not signed by Slack',
      )
      return errorResponse(401, 'invalid_signature', 'The request is not signed by Slack.', { reason: failure })
    }
    if (!this.running || this.app === undefined) {
      return errorResponse(503, 'slack_not_ready', 'Greenlight is starting or stopping; Slack retries events.')
    }

    const text = decodeUtf8Strict(raw)
    if (text === undefined) return errorResponse(400, 'invalid_encoding', 'The body is not UTF-8.')
    const parsed = parseSlackBody(text, contentType)
    switch (parsed.kind) {
      case 'invalid':
        logger.warn({ code: parsed.code, detail: parsed.message }, 'Refused a signed but malformed Slack request')
        return errorResponse(parsed.status, parsed.code, parsed.message)
      case 'url_verification':
        return Response.json({ challenge: parsed.challenge })
      case 'ignore':
        logger.warn({ reason: parsed.reason }, 'Slack sent a notice with nothing to dispatch')
        return emptyOk()
      case 'dispatch':
        return this.dispatch(this.app, parsed.body, request.headers)
    }
  }

  /** Resolves at ack() (the listener may keep running), when Bolt finishes without acking, or at the timeout. */
  private dispatch(app: App, body: Record<string, unknown>, headers: Headers): Promise<Response> {
    const { logger } = this.options
    const type = body.type ?? (typeof body.command === 'string' ? 'slash_command' : undefined)
    return new Promise<Response>((resolve) => {
      let answered = false
      let acked = false
      const answer = (response: Response): boolean => {
        if (answered) return false
        answered = true
        clearTimeout(timer)
        resolve(response)
        return true
      }
      const timer = setTimeout(() => {
        if (answer(emptyOk())) {
          logger.warn({ type, timeoutMs: this.ackTimeoutMs }, 'Slack request not acknowledged in time; answered 200')
        }
      }, this.ackTimeoutMs)
      const event: ReceiverEvent = {
        body,
        retryNum: retryNum(headers.get('x-slack-retry-num')),
        retryReason: headers.get('x-slack-retry-reason') ?? undefined,
        ack: async (reply?: unknown) => {
          if (acked) throw new ReceiverMultipleAckError()
          acked = true
          if (!answer(ackResponse(reply))) logger.warn({ type }, 'Slack request acknowledged after the timeout answer')
        },
      }
      const direct = this.options.direct?.(event)
      const done = direct ?? app.processEvent(event)
      done.then(
        () => {
          if (answer(emptyOk())) logger.debug({ type }, 'No listener acknowledged a Slack request; answered 200')
        },
        (error: unknown) => {
          // app.error never rethrows (and a direct listener logs its own errors), so this is Bolt refusing the body.
          logger.warn({ err: error, type }, 'Bolt could not process a Slack request')
          answer(errorResponse(400, 'invalid_payload', 'The Slack payload could not be processed.'))
        },
      )
    })
  }
}

export function createHttpReceiver(options: HttpReceiverOptions): HttpReceiver {
  return new HttpReceiver(options)
}
