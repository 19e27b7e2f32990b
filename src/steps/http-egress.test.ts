// The egress rules on seeded random paths and redirects: a connection's URL and its hops never leave its origin.
import { describe, expect, it } from 'vitest'
import { AppError } from '../errors.ts'
import { connectionUrl, type OutgoingRequest, redirectFrom } from './http-egress.ts'

function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const BASES = [
  'https://api.github.com',
  'https://api.github.com/',
  'https://api.example.com/v2',
  'http://127.0.0.1:8080',
  'http://[::1]:9000/base/',
  'https://user@api.example.com',
]
const PARTS = ['/', '//', '\\', '@', ':', '4701', 'evil.com', '.', '%2f', '%40', '%5c', '?', '#', 'x', ' ', '\t', '..']
const PARTS_PLUS = [...PARTS, '[::1]', 'https://', 'javascript:', '\u3002', '\0', '%00', '\n']

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T
}

function randomText(next: () => number, parts: readonly string[]): string {
  return Array.from({ length: 1 + Math.floor(next() * 7) }, () => pick(next, parts)).join('')
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
    return undefined
  } catch (error) {
    if (!(error instanceof AppError)) throw error
    return error.code
  }
}

describe('connectionUrl', () => {
  it('refuses the attacker paths of issue 13 and keeps paths that start with /', () => {
    for (const path of [':4701/x', '.evil.com/x', '@evil.com/x', '\\\\evil.com/x', '%2F%2Fevil.com', '']) {
      expect(
        codeOf(() => connectionUrl('https://api.github.com', path)),
        path,
      ).toBe('connection_origin_mismatch')
    }
    expect(connectionUrl('https://api.github.com', '//evil.com/x').href).toBe('https://api.github.com//evil.com/x')
    expect(connectionUrl('https://api.github.com/', '/\\evil.com').host).toBe('api.github.com')
    expect(connectionUrl('https://api.example.com/v2', '/things?a=1').href).toBe(
      'https://api.example.com/v2/things?a=1',
    )
  })

  it('returns a URL on the base origin or fails with a stable code, for 5,000 random paths', () => {
    const next = random(4701)
    for (let i = 0; i < 5_000; i++) {
      const base = pick(next, BASES)
      const path = randomText(next, PARTS_PLUS)
      let url: URL | undefined
      const code = codeOf(() => {
        url = connectionUrl(base, path)
      })
      if (code === undefined) expect(url?.origin, `${base} + ${JSON.stringify(path)}`).toBe(new URL(base).origin)
      else expect(['connection_origin_mismatch', 'invalid_url'], `${base} + ${JSON.stringify(path)}`).toContain(code)
      if (!path.startsWith('/')) expect(code).toBe('connection_origin_mismatch')
    }
  })
})

const request = (over: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
  url: new URL('https://api.example.com/v1/start'),
  method: 'POST',
  headers: {
    authorization: 'Bearer s3cret',
    'x-api-key': 'k',
    'content-type': 'application/json',
    'idempotency-key': 'r:s:1',
  },
  body: '{"a":1}',
  ...over,
})
const redirect = (status: number, location: string) => new Response(null, { status, headers: { location } })

describe('redirectFrom', () => {
  it('follows the fetch standard on methods and keeps everything on the same origin', () => {
    const same = redirectFrom(redirect(307, '/v1/other'), request(), 'https://api.example.com')
    expect(same).toMatchObject({ method: 'POST', body: '{"a":1}', headers: request().headers })
    const seeOther = redirectFrom(redirect(303, '/v1/done'), request(), 'https://api.example.com')
    expect(seeOther?.method).toBe('GET')
    expect(seeOther?.body).toBeUndefined()
    expect(seeOther?.headers['content-type']).toBeUndefined()
    expect(redirectFrom(redirect(302, '/x'), request({ method: 'PUT' }), undefined)?.method).toBe('PUT')
    expect(redirectFrom(new Response('ok', { status: 200 }), request(), undefined)).toBeUndefined()
    expect(redirectFrom(new Response(null, { status: 304 }), request(), undefined)).toBeUndefined()
    expect(codeOf(() => redirectFrom(redirect(302, 'file:///etc/passwd'), request(), undefined))).toBe(
      'invalid_redirect',
    )
  })

  it('never hands a connection hop to another origin, and strips the step headers elsewhere (random locations)', () => {
    const next = random(302)
    const locked = 'https://api.example.com'
    for (let i = 0; i < 5_000; i++) {
      // Header values are byte strings, so the location alphabet has no characters above 255.
      const location = randomText(next, [...PARTS, '[::1]', 'https://api.example.com', 'http://api.example.com', '//'])
      const status = pick(next, [301, 302, 303, 307, 308])
      const where = `${status} ${JSON.stringify(location)}`
      let hop: OutgoingRequest | undefined
      const code = codeOf(() => {
        hop = redirectFrom(redirect(status, location), request(), locked)
      })
      if (code === undefined) expect(hop?.url.origin, where).toBe(locked)
      else expect(['connection_origin_mismatch', 'invalid_redirect'], where).toContain(code)
      const loose = codeOf(() => {
        hop = redirectFrom(redirect(status, location), request(), undefined)
      })
      if (loose === undefined && hop && hop.url.origin !== locked) {
        expect(
          Object.keys(hop.headers).filter((h) => h !== 'idempotency-key' && h !== 'content-type'),
          where,
        ).toEqual([])
      }
    }
  })
})
