// createSlackDriver: sends Slack's inbound HTTP requests to the app, signed exactly as Slack signs them.

import { createHmac } from 'node:crypto'
import {
  type BlockActionInput,
  buildBlockActionPayload,
  buildEventEnvelope,
  buildSlashCommandPayload,
  buildUrlVerification,
  buildViewSubmissionPayload,
  type PayloadContext,
  type SlashCommandInput,
  type ViewSubmissionInput,
} from './payloads.ts'
import type { FakeSlack } from './server.ts'

export interface SlackDriverOptions {
  signingSecret: string
  /** The app's request URL, e.g. `http://127.0.0.1:3000/slack/events`. */
  url: string
  fake?: FakeSlack
  teamId?: string
  appId?: string
  verificationToken?: string
}

/** Ways to forge a request: a stale/future timestamp, a wrong signature, Events API retry headers. */
export interface ForgeOptions {
  /** X-Slack-Request-Timestamp in seconds (default: now). */
  timestamp?: number
  /** X-Slack-Signature to send instead of the correct one. */
  signature?: string
  retryNum?: number
  retryReason?: string
  /** Extra or overriding headers. */
  headers?: Record<string, string>
}

export interface DriverResponse {
  status: number
  /** Parsed JSON when the answer is JSON, else the text ('' for an empty body). */
  body: unknown
  text: string
  headers: Record<string, string>
  latencyMs: number
}

export interface SlackDriver {
  slashCommand(input: SlashCommandInput, options?: ForgeOptions): Promise<DriverResponse>
  blockAction(input: BlockActionInput, options?: ForgeOptions): Promise<DriverResponse>
  viewSubmission(input: ViewSubmissionInput, options?: ForgeOptions): Promise<DriverResponse>
  event(
    event: { type: string } & Record<string, unknown>,
    options?: ForgeOptions & { eventId?: string },
  ): Promise<DriverResponse>
  urlVerification(challenge: string, options?: ForgeOptions): Promise<DriverResponse>
  /** Signs and posts a raw body as is. */
  post(rawBody: string, contentType: string, options?: ForgeOptions): Promise<DriverResponse>
}

export const FORM = 'application/x-www-form-urlencoded'

/** Slack's request signature: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`). */
export function signSlackRequest(signingSecret: string, rawBody: string, timestamp: number): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`
}

/** Form-encodes fields as Slack does (`application/x-www-form-urlencoded`, spaces as `+`). */
export function encodeForm(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  const ctx: PayloadContext = {
    ...(options.fake ? { fake: options.fake } : {}),
    ...(options.teamId ? { teamId: options.teamId } : {}),
    ...(options.appId ? { appId: options.appId } : {}),
    ...(options.verificationToken ? { verificationToken: options.verificationToken } : {}),
  }

  const post = async (rawBody: string, contentType: string, forge: ForgeOptions = {}): Promise<DriverResponse> => {
    const timestamp = forge.timestamp ?? Math.floor(Date.now() / 1000)
    // The content type is set explicitly: fetch would add `;charset=UTF-8`, which Bolt's receivers refuse.
    const headers: Record<string, string> = {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': forge.signature ?? signSlackRequest(options.signingSecret, rawBody, timestamp),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...(forge.retryNum === undefined ? {} : { 'x-slack-retry-num': String(forge.retryNum) }),
      ...(forge.retryReason === undefined ? {} : { 'x-slack-retry-reason': forge.retryReason }),
      ...forge.headers,
    }
    const started = performance.now()
    const response = await fetch(options.url, { method: 'POST', headers, body: rawBody, redirect: 'manual' })
    const text = await response.text()
    const latencyMs = performance.now() - started
    let body: unknown = text
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    return { status: response.status, body, text, headers: Object.fromEntries(response.headers), latencyMs }
  }

  const postPayload = (payload: object, forge?: ForgeOptions) =>
    post(encodeForm({ payload: JSON.stringify(payload) }), FORM, forge)

  return {
    slashCommand: (input, forge) => post(encodeForm(buildSlashCommandPayload(input, ctx)), FORM, forge),
    blockAction: (input, forge) => postPayload(buildBlockActionPayload(input, ctx), forge),
    viewSubmission: (input, forge) => postPayload(buildViewSubmissionPayload(input, ctx), forge),
    event: (event, forge = {}) => {
      const envelope = buildEventEnvelope(event, ctx, forge.eventId === undefined ? {} : { eventId: forge.eventId })
      return post(JSON.stringify(envelope), 'application/json', forge)
    },
    urlVerification: (challenge, forge) =>
      post(JSON.stringify(buildUrlVerification(challenge, ctx)), 'application/json', forge),
    post,
  }
}
