// Webhook authentication over the raw body: Greenlight's timestamped HMAC, GitHub's X-Hub-Signature-256, or a bearer
// token. Every comparison is constant-time; the answer says only whether it passed and, if not, why (for the log).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** How far `t=` may be from now, either way: a captured request replays for at most this long. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000

/**
 * How long a signed request counts as a replay of an earlier one. A Greenlight `t=` is accepted for the window either
 * way of now, so two uses of one signature fall within twice the window; GitHub signs no time, so a day.
 */
export const REPLAY_WINDOW_MS = { greenlight: 2 * SIGNATURE_WINDOW_MS, github: 24 * 3_600_000 } as const

/**
 * A signed message's fingerprint: the sha256 of its expected HMAC. Only the secret's holder can compute it for a body,
 * so no sender can claim another message's fingerprint ahead of it, and the stored value is not a usable signature.
 */
export interface SignedMessage {
  fingerprint: string
  replayWindowMs: number
}

export type WebhookAuthResult =
  | { ok: true; scheme: 'bearer' }
  | { ok: true; scheme: 'greenlight' | 'github'; signed: SignedMessage }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'bad_signature' }

export interface WebhookRequestAuth {
  raw: Uint8Array
  /** Lower-cased header names. */
  headers: Record<string, string>
  now: number
}

/** The `X-Greenlight-Signature` value for a body; senders (and tests) sign with this. */
export function greenlightSignature(secret: string, raw: Uint8Array | string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, `${unixSeconds}.`, raw)}`
}

/** The `X-Hub-Signature-256` value GitHub sends for a body. */
export function githubSignature(secret: string, raw: Uint8Array | string): string {
  return `sha256=${hmacHex(secret, '', raw)}`
}

function hmacHex(secret: string, prefix: string, raw: Uint8Array | string): string {
  return createHmac('sha256', secret).update(prefix).update(raw).digest('hex')
}

/** Equal lengths are required by timingSafeEqual; comparing digests hides the expected length too. */
function same(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && given.length === expected.length
}

export function verifyHmac(secret: string, request: WebhookRequestAuth): WebhookAuthResult {
  const ours = request.headers['x-greenlight-signature']
  if (ours !== undefined) return verifyGreenlight(secret, ours, request)
  const github = request.headers['x-hub-signature-256']
  if (github !== undefined) {
    const match = /^sha256=([0-9a-f]{64})$/i.exec(github.trim())
    if (!match?.[1]) return { ok: false, reason: 'malformed_signature' }
    const expected = hmacHex(secret, '', request.raw)
    return same(match[1].toLowerCase(), expected)
      ? { ok: true, scheme: 'github', signed: signedMessage(expected, REPLAY_WINDOW_MS.github) }
      : { ok: false, reason: 'bad_signature' }
  }
  return { ok: false, reason: 'missing_signature' }
}

/** `t=<unix seconds>,v1=<hex>`; several `v1=` are allowed (a sender rotating its secret signs with both). */
function verifyGreenlight(secret: string, header: string, request: WebhookRequestAuth): WebhookAuthResult {
  let t: string | undefined
  const signatures: string[] = []
  for (const part of header.split(',')) {
    const [name, value, ...rest] = part.trim().split('=')
    if (rest.length > 0 || value === undefined) return { ok: false, reason: 'malformed_signature' }
    if (name === 't') t = value
    else if (name === 'v1') signatures.push(value.toLowerCase())
  }
  if (t === undefined || !/^\d{1,12}$/.test(t) || signatures.length === 0 || signatures.length > 8)
    return { ok: false, reason: 'malformed_signature' }
  if (Math.abs(request.now - Number(t) * 1000) > SIGNATURE_WINDOW_MS) return { ok: false, reason: 'stale_timestamp' }
  const expected = hmacHex(secret, `${t}.`, request.raw)
  // Check every candidate, so the time taken does not tell which one matched.
  const matches = signatures.map((s) => same(s, expected))
  return matches.includes(true)
    ? { ok: true, scheme: 'greenlight', signed: signedMessage(expected, REPLAY_WINDOW_MS.greenlight) }
    : { ok: false, reason: 'bad_signature' }
}

function signedMessage(hmac: string, replayWindowMs: number): SignedMessage {
  return { fingerprint: createHash('sha256').update(hmac).digest('hex'), replayWindowMs }
}

export function verifyBearer(secret: string, request: Pick<WebhookRequestAuth, 'headers'>): WebhookAuthResult {
  const header = request.headers.authorization
  if (header === undefined) return { ok: false, reason: 'missing_signature' }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match?.[1]) return { ok: false, reason: 'malformed_signature' }
  return same(match[1], secret) ? { ok: true, scheme: 'bearer' } : { ok: false, reason: 'bad_signature' }
}
