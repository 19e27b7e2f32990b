import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  githubSignature,
  greenlightSignature,
  REPLAY_WINDOW_MS,
  SIGNATURE_WINDOW_MS,
  verifyBearer,
  verifyHmac,
  type WebhookAuthResult,
} from './webhook-auth.ts'

const SECRET = 'whsec_test'
const raw = Buffer.from('{"action":"opened","issue":{"number":42}}')
const now = Date.parse('2026-11-22T10:00:00Z')
const t = Math.floor(now / 1000)

describe('X-Greenlight-Signature', () => {
  it('accepts the HMAC-SHA256 of "t.body" in hex within five minutes either way', () => {
    const hex = createHmac('sha256', SECRET).update(`${t}.`).update(raw).digest('hex')
    expect(greenlightSignature(SECRET, raw, t)).toBe(`t=${t},v1=${hex}`)
    for (const skew of [0, 299, -299]) {
      const headers = { 'x-greenlight-signature': greenlightSignature(SECRET, raw, t + skew) }
      expect(verifyHmac(SECRET, { raw, headers, now })).toMatchObject({ ok: true, scheme: 'greenlight' })
    }
  })

  it('fingerprints the signed message, "t.body": a replay has the same one, another second or body does not', () => {
    const fingerprint = (header: string, body = raw) =>
      signedOf(verifyHmac(SECRET, { raw: body, headers: { 'x-greenlight-signature': header }, now }))
    const first = fingerprint(greenlightSignature(SECRET, raw, t))
    expect(first.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    // Any two accepted uses of one `t` are at most two signature windows apart.
    expect(first.replayWindowMs).toBe(2 * SIGNATURE_WINDOW_MS)
    const rotated = `t=${t},v1=${'0'.repeat(64)},${greenlightSignature(SECRET, raw, t).split(',')[1]}`
    expect(fingerprint(rotated)).toEqual(first)
    expect(fingerprint(greenlightSignature(SECRET, raw, t - 1)).fingerprint).not.toBe(first.fingerprint)
    const other = Buffer.from(`${raw} `)
    expect(fingerprint(greenlightSignature(SECRET, other, t), other).fingerprint).not.toBe(first.fingerprint)
    // The stored fingerprint is not itself the signature a replay would need.
    expect(greenlightSignature(SECRET, raw, t)).not.toContain(first.fingerprint)
  })

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const good = greenlightSignature(SECRET, raw, t).split('v1=')[1]
    const headers = { 'x-greenlight-signature': `t=${t},v1=${'0'.repeat(64)},v1=${good}` }
    expect(verifyHmac(SECRET, { raw, headers, now }).ok).toBe(true)
  })

  it('refuses a stale timestamp, another body, another secret and malformed headers', () => {
    const check = (header: string, body = raw) =>
      verifyHmac(SECRET, { raw: body, headers: { 'x-greenlight-signature': header }, now })
    expect(check(greenlightSignature(SECRET, raw, t - 301))).toEqual({ ok: false, reason: 'stale_timestamp' })
    expect(check(greenlightSignature(SECRET, raw, t + 301))).toEqual({ ok: false, reason: 'stale_timestamp' })
    expect(check(greenlightSignature(SECRET, raw, t), Buffer.from(`${raw} `))).toEqual({
      ok: false,
      reason: 'bad_signature',
    })
    expect(check(greenlightSignature('other', raw, t))).toEqual({ ok: false, reason: 'bad_signature' })
    // The timestamp is signed: moving it breaks the signature.
    const moved = greenlightSignature(SECRET, raw, t).replace(`t=${t}`, `t=${t + 1}`)
    expect(check(moved)).toEqual({ ok: false, reason: 'bad_signature' })
    for (const bad of ['', 'v1=abc', `t=${t}`, `t=abc,v1=00`, `t=${t},v1=a=b`, 'garbage']) {
      expect(check(bad).ok, bad).toBe(false)
    }
  })

  it('refuses a request with no signature header', () => {
    expect(verifyHmac(SECRET, { raw, headers: {}, now })).toEqual({ ok: false, reason: 'missing_signature' })
  })
})

describe("GitHub's X-Hub-Signature-256", () => {
  it('accepts sha256=<hex HMAC of the body> and nothing else', () => {
    const header = githubSignature(SECRET, raw)
    expect(header).toBe(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`)
    const check = (value: string) => verifyHmac(SECRET, { raw, headers: { 'x-hub-signature-256': value }, now })
    expect(check(header)).toMatchObject({ ok: true, scheme: 'github' })
    expect(signedOf(check(header.toUpperCase().replace('SHA256=', 'sha256=')))).toEqual(signedOf(check(header)))
    expect(check(githubSignature('other', raw))).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check('sha1=abcdef')).toEqual({ ok: false, reason: 'malformed_signature' })
  })

  it('remembers a body for a day, since GitHub signs no time', () => {
    const signed = signedOf(
      verifyHmac(SECRET, { raw, headers: { 'x-hub-signature-256': githubSignature(SECRET, raw) }, now }),
    )
    expect(signed.replayWindowMs).toBe(REPLAY_WINDOW_MS.github)
    expect(REPLAY_WINDOW_MS.github).toBe(24 * 60 * 60_000)
    const other = Buffer.from('{}')
    const otherSigned = verifyHmac(SECRET, {
      raw: other,
      headers: { 'x-hub-signature-256': githubSignature(SECRET, other) },
      now,
    })
    expect(signedOf(otherSigned).fingerprint).not.toBe(signed.fingerprint)
  })
})

describe('bearer', () => {
  it('compares the token with the secret', () => {
    expect(verifyBearer(SECRET, { headers: { authorization: `Bearer ${SECRET}` } })).toEqual({
      ok: true,
      scheme: 'bearer',
    })
    expect(verifyBearer(SECRET, { headers: { authorization: 'Bearer nope' } }).ok).toBe(false)
    expect(verifyBearer(SECRET, { headers: { authorization: `Basic ${SECRET}` } }).ok).toBe(false)
    expect(verifyBearer(SECRET, { headers: {} })).toEqual({ ok: false, reason: 'missing_signature' })
  })
})

function signedOf(result: WebhookAuthResult) {
  if (!result.ok || result.scheme === 'bearer') throw new Error(`not a signed message: ${JSON.stringify(result)}`)
  return result.signed
}
