// Socket Mode: the WebSocket side of the fake (hello, envelopes, acks, disconnect/refresh), compatible with
// @slack/socket-mode v3 (undici WebSocket; it pings the server and expects pongs, which `ws` answers by itself).

import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api'

export interface SocketAck {
  envelope_id: string
  type: EnvelopeType
  /** What the app passed to `ack(...)` (Bolt sends `{}` for a bare `ack()`). */
  payload?: Record<string, unknown>
  /** From sending the envelope to receiving its ack. */
  latencyMs: number
  at: number
}

export interface SentEnvelope {
  envelope_id: string
  type: EnvelopeType
  payload: object
  retry_attempt?: number
  retry_reason?: string
  at: number
}

export interface SocketSendOptions {
  /** Marks a redelivery (`retry_attempt`/`retry_reason`, e.g. `'timeout'`). */
  retryAttempt?: number
  retryReason?: string
  /** Reject when no ack arrives in time (default: the fake's `ackTimeoutMs`, 3000). */
  timeoutMs?: number
}

export interface FakeSocketMode {
  /** Open connections now. */
  readonly connectionCount: number
  /** Connections opened since start/reset (a reconnect makes it grow). */
  readonly connectionsOpened: number
  readonly envelopes: readonly SentEnvelope[]
  readonly acks: readonly SocketAck[]
  /** Sends an envelope to a connected client and resolves with its ack; rejects on timeout or disconnect. */
  send(type: EnvelopeType, payload: object, options?: SocketSendOptions): Promise<SocketAck>
  waitForConnection(timeoutMs?: number): Promise<void>
  /** Sends `{type:'disconnect', reason}` to every client, as Slack does before recycling a connection. */
  sendDisconnect(reason?: 'refresh_requested' | 'link_disabled' | 'warning'): void
  /** Closes every connection from the server side (`abrupt`: drop the TCP socket without a close frame). */
  disconnectAll(options?: { abrupt?: boolean }): Promise<void>
}

interface Pending {
  ws: WebSocket
  type: EnvelopeType
  sentAt: number
  resolve: (ack: SocketAck) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export class SocketModeHub implements FakeSocketMode {
  private readonly wss = new WebSocketServer({ noServer: true })
  private readonly sockets: WebSocket[] = []
  private readonly tickets = new Set<string>()
  private readonly pending = new Map<string, Pending>()
  private opened = 0
  private next = 0
  envelopes: SentEnvelope[] = []
  acks: SocketAck[] = []

  constructor(private readonly options: { appId: string; ackTimeoutMs: number; pingIntervalMs?: number }) {}

  get connectionCount(): number {
    return this.sockets.length
  }

  get connectionsOpened(): number {
    return this.opened
  }

  /** A one-time URL, as `apps.connections.open` returns (`wss://wss-primary.slack.com/link/?ticket=…`). */
  issueUrl(baseUrl: string): string {
    const ticket = randomUUID()
    this.tickets.add(ticket)
    return `${baseUrl.replace(/^http/, 'ws')}/socket?ticket=${ticket}&app_id=${this.options.appId}`
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake')
    const ticket = url.searchParams.get('ticket') ?? ''
    if (url.pathname !== '/socket' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws))
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.push(ws)
    this.opened += 1
    const ping = this.options.pingIntervalMs ? setInterval(() => ws.ping(), this.options.pingIntervalMs) : undefined
    ping?.unref()
    ws.on('message', (data) => this.onMessage(String(data)))
    ws.on('close', () => {
      clearInterval(ping)
      const index = this.sockets.indexOf(ws)
      if (index >= 0) this.sockets.splice(index, 1)
      for (const [id, p] of this.pending) {
        if (p.ws !== ws) continue
        this.settle(id)
        p.reject(new Error(`fake slack: socket closed before envelope ${id} was acked`))
      }
    })
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.length,
        debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.options.appId },
      }),
    )
  }

  private onMessage(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown }
    try {
      message = JSON.parse(text) as typeof message
    } catch {
      return
    }
    if (typeof message.envelope_id !== 'string') return
    const p = this.settle(message.envelope_id)
    if (!p) return
    const payload = message.payload as Record<string, unknown> | undefined
    const ack: SocketAck = {
      envelope_id: message.envelope_id,
      type: p.type,
      ...(payload === undefined ? {} : { payload }),
      latencyMs: performance.now() - p.sentAt,
      at: Date.now(),
    }
    this.acks.push(ack)
    p.resolve(ack)
  }

  private settle(id: string): Pending | undefined {
    const p = this.pending.get(id)
    if (p) clearTimeout(p.timer)
    this.pending.delete(id)
    return p
  }

  send(type: EnvelopeType, payload: object, options: SocketSendOptions = {}): Promise<SocketAck> {
    const open = this.sockets.filter((ws) => ws.readyState === ws.OPEN)
    const ws = open[this.next++ % Math.max(open.length, 1)]
    if (!ws) return Promise.reject(new Error('fake slack: no Socket Mode client is connected'))
    const envelope: SentEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      ...(options.retryAttempt === undefined ? {} : { retry_attempt: options.retryAttempt }),
      ...(options.retryReason === undefined ? {} : { retry_reason: options.retryReason }),
      at: Date.now(),
    }
    this.envelopes.push(envelope)
    const timeoutMs = options.timeoutMs ?? this.options.ackTimeoutMs
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(envelope.envelope_id)
        reject(new Error(`fake slack: envelope ${envelope.envelope_id} (${type}) not acked within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(envelope.envelope_id, { ws, type, sentAt: performance.now(), resolve, reject, timer })
      const { at: _at, ...wire } = envelope
      const eventsDefaults = type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}
      ws.send(JSON.stringify({ ...eventsDefaults, ...wire, accepts_response_payload: type !== 'events_api' }))
    })
  }

  async waitForConnection(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.sockets.length === 0) {
      if (Date.now() > deadline) throw new Error(`fake slack: no Socket Mode connection within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  sendDisconnect(reason: 'refresh_requested' | 'link_disabled' | 'warning' = 'refresh_requested'): void {
    const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } })
    for (const ws of this.sockets) ws.send(message)
  }

  async disconnectAll(options: { abrupt?: boolean } = {}): Promise<void> {
    const closing = this.sockets.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())))
    for (const ws of [...this.sockets]) {
      if (options.abrupt) ws.terminate()
      else {
        ws.close(1001, 'going away')
        // A client that never answers the close frame is dropped, as Slack's edge would.
        setTimeout(() => ws.terminate(), 1000).unref()
      }
    }
    await Promise.all(closing)
  }

  reset(): void {
    this.envelopes = []
    this.acks = []
    this.opened = this.sockets.length
  }

  async close(): Promise<void> {
    for (const ws of [...this.sockets]) ws.terminate()
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new Error('fake slack closed'))
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }
}
