// Seeded random requests against /callbacks/* and /api/v1/* (SPEC §9): no answer is a 5xx, the server stays healthy,
// and nothing changes. Reproduce a failure with FUZZ_SEED=<the printed seed>.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { createRandom, fuzzSeed, type Random, randomJson } from '../support/fuzz-env.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of the API's JSON documents
type Json = any

const SEED = fuzzSeed(randomBytes(4).readUInt32LE(0))
const MAX_BODY = 1024 * 1024

const FLOW = `slug: fz_agent
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait:
      timeout: 1h
      schema: { type: object, required: [diff, summary], properties: { diff: { type: string }, summary: { type: string } } }
  - id: review
    approval: { message: "fuzz me", approvers: { users: [U0ANN] } }
`

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** A token that is not genuine: cut, altered, extended or rearranged, but built from a real one. */
function garble(rnd: Random, token: string): string {
  const [payload = '', mac = ''] = token.split('.')
  switch (rnd.int(8)) {
    case 0:
      return token.slice(0, rnd.int(token.length))
    case 1: {
      // Replace one signature character by a different one of the alphabet: a different signature.
      const i = rnd.int(mac.length)
      const others = [...BASE64URL].filter((c) => c !== mac[i])
      return `${payload}.${mac.slice(0, i)}${rnd.pick(others)}${mac.slice(i + 1)}`
    }
    case 2: {
      const i = rnd.int(payload.length)
      const others = [...BASE64URL].filter((c) => c !== payload[i])
      return `${payload.slice(0, i)}${rnd.pick(others)}${payload.slice(i + 1)}.${mac}`
    }
    case 3:
      return `${mac}.${payload}`
    case 4:
      return `${payload}.${mac}${rnd.string(1 + rnd.int(4), BASE64URL)}`
    case 5:
      return `${payload}${payload}.${mac}`
    case 6:
      return token.toUpperCase()
    default:
      return `${payload}.${rnd.string(mac.length, BASE64URL)}`
  }
}

function randomToken(rnd: Random): string {
  switch (rnd.int(7)) {
    case 0:
      return rnd.string(1 + rnd.int(40), BASE64URL)
    case 1:
      return `${rnd.string(40, BASE64URL)}.${rnd.string(32, BASE64URL)}`
    case 2:
      return encodeURIComponent(rnd.string(1 + rnd.int(30)))
    case 3:
      return 'x'.repeat(400 + rnd.int(2000))
    case 4:
      return rnd.pick([
        '..',
        '.',
        '%2e%2e',
        '%2F',
        '%00',
        'null',
        'undefined',
        '__proto__',
        'constructor',
        '%ZZ',
        '%25',
      ])
    case 5:
      return `${Buffer.from(`run_${rnd.string(26, '0123456789ABCDEFGHJKMNPQRSTVWXYZ')}:agent:1`).toString('base64url')}.${rnd.string(32, BASE64URL)}`
    default:
      return rnd.string(1 + rnd.int(12), BASE64URL)
  }
}

function deepJson(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth)
}

const VALUES = {
  chosen: ['', '1h', '-5m', '9999d', '0s', 'res://abc', 'approve', 'NaN', '{{ env.HOME }}'],
  keys: [
    'diff',
    'summary',
    'progress',
    'extend',
    'reason',
    'source',
    'flow',
    'inputs',
    'wait',
    'payload',
    'comment',
    'digest',
    'scopes',
    'name',
    'as_user',
    'from',
    'version',
    'promote',
    '__proto__',
    'constructor',
  ],
  maxDepth: 4,
  maxString: 50,
}

const randomJsonValue = (rnd: Random): unknown => randomJson(rnd, VALUES)

interface FuzzBody {
  body: Buffer | undefined
  contentType: string | undefined
  label: string
}

