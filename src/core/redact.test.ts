import { describe, expect, it } from 'vitest'
import { createRedactor } from './redact.ts'

describe('redactor', () => {
  it('masks every occurrence, the JSON-escaped spelling, and the longest secret first', () => {
    const r = createRedactor()
    r.add('abc"def')
    r.add('token-1234')
    r.add('token-1234-long')
    expect(r.text('a token-1234-long and token-1234')).toBe('a *** and ***')
    expect(r.text(JSON.stringify({ v: 'x abc"def y' }))).toBe('{"v":"x *** y"}')
    expect(r.value({ list: ['token-1234', 1, null], 'token-1234': true })).toEqual({
      list: ['***', 1, null],
      '***': true,
    })
  })

  it('ignores values too short to mask and returns untouched values as they are', () => {
    const r = createRedactor()
    r.add('42')
    r.add('')
    expect(r.size()).toBe(0)
    r.add('secret-value')
    const value = { a: ['x', { b: 'y' }], n: 1 }
    expect(r.value(value)).toBe(value)
    expect(r.text('42 is fine')).toBe('42 is fine')
  })
})

/** A value with `leaf` under `depth` alternating objects and arrays, built without recursion. */
function nest(depth: number, leaf: unknown): unknown {
  let node = leaf
  for (let i = 0; i < depth; i++) node = i % 2 === 0 ? { level: node } : [node]
  return node
}

/** The leaf under `nest`'s levels, read without recursion. */
function dig(value: unknown, depth: number): unknown {
  let node = value
  for (let i = depth - 1; i >= 0; i--) node = i % 2 === 0 ? (node as { level: unknown }).level : (node as unknown[])[0]
  return node
}

describe('redactor at any depth', () => {
  const secret = 'deep-secret-value-77'

  for (const depth of [65, 70, 5_000, 100_000]) {
    it(`masks a secret ${depth} levels down, in keys and values, and keeps the shape`, () => {
      const r = createRedactor()
      r.add(secret)
      const leaf = { token: secret, [secret]: 1, kept: 'fine' }
      const masked = r.value(nest(depth, leaf))
      expect(dig(masked, depth)).toEqual({ token: '***', '***': 1, kept: 'fine' })
    })
  }

  it('returns a deep value that holds no secret as it is, and leaves cycles alone', () => {
    const r = createRedactor()
    r.add(secret)
    const clean = nest(100_000, { kept: 'fine' })
    expect(r.value(clean)).toBe(clean)
    const cyclic: Record<string, unknown> = { token: secret }
    cyclic.self = cyclic
    const masked = r.value(cyclic) as Record<string, unknown>
    expect(masked.token).toBe('***')
  })
})

describe('redactor forms', () => {
  // '/', '+', ' ', '&', 'é' encode differently in a URL and in base64 than in clear text.
  const secret = 'Zq9/+ s3cr3t&value=é~42'
  const bytes = Buffer.from(secret)

  it('masks the URL-encoded and base64 (standard and url-safe) spellings, alone or inside longer text', () => {
    const r = createRedactor()
    r.add(secret)
    for (const spelling of [
      encodeURIComponent(secret),
      encodeURIComponent(secret).toLowerCase(),
      encodeURIComponent(secret).replace(/%20/g, '+'),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
    ]) {
      expect(r.text(`before ${spelling} after`), spelling).toBe('before *** after')
    }
    // Inside a longer base64 text the secret sits at one of three alignments; at most a character of it stays on
    // each side of the mask (the one that also carries bits of its neighbours).
    for (const prefix of ['', 'a', 'ab', 'agent:', 'x']) {
      for (const encoding of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${prefix}${secret}!tail`).toString(encoding)
        const masked = r.text(encoded)
        expect(masked, `${encoding} after '${prefix}'`).toContain('***')
        expect(masked.length, `${encoding} after '${prefix}'`).toBeLessThanOrEqual(encoded.length - 26)
      }
    }
  })

  it('masks case variants of a value of 8 or more characters', () => {
    const r = createRedactor()
    r.add('Sk_Live_Token_9f8e')
    expect(r.text('a SK_LIVE_TOKEN_9F8E b sk_live_token_9f8e c sK_lIvE_tOkEn_9F8e')).toBe('a *** b *** c ***')
  })

  it('masks legacy values of 4 to 7 characters exactly, and none of their case variants or encodings', () => {
    const r = createRedactor()
    r.add('Ab1/')
    expect(r.size()).toBe(1)
    expect(r.text('Ab1/ ab1/ QWIxLw==')).toBe('*** ab1/ QWIxLw==')
  })

  it('masks random secrets in random surroundings in every spelling', () => {
    const alphabet = 'abcdefXYZ0189/+=&% é~"\\\n-_.'
    const pick = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('')
    for (let i = 0; i < 300; i++) {
      const value = pick(8 + Math.floor(Math.random() * 24))
      const r = createRedactor()
      r.add(value)
      const around = [pick(Math.floor(Math.random() * 6)), pick(Math.floor(Math.random() * 6))]
      const json = JSON.stringify(value).slice(1, -1)
      for (const spelling of [value, json, encodeURIComponent(value), Buffer.from(value).toString('base64')]) {
        const masked = r.text(`${around[0]}${spelling}${around[1]}`)
        expect(masked.includes(spelling), `${JSON.stringify(value)} as ${spelling} in ${masked}`).toBe(false)
      }
    }
  })
})

describe('redactor inputs', () => {
  it('learns a value no URL can encode (a lone surrogate) and still masks its other spellings', () => {
    const r = createRedactor()
    const value = 'lone-\ud800-surrogate'
    expect(() => r.add(value)).not.toThrow()
    expect(r.text(`a ${value} b ${JSON.stringify(value)}`)).toBe('a *** b "***"')
  })

  it('leaves bytes alone: a Buffer or typed array is returned as it is', () => {
    const r = createRedactor()
    r.add('secret-bytes-42')
    const bytes = { b: Buffer.from('secret-bytes-42'), u: new Uint8Array(4) }
    expect(r.value(bytes)).toBe(bytes)
  })
})
