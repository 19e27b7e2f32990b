// API tokens and scopes, through the CLI and the HTTP API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

describe('tokens and scopes', () => {
  let server: TestServer
  let env: Record<string, string>
  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
  })
  afterAll(async () => server.close())

  it('creates a scoped token that can read but not write, then revokes it', async () => {
    const created = await runCli(['tokens', 'create', '--name', 'reader', '--scope', 'flows:read'], { env })
    expect(created.code, created.stdout).toBe(0)
    const secret: string = created.json.data.token.secret
    expect(secret).toMatch(/^glt_/)

    const read = await api(server, 'GET', '/api/v1/flows', undefined, secret)
    expect(read.status).toBe(200)
    const write = await api(server, 'POST', '/api/v1/flows', { source: 'slug: x' }, secret)
    expect(write.status).toBe(403)
    expect(write.body.error?.code).toBe('forbidden')

    const list = await runCli(['tokens', 'list'], { env })
    expect(list.json.data.tokens.map((t: { name: string }) => t.name)).toEqual(['local-admin', 'reader'])
    expect(JSON.stringify(list.json)).not.toContain(secret)

    const revoked = await runCli(['tokens', 'revoke', 'reader'], { env })
    expect(revoked.json.data.token.revoked).toBe(true)
    expect((await api(server, 'GET', '/api/v1/flows', undefined, secret)).status).toBe(401)
  })

  it('rejects unknown scopes and non-admin token management', async () => {
    const bad = await runCli(['tokens', 'create', '--name', 'x', '--scope', 'flows:everything'], { env })
    expect(bad.code).toBe(2)
    expect(bad.json.error.code).toBe('invalid_scope')
    const voter = await runCli(['tokens', 'create', '--name', 'ann', '--scope', 'approvals:decide', '--as', 'U0ANN'], {
      env,
    })
    expect(voter.json.data.token).toMatchObject({ as_user: 'U0ANN', scopes: ['approvals:decide'] })
    const who = await api(server, 'GET', '/api/v1/whoami', undefined, voter.json.data.token.secret)
    expect(who.body.data?.token).toMatchObject({ name: 'ann', as_user: 'U0ANN' })
    expect((await api(server, 'GET', '/api/v1/tokens', undefined, voter.json.data.token.secret)).status).toBe(403)
  })

  it('answers 401 without a token, 404 JSON on unknown routes', async () => {
    const res = await fetch(`${server.url}/api/v1/flows`)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    const missing = await fetch(`${server.url}/nope`)
    expect(missing.status).toBe(404)
  })

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ok: true, checks: { database: true } })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toContain('greenlight_http_requests_total')
    expect(metrics).toContain('route="/readyz"')
    // The server has written (its CLI token at least): writes and commits are counted, never more commits than writes.
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1])
    expect(value('greenlight_db_write_transactions')).toBeGreaterThan(0)
    expect(value('greenlight_db_commits')).toBeGreaterThan(0)
    expect(value('greenlight_db_commits')).toBeLessThanOrEqual(value('greenlight_db_write_transactions'))
  })
})
