// Seeded random requests against POST /hooks/:slug (SPEC §9): random slugs, headers, content types, signatures and
// bodies, half of them genuinely signed so they reach parsing, mapping and dedupe. No answer is a 5xx, every answer is
// one of the documented statuses, and runs exist for exactly the 202s. Reproduce a failure with FUZZ_SEED=<seed>.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { githubSignature, greenlightSignature } from '../../src/core/webhook-auth.ts'
import { createRandom, fuzzRuns, fuzzSeed, type Random, randomJson } from '../support/fuzz-env.ts'
import { type Json, pushRelease } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const SEED = fuzzSeed(randomBytes(4).readUInt32LE(0))
const REQUESTS = fuzzRuns(300)
const SECRET = 'fuzz-secret'
/** Header values must be bytes; these are the printable ones, separators included. */
const PRINTABLE = 'abcXYZ019-_.~ /%?#&=+:;,"\'\\{}[]<>t=v1,'

const FLOWS = [
  `slug: fz_hook
inputs:
  n: { type: integer }
  s: { type: string, default: none }
  h: { type: string }
  q: { type: string }
  tag: { type: string, enum: [a, b, c] }
triggers:
  webhook:
    auth: hmac
    secret: fz_secret
    inputs:
      n: "{{ body.n }}"
      s: "{{ body.s }}"
      h: "{{ headers.\`x-fuzz\` }}"
      q: "{{ query.q }}"
      tag: "{{ body.tag }}"
    dedupe: "{{ headers.\`x-delivery\` }}"
steps:
  - id: echo
    transform: "{{ inputs }}"
`,
  `slug: fz_bearer
triggers:
  webhook: { auth: bearer, secret: fz_secret }
steps:
  - id: echo
    transform: "ok"
`,
]

const VALUES = {
  chosen: ['a', 'b', 'c', 'd', '', '{{ env.HOME }}', '$now()', '__proto__'],
  keys: ['n', 's', 'tag', 'repository', 'issue', '__proto__', 'constructor', 'x'],
}

const randomValue = (rnd: Random): unknown => randomJson(rnd, VALUES)

function randomBody(rnd: Random): string | Buffer {
  switch (rnd.int(8)) {
    case 0:
      return ''
    case 1:
      return rnd.bytes(rnd.int(512))
    case 2:
      return `${'['.repeat(5000 + rnd.int(50_000))}${']'.repeat(rnd.int(2) * 5000)}`
    case 3:
      return JSON.stringify({ pad: 'x'.repeat(1024 * 1024 - 10 + rnd.int(20)) })
    case 4:
      return rnd.string(rnd.int(200))
    default:
      return JSON.stringify(randomValue(rnd))
  }
}

interface Request {
  slug: string
  query: string
  headers: Record<string, string>
  body: string | Buffer
}

function randomRequest(rnd: Random): Request {
  const slug = rnd.chance(0.8)
    ? rnd.pick(['fz_hook', 'fz_hook', 'fz_hook', 'fz_bearer'])
    : rnd.pick(['nope', '%2e%2e', 'FZ_HOOK', '__proto__', encodeURIComponent(rnd.string(8))])
  const body = randomBody(rnd)
  const headers: Record<string, string> = {}
  const contentType = rnd.pick([
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'application/vnd.github+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    undefined,
  ])
  if (contentType) headers['content-type'] = contentType
  if (rnd.chance(0.7)) headers['x-delivery'] = `d${rnd.int(40)}`
  if (rnd.chance(0.5)) headers['x-fuzz'] = rnd.string(rnd.int(20), 'abcdef0123456789-_ ')
  const t = Math.floor(Date.now() / 1000) + rnd.pick([0, 0, 0, -10, 299, -301, 100_000])
  switch (rnd.int(7)) {
    case 0:
      headers['x-greenlight-signature'] = greenlightSignature(SECRET, body, t)
      break
    case 1:
      headers['x-hub-signature-256'] = githubSignature(SECRET, body)
      break
    case 2:
      headers.authorization = `Bearer ${SECRET}`
      break
    case 3:
      headers['x-greenlight-signature'] = rnd.pick([
        `t=${t},v1=${rnd.string(64, '0123456789abcdef')}`,
        rnd.string(rnd.int(80), PRINTABLE),
        `t=${t}`,
        'v1=,t=,',
      ])
      break
    case 4:
      headers['x-hub-signature-256'] = rnd.pick(['sha256=', `sha256=${'0'.repeat(64)}`, 'sha1=abc'])
      break
    case 5:
      headers.authorization = rnd.pick(['Bearer', 'Bearer wrong', `Basic ${SECRET}`, `bearer ${SECRET}`])
      break
    default:
      break
  }
  const query = rnd.pick(['', '?q=1', `?q=${encodeURIComponent(rnd.string(10))}`, '?q=a&q=b', '?%ZZ=1'])
  return { slug, query, headers, body }
}

describe('fuzzing /hooks', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer()
    expect((await api(server, 'PUT', '/api/v1/secrets/fz_secret', { value: SECRET })).status).toBe(201)
    for (const flow of FLOWS) await pushRelease(server, flow)
  })

  afterAll(async () => {
    await server?.close()
  })

  it(`never answers 5xx, answers only documented statuses, and starts runs only for 202s (seed ${SEED})`, async () => {
    onTestFailed(() => console.error(`fuzz-hooks seed: FUZZ_SEED=${SEED}`))
    const rnd = createRandom(SEED)
    const statuses = new Map<number, number>()
    const accepted = new Set<string>()
    for (let i = 0; i < REQUESTS; i++) {
      const request = randomRequest(rnd)
      let response: Response
      try {
        response = await fetch(`${server.url}/hooks/${request.slug}${request.query}`, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
        })
      } catch (error) {
        throw new Error(`request ${i} failed at the transport: ${String(error)}`)
      }
      const text = await response.text()
      const label = `request ${i}: ${request.slug} ${JSON.stringify(request.headers)} → ${response.status} ${text.slice(0, 300)}`
      expect(response.status, label).toBeLessThan(500)
      expect([202, 401, 404, 409, 413, 415, 422], label).toContain(response.status)
      const body = JSON.parse(text) as Json
      expect(body.ok, label).toBe(response.status === 202)
      if (response.status === 202) accepted.add(body.data.run_id)
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    }
    // The generator reaches past authentication: some requests start runs, some are redeliveries.
    expect(statuses.get(202) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0)
    const runs: Json[] = []
    for (let page: Json[] = []; runs.length === 0 || page.length === 200; ) {
      const before = runs.length === 0 ? '' : `&before=${runs[runs.length - 1].id}`
      page = ((await api(server, 'GET', `/api/v1/runs?limit=200${before}`)).body.data as Json).runs
      runs.push(...page)
      if (page.length === 0) break
    }
    expect(new Set(runs.map((r) => r.id)), JSON.stringify(Object.fromEntries(statuses))).toEqual(accepted)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })
})