function randomBody(rnd: Random): FuzzBody {
  const type = rnd.pick([
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/json; charset=latin1',
    undefined,
  ])
  switch (rnd.int(10)) {
    case 0:
      return { body: undefined, contentType: undefined, label: 'none' }
    case 1:
      return { body: rnd.bytes(rnd.int(2048)), contentType: type, label: 'binary' }
    case 2:
      return {
        body: Buffer.from(JSON.stringify(rnd.string(1 + rnd.int(200_000)))),
        contentType: type,
        label: 'huge string',
      }
    case 3:
      return {
        body: Buffer.from(deepJson(1000 + rnd.int(20_000), '[', ']')),
        contentType: type,
        label: 'deep array',
      }
    case 4:
      return {
        body: Buffer.from(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`),
        contentType: type,
        label: 'deep object',
      }
    case 5:
      return { body: Buffer.from(rnd.string(rnd.int(300))), contentType: type, label: 'text' }
    case 6:
      return { body: Buffer.alloc(MAX_BODY + 1 + rnd.int(4096), 0x20), contentType: type, label: 'over limit' }
    case 7:
      return {
        body: Buffer.from(JSON.stringify({ progress: rnd.string(rnd.int(5000)), extend: randomJsonValue(rnd) })),
        contentType: type,
        label: 'heartbeat-like',
      }
    default:
      return { body: Buffer.from(JSON.stringify(randomJsonValue(rnd))), contentType: type, label: 'json' }
  }
}

interface Sent {
  method: string
  path: string
  label: string
  status: number
  text: string
}

/**
 * A GET that tolerates one pooled keep-alive socket the server closed after an early 413: the client may reuse it
 * before it notices the close. A second failure is a real one.
 */
async function fetchAfterResets(url: string): Promise<Response> {
  try {
    return await fetch(url)
  } catch {
    return fetch(url)
  }
}

async function send(
  server: TestServer,
  method: string,
  path: string,
  body: FuzzBody,
  authorization?: string,
): Promise<Sent> {
  const headers: Record<string, string> = {}
  if (body.contentType) headers['content-type'] = body.contentType
  if (authorization !== undefined) headers.authorization = authorization
  const withBody = body.body !== undefined && method !== 'GET' && method !== 'HEAD'
  try {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: withBody ? new Uint8Array(body.body as Buffer) : undefined,
    })
    const text = await response.text()
    return { method, path: path.slice(0, 200), label: body.label, status: response.status, text: text.slice(0, 300) }
  } catch (error) {
    // A reset connection (for instance after a 413 answered before the body was read) is not a server failure.
    return { method, path: path.slice(0, 200), label: body.label, status: 0, text: String(error) }
  }
}

interface Snapshot {
  runs: Json[]
  waits: Json[]
  flows: Json[]
  tokens: Json[]
  resources: Json[]
}

async function snapshot(server: TestServer): Promise<Snapshot> {
  const runs = ((await api(server, 'GET', '/api/v1/runs?limit=200')).body.data as Json).runs as Json[]
  const withEvents = []
  for (const run of runs) {
    const events = ((await api(server, 'GET', `/api/v1/runs/${run.id}/events`)).body.data as Json).events as Json[]
    withEvents.push({ id: run.id, status: run.status, events: events.length, last: events.at(-1)?.hash })
  }
  const waits = ((await api(server, 'GET', '/api/v1/waits?status=all&limit=500')).body.data as Json).waits as Json[]
  const flows = ((await api(server, 'GET', '/api/v1/flows')).body.data as Json).flows as Json[]
  const tokens = ((await api(server, 'GET', '/api/v1/tokens')).body.data as Json).tokens as Json[]
  const resources = ((await api(server, 'GET', '/api/v1/resources?limit=1000')).body.data as Json).resources as Json[]
  return {
    runs: withEvents,
    waits: waits.map((w) => ({
      id: w.id,
      status: w.status,
      deadline_at: w.deadline_at,
      votes: w.votes?.length ?? 0,
      result: w.result,
    })),
    flows: flows.map((f) => ({ slug: f.slug, live: f.live_version, draft: f.draft_revision })),
    tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, revoked: t.revoked })),
    resources: resources.map((r) => r.ref).sort(),
  }
}

describe(`fuzzing the HTTP surface (FUZZ_SEED=${SEED})`, () => {
  let server: TestServer
  let readOnly: string
  let realTokens: string[] = []
  const ids: { runs: string[]; waits: string[] } = { runs: [], waits: [] }

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_MAX_BODY_BYTES: String(MAX_BODY) })
    const pushed = await api(server, 'POST', '/api/v1/flows', { source: FLOW })
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201)
    expect((await api(server, 'POST', '/api/v1/flows/fz_agent/release', {})).status).toBe(201)
    const created = await api(server, 'POST', '/api/v1/tokens', { name: 'reader', scopes: ['flows:read', 'runs:read'] })
    readOnly = (created.body.data as Json).token.secret
    // Some state to protect: runs parked on a callback wait and on an approval, and one that finished.
    for (let i = 0; i < 3; i++) {
      const run = await api(server, 'POST', '/api/v1/runs', { flow: 'fz_agent', inputs: {}, wait: true })
      expect(run.status, JSON.stringify(run.body)).toBe(201)
      ids.runs.push((run.body.data as Json).run.id)
      ids.waits.push((run.body.data as Json).run.waiting_on.wait_id)
    }
    for (const id of ids.runs) {
      const shown = (await api(server, 'GET', `/api/v1/runs/${id}`)).body.data as Json
      const url: string = shown.steps.find((s: Json) => s.step === 'hand_out').output
      realTokens.push(url.split('/callbacks/')[1] as string)
    }
    const completed = await fetch(`${server.url}/callbacks/${realTokens[1]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ diff: '+x', summary: 'done' }),
    })
    expect(completed.status).toBe(202)
    const canceled = await api(server, 'POST', `/api/v1/runs/${ids.runs[2]}/cancel`)
    expect(canceled.status).toBe(200)
    // Wait until the completed run parks on its approval, so the snapshot is of a quiet server.
    const deadline = Date.now() + 10_000
    for (;;) {
      const shown = (await api(server, 'GET', `/api/v1/runs/${ids.runs[1]}`)).body.data as Json
      if (shown.run.waiting_on?.kind === 'approval') {
        ids.waits.push(shown.run.waiting_on.wait_id)
        break
      }
      if (Date.now() > deadline) throw new Error('the second run did not reach its approval')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    realTokens = realTokens.filter(Boolean)
  })
  afterAll(async () => server.close())

  it('pins the cases earlier fuzz runs found', async () => {
    const none: FuzzBody = { body: undefined, contentType: undefined, label: 'none' }
    // Resource ids that are not valid percent-encoding once the router has decoded them.
    for (const id of ['%ZZ', '%25ZZ', '%E0%A4%A', '%25', encodeURIComponent('%E0%A4%A')]) {
      const sent = await send(server, 'GET', `/api/v1/resources/${id}`, none, `Bearer ${readOnly}`)
      expect(sent.status, `GET /api/v1/resources/${id}: ${sent.text}`).toBeLessThan(500)
      expect([400, 404]).toContain(sent.status)
    }
    // A genuine token with one more signature character is a different token.
    const token = realTokens[0] as string
    const longer = await send(server, 'GET', `/callbacks/${token}x`, none)
    expect(longer.status, longer.text).toBe(404)
  })

  it('no 5xx, nothing changes, and the server stays healthy', async () => {
    onTestFailed(() => {
      console.error(`fuzz-http failed with FUZZ_SEED=${SEED}`)
    })
    const rnd = createRandom(SEED)
    const before = await snapshot(server)
    const serverErrors: Sent[] = []
    const invalidTokenAnswers: Sent[] = []
    const authAnswers: Sent[] = []
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']

    // 1. /callbacks/*
    let callbackRequests = 0
    while (callbackRequests < 320) {
      const real = rnd.pick(realTokens)
      const mode = rnd.int(10)
      const suffix = rnd.pick(['', '', '/heartbeat', '/fail', `/${rnd.string(4, BASE64URL)}`, '/heartbeat/x', '/'])
      let token: string
      let method: string
      let body: FuzzBody
      if (mode === 0) {
        // A genuine token, read only: GET never changes anything.
        token = real
        method = 'GET'
        body = { body: undefined, contentType: undefined, label: 'none' }
      } else if (mode === 1) {
        // A genuine token, with a body that can never parse as JSON (0xff is not UTF-8): refused as is, 400
        // invalid_encoding (or 413 when too large, 415 once decoding is not the problem).
        token = real
        method = 'POST'
        body = {
          body: Buffer.concat([Buffer.from([0xff]), rnd.bytes(rnd.int(64))]),
          contentType: 'application/json',
          label: 'garbage',
        }
      } else {
        token = mode < 6 ? garble(rnd, real) : randomToken(rnd)
        method = rnd.chance(0.6) ? 'POST' : rnd.pick(methods)
        body = randomBody(rnd)
      }
      const path = `/callbacks/${token}${mode <= 1 ? rnd.pick(['', '/heartbeat', '/fail']) : suffix}`
      const sent = await send(server, method, path, body)
      callbackRequests++
      if (sent.status >= 500) serverErrors.push(sent)
      if (mode >= 2 && sent.status !== 404 && sent.status !== 0) invalidTokenAnswers.push(sent)
      if (mode === 1 && ![400, 413, 415].includes(sent.status)) invalidTokenAnswers.push(sent)
    }

    // 2. /api/v1/*
    const slugs = ['fz_agent', 'nope', 'FZ_AGENT', rnd.string(8), '%ZZ', '%25ZZ', '..', 'a'.repeat(300)]
    const refs = () =>
      rnd.pick([
        rnd.pick(ids.runs),
        rnd.pick(ids.waits),
        `run_${rnd.string(26, BASE64URL)}`,
        `wait_${rnd.string(26, BASE64URL)}`,
        'a'.repeat(64),
        `res://${'0'.repeat(64)}`,
        encodeURIComponent(`res://${'f'.repeat(64)}`),
        '%ZZ',
        '%25ZZ',
        '%E0%A4%A',
        encodeURIComponent(rnd.string(1 + rnd.int(20))),
        rnd.string(1 + rnd.int(10), BASE64URL),
      ])
    const paths = () =>
      rnd.pick([
        '/flows',
        `/flows/${rnd.pick(slugs)}`,
        `/flows/${rnd.pick(slugs)}/release`,
        `/flows/${rnd.pick(slugs)}/promote`,
        `/flows/${rnd.pick(slugs)}/diff`,
        '/runs',
        `/runs/${refs()}`,
        `/runs/${refs()}/events`,
        `/runs/${refs()}/audit`,
        `/runs/${refs()}/cancel`,
        `/runs/${refs()}/retry`,
        '/waits',
        `/waits/${refs()}`,
        `/waits/${refs()}/${rnd.pick(['approve', 'reject', 'request-changes', 'complete', 'maybe', ''])}`,
        '/resources',
        `/resources/${refs()}`,
        '/tokens',
        `/tokens/${rnd.pick(['reader', 'local-admin', refs()])}`,
        '/usage',
        '/whoami',
        `/${rnd.string(1 + rnd.int(12), BASE64URL)}`,
        `/runs/${refs()}/${rnd.string(5, BASE64URL)}`,
      ])
    const query = () => {
      if (rnd.chance(0.4)) return ''
      const params = new URLSearchParams()
      for (let i = 1 + rnd.int(3); i > 0; i--) {
        const key = rnd.pick([
          'status',
          'limit',
          'before',
          'flow',
          'run',
          'kind',
          'month',
          'ref',
          'from',
          'to',
          'settle',
          'x',
        ])
        const value = rnd.pick([
          'open',
          'all',
          'waiting,running',
          'bogus',
          '-1',
          '0',
          '1e309',
          'NaN',
          '999999999',
          'abc',
          '2026-13',
          '2026-01',
          'parked',
          'ended',
          'draft',
          'live',
          'r1',
          'v99',
          rnd.pick(ids.runs),
          rnd.string(rnd.int(30)),
        ])
        params.append(key, value)
      }
      // Long polls are legitimate; keep them short so the fuzz stays fast.
      if (params.has('settle')) params.set('timeout_ms', String(rnd.int(100)))
      return `?${params.toString()}${rnd.chance(0.1) ? '&%ZZ=%ZZ' : ''}`
    }
    let apiRequests = 0
    while (apiRequests < 320) {
      const auth = rnd.pick([
        undefined,
        `Bearer ${readOnly}`,
        `Bearer ${readOnly}`,
        `Bearer ${readOnly}`,
        `Bearer glt_${rnd.string(43, BASE64URL)}`,
        `Bearer ${rnd.string(rnd.int(300), `${BASE64URL} !"#$%&'()*+,./:;<=>?@[]^{|}~`)}`,
        `bearer ${readOnly}x`,
        `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        'Bearer',
        `Bearer ${readOnly.slice(0, -1)}`,
      ])
      const method = rnd.chance(0.5) ? 'GET' : rnd.pick(methods)
      const path = `/api/v1${paths()}${query()}`
      const sent = await send(server, method, path, randomBody(rnd), auth)
      apiRequests++
      if (sent.status >= 500) serverErrors.push(sent)
      const validToken = auth === `Bearer ${readOnly}`
      if (!validToken && ![401, 404, 413, 0].includes(sent.status))
        authAnswers.push({ ...sent, label: `auth: ${auth?.slice(0, 30)}` })
    }
    expect(callbackRequests + apiRequests).toBeGreaterThanOrEqual(600)

    expect(serverErrors, `5xx answers (FUZZ_SEED=${SEED})`).toEqual([])
    expect(invalidTokenAnswers, `callbacks with a non-genuine token not answered 404 (FUZZ_SEED=${SEED})`).toEqual([])
    expect(authAnswers, `API requests without a valid token not answered 401/404 (FUZZ_SEED=${SEED})`).toEqual([])

    const health = await fetchAfterResets(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect((await fetchAfterResets(`${server.url}/readyz`)).status).toBe(200)
    expect(await snapshot(server), `state changed (FUZZ_SEED=${SEED})`).toEqual(before)

    // Still working, not just answering: the real wait takes a valid callback.
    const good = await fetch(`${server.url}/callbacks/${realTokens[0]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ diff: '+ok', summary: 'after the fuzz' }),
    })
    expect(good.status).toBe(202)
  })
})
