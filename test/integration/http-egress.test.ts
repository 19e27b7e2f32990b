// Where an http step's bytes may go (issue 13 H3, M1, M2): a connection's credentials never reach another origin, not
// through a templated path nor a redirect, and a response is read only up to GREENLIGHT_MAX_BODY_BYTES.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { type ApiServer, eventually, type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']
const BEARER = 'sk_egress_bearer_5551'
const API_KEY = 'egress-api-key-7342'
const MAX_BODY = 1024 * 1024
const THRESHOLD = 64 * 1024

const pathFlow = (slug: string, connection: string, path: string, extra = '') => `slug: ${slug}
requires: { connections: [${connection}] }
inputs: { path: { type: string, default: "/" } }
steps:
  - id: call
    http: { connection: ${connection}, path: "${path}"${extra} }
`

/** Peak resident memory of a process (VmHWM), in bytes: it catches a spike that has already been freed. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB$/m)
  if (!line?.[1]) throw new Error(`no VmHWM for ${pid}`)
  return Number(line[1]) * 1024
}

/** A seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('http step egress', () => {
  let serve: ChildProcess
  let server: ApiServer
  let dataDir: string
  let target: HttpTarget
  let evil: HttpTarget
  let evilPort: string

  const run = async (flow: string, inputs: Record<string, unknown> = {}): Promise<Json> => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return runReaches(server, (started.body.data as Json).run.id, TERMINAL)
  }
  const callOf = (shown: Json): Json => shown.steps.find((s: Json) => s.step === 'call')

  beforeAll(async () => {
    target = await startHttpTarget()
    evil = await startHttpTarget()
    evilPort = new URL(evil.url).port
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-egress-'))
    const started = await spawnServe({
      env: {
        GREENLIGHT_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'silent',
        GREENLIGHT_MAX_BODY_BYTES: String(MAX_BODY),
        GREENLIGHT_RESOURCE_THRESHOLD: String(THRESHOLD),
      },
    })
    serve = started.child
    server = { url: started.url, token: readFileSync(join(dataDir, 'cli-token'), 'utf8').trim() }
    expect((await api(server, 'PUT', '/api/v1/secrets/bearer', { value: BEARER })).status).toBe(201)
    expect((await api(server, 'PUT', '/api/v1/secrets/api_key', { value: API_KEY })).status).toBe(201)
    const bearer = { type: 'http', base_url: target.url, auth: { type: 'bearer', secret: 'bearer' } }
    const keyed = {
      type: 'http',
      base_url: target.url,
      auth: { type: 'header', header: 'X-Api-Key', secret: 'api_key' },
    }
    expect((await api(server, 'PUT', '/api/v1/connections/api_bearer', bearer)).status).toBe(201)
    expect((await api(server, 'PUT', '/api/v1/connections/api_key', keyed)).status).toBe(201)
    // No port in the base URL, as with https://api.github.com: a path's ":<port>" or ".host" then joins the authority.
    const portless = { type: 'http', base_url: 'http://127.0.0.1', auth: { type: 'bearer', secret: 'bearer' } }
    expect((await api(server, 'PUT', '/api/v1/connections/portless', portless)).status).toBe(201)
    await pushRelease(server, pathFlow('eg_path', 'api_bearer', '{{ inputs.path }}'))
    await pushRelease(server, pathFlow('eg_literal', 'portless', `{{ ':${evilPort}/x' }}`))
    await pushRelease(server, pathFlow('eg_key', 'api_key', '{{ inputs.path }}'))
    await pushRelease(server, pathFlow('eg_post', 'api_key', '{{ inputs.path }}', ', method: POST, json: { a: 1 }'))
    await pushRelease(
      server,
      `slug: eg_url
inputs: { target: { type: string, required: true } }
steps:
  - id: call
    http: { url: "{{ inputs.target }}/away", headers: { x-token: "flow-written-token" } }
`,
    )
  }, 30_000)
  afterAll(async () => {
    if (serve) await stopChild(serve, 'SIGKILL')
    await target?.close()
    await evil?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  describe('H3: a templated path stays on the connection origin', () => {
    it("fails with connection_origin_mismatch before sending anything when the path is {{ ':<port>/x' }}", async () => {
      const done = await run('eg_literal')
      expect(evil.requests.map((r) => r.headers.authorization)).toEqual([])
      expect(done.run.status).toBe('failed')
      expect(done.run.error).toMatchObject({ code: 'connection_origin_mismatch', step: 'call' })
      // The step's hint reaches the run's error, so the person reading it learns what to change.
      expect(done.run.error.hint).toContain('use a path that starts with /')
    })

    it('refuses paths that would move the host, port or user info, and sends the rest to the connection', async () => {
      const attacks = [
        `:${evilPort}/x`,
        `@127.0.0.1:${evilPort}/x`,
        `.evil.example/x`,
        `\\\\127.0.0.1:${evilPort}/x`,
        `%2F%2F127.0.0.1:${evilPort}/x`,
        `\t:${evilPort}/x`,
        `?@127.0.0.1:${evilPort}/x`,
      ]
      for (const path of attacks) {
        const done = await run('eg_path', { path })
        expect(done.run.error?.code, path).toBe('connection_origin_mismatch')
      }
      // Paths that start with / stay on the connection's host even when they look like another authority.
      for (const path of [`//127.0.0.1:${evilPort}/x`, `/\\127.0.0.1:${evilPort}/x`, '/%2e%2e/@evil']) {
        const done = await run('eg_path', { path })
        expect(done.run.status, `${path}: ${JSON.stringify(done.run.error)}`).toBe('succeeded')
      }
      expect(evil.requests).toEqual([])
      expect(target.requests.every((r) => r.headers.authorization === `Bearer ${BEARER}`)).toBe(true)
    })

    it('never sends a request to another origin, whatever the path (seeded random paths)', async () => {
      const next = random(1313)
      const parts = [
        '/',
        '//',
        '\\',
        '@',
        ':',
        evilPort,
        '127.0.0.1',
        '.',
        '%2f',
        '%40',
        '?',
        '#',
        'x',
        ' ',
        '..',
        '[::1]',
      ]
      const codes = new Set<string>()
      for (let i = 0; i < 40; i++) {
        const length = 1 + Math.floor(next() * 6)
        const path = Array.from({ length }, () => parts[Math.floor(next() * parts.length)]).join('')
        const done = await run('eg_path', { path })
        if (done.run.status !== 'succeeded') codes.add(done.run.error?.code)
        if (!path.startsWith('/')) expect(done.run.error?.code, path).toBe('connection_origin_mismatch')
      }
      expect([...codes].filter((c) => c !== 'connection_origin_mismatch' && c !== 'invalid_url')).toEqual([])
      expect(evil.requests).toEqual([])
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    })
  })

  describe('M1: redirects', () => {
    it('follows a same-origin redirect with the credentials, keeping method and body on a 307', async () => {
      target.handle('/hop', (_req, res) => res.writeHead(302, { location: '/landing' }).end())
      target.handle('/hop307', (_req, res) => res.writeHead(307, { location: `${target.url}/landing` }).end())
      const got = await run('eg_key', { path: '/hop' })
      expect(got.run.status, JSON.stringify(got.run.error)).toBe('succeeded')
      const posted = await run('eg_post', { path: '/hop307' })
      expect(posted.run.status, JSON.stringify(posted.run.error)).toBe('succeeded')
      const landings = target.requests.filter((r) => r.path === '/landing')
      expect(landings.map((r) => [r.method, r.headers['x-api-key'], r.body])).toEqual([
        ['GET', API_KEY, ''],
        ['POST', API_KEY, '{"a":1}'],
      ])
    })

    it('does not follow a redirect off the connection origin: the step fails and the credential never arrives', async () => {
      target.handle('/away', (_req, res) => res.writeHead(302, { location: `${evil.url}/stolen` }).end())
      const done = await run('eg_key', { path: '/away' })
      expect(done.run.status).toBe('failed')
      expect(done.run.error).toMatchObject({ code: 'connection_origin_mismatch', step: 'call' })
      expect(evil.requests).toEqual([])
    })

    it('stops after 5 redirects with too_many_redirects', async () => {
      target.handle('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end())
      const before = target.requests.length
      const done = await run('eg_key', { path: '/loop' })
      expect(done.run.error).toMatchObject({ code: 'too_many_redirects', step: 'call' })
      expect(target.requests.slice(before).map((r) => r.path)).toEqual(Array(6).fill('/loop'))
    })

    it("a url step follows a redirect to another origin without the step's own headers", async () => {
      const done = await run('eg_url', { target: target.url })
      expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
      expect(target.requests.at(-1)?.headers['x-token']).toBe('flow-written-token')
      expect(evil.requests.map((r) => r.path)).toEqual(['/stolen'])
      expect(evil.requests[0]?.headers['x-token']).toBeUndefined()
      expect(evil.requests[0]?.idempotencyKey).toBe(`${done.run.id}:call:1`)
      evil.requests.length = 0
    })
  })

  describe('M2: response size', () => {
    it('stops reading at GREENLIGHT_MAX_BODY_BYTES and closes the connection; memory stays flat', async () => {
      const stream = { written: 0, finished: false, closed: false }
      target.handle('/huge', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' })
        const chunk = Buffer.alloc(64 * 1024, 'a')
        const pump = (): void => {
          while (stream.written < 512 * 1024 * 1024) {
            stream.written += chunk.length
            if (!res.write(chunk)) {
              res.once('drain', pump)
              return
            }
          }
          stream.finished = true
          res.end()
        }
        res.on('close', () => {
          stream.closed = true
        })
        pump()
      })
      target.handle('/declared', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_BODY * 8) })
        res.write('{"a":')
      })
      await run('eg_key', { path: '/landing' })
      const before = peakRss(serve.pid as number)
      const done = await run('eg_key', { path: '/huge' })
      expect(done.run.status).toBe('failed')
      expect(done.run.error).toMatchObject({ code: 'response_too_large', step: 'call' })
      const growth = peakRss(serve.pid as number) - before
      expect(growth, `peak RSS grew by ${Math.round(growth / 1e6)} MB`).toBeLessThan(100 * 1024 * 1024)
      await eventually(async () => (stream.closed ? true : undefined), 'the target to see its response cut off')
      expect(stream.finished).toBe(false)
      expect(done.run.error.message).toContain(String(MAX_BODY))
      const declared = await run('eg_key', { path: '/declared' })
      expect(declared.run.error).toMatchObject({ code: 'response_too_large', step: 'call' })
    }, 60_000)

    it('keeps a response over the resource threshold but under the limit, as a res:// resource', async () => {
      const text = JSON.stringify({ data: 'b'.repeat(THRESHOLD * 3) })
      target.handle('/medium', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(text))
      const done = await run('eg_key', { path: '/medium' })
      expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
      expect(JSON.stringify(callOf(done).output)).toMatch(/res:\/\/[0-9a-f]{64}/)
    })
  })
})
