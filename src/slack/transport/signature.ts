// Slack request signatures: `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`), in a time window.
import { createHmac, timingSafeEqual } from 'node:crypto'

export type SignatureFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_outside_window' | 'bad_signature'

export interface SignatureInput {
  signingSecret: string
  /** The body exactly as received: the HMAC covers bytes, never a re-serialized parse. */
  rawBody: Uint8Array
  timestamp: string | null
  signature: string | null
  nowMs: number
  /** Slack's replay window: 5 minutes either way. */
  maxSkewSeconds: number
}

const TIMESTAMP = /^\d{1,12}$/
const SIGNATURE = /^v0=[0-9a-f]{64}$/i

/** Undefined when the request is Slack's, else why not. Compares in constant time. */
export function checkSlackSignature(input: SignatureInput): SignatureFailure | undefined {
  const { timestamp, signature } = input
  if (!timestamp || !signature) return 'missing_headers'
  if (!TIMESTAMP.test(timestamp)) return 'bad_timestamp'
  if (Math.abs(input.nowMs / 1000 - Number(timestamp)) > input.maxSkewSeconds) return 'timestamp_outside_window'
  if (!SIGNATURE.test(signature)) return 'bad_signature'
  const expected = createHmac('sha256', input.signingSecret).update(`v0:${timestamp}:`).update(input.rawBody).digest()
  const given = Buffer.from(signature.slice(3), 'hex')
  return timingSafeEqual(expected, given) ? undefined : 'bad_signature'
}
