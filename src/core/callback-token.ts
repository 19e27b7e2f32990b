// Callback tokens: bound to one run, step and visit, signed with the instance key, verified in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface CallbackTarget {
  runId: string
  stepId: string
  visit: number
}

const MAC_BYTES = 24 // 192 bits: unguessable without the key

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`greenlight-callback\n${payload}`).digest().subarray(0, MAC_BYTES)
}

export function signCallbackToken(key: Buffer, target: CallbackTarget): string {
  const payload = Buffer.from(`${target.runId}:${target.stepId}:${target.visit}`).toString('base64url')
  return `${payload}.${mac(key, payload).toString('base64url')}`
}

/** The target of a genuine token, or undefined for anything forged, truncated or malformed. */
export function verifyCallbackToken(key: Buffer, token: string): CallbackTarget | undefined {
  if (token.length > 512) return undefined
  const dot = token.indexOf('.')
  if (dot <= 0) return undefined
  const payload = token.slice(0, dot)
  // Compare the canonical text of the signature: base64url decoding tolerates other spellings of the same bytes.
  const given = Buffer.from(token.slice(dot + 1))
  const expected = Buffer.from(mac(key, payload).toString('base64url'))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) return undefined
  const match = /^(run_[0-9A-Z]{26}):([a-z][a-z0-9_]{0,62}):(\d{1,6})$/.exec(
    Buffer.from(payload, 'base64url').toString(),
  )
  if (!match?.[1] || !match[2] || !match[3]) return undefined
  return { runId: match[1], stepId: match[2], visit: Number(match[3]) }
}

/** What logs may show of a token: enough to correlate, never enough to use. */
export function redactToken(token: string): string {
  return `${token.slice(0, 8)}…`
}
