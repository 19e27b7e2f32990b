// `greenlight serve` as a newcomer runs it: no variables, a fresh directory, then the CLI with no setup.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, spawnServe, stopChild } from '../support/cli.ts'

describe('greenlight serve', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'greenlight-fresh-'))
  afterAll(() => rmSync(cwd, { recursive: true, force: true }))

  it('starts on a fresh directory, creates data/, migrates, and the CLI works with no setup', async () => {
    // PORT=0 only so parallel test files never collide; everything else is the default.
    const { child, url, doc } = await spawnServe({ cwd, env: { PORT: '0' } })
    try {
      expect(doc).toMatchObject({ ok: true, data: { server: { status: 'listening' } } })
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
      for (const file of ['cli-token', 'secret.key']) {
        expect(statSync(join(cwd, 'data', file)).mode & 0o777).toBe(0o600)
      }
      expect(statSync(join(cwd, 'data', 'greenlight.db')).size).toBeGreaterThan(0)
      const list = await runCli(['flows', 'list'], { cwd, env: { GREENLIGHT_URL: url } })
      expect(list.code, list.stdout + list.stderr).toBe(0)
      // Only the built-in flow behind ad-hoc approvals (request-approval) is there before anything is pushed.
      expect(list.json.ok).toBe(true)
      expect(list.json.data.flows.map((f: { slug: string }) => f.slug)).toEqual(['greenlight_request'])
    } finally {
      await stopChild(child)
    }
    expect(child.exitCode).toBe(0)
  })

  it("prints the server's pid in its ready line, for process managers and scripts", async () => {
    const { child, doc } = await spawnServe({ cwd, env: { PORT: '0' } })
    try {
      expect((doc as { data: { server: { pid: unknown } } }).data.server.pid).toBe(child.pid)
    } finally {
      await stopChild(child)
    }
  })

  it('keeps the token and key across restarts', async () => {
    const first = statSync(join(cwd, 'data', 'cli-token')).mtimeMs
    const { child, url } = await spawnServe({ cwd, env: { PORT: '0' } })
    try {
      expect((await runCli(['whoami'], { cwd, env: { GREENLIGHT_URL: url } })).json.data.token.name).toBe('local-admin')
      expect(statSync(join(cwd, 'data', 'cli-token')).mtimeMs).toBe(first)
    } finally {
      await stopChild(child)
    }
  })

  it('migrates a fresh shared database once when three servers start on it at the same moment', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'greenlight-shared-'))
    const database = `file:${join(shared, 'greenlight.db')}`
    const key = randomBytes(32).toString('base64')
    const started = await Promise.allSettled(
      [1, 2, 3].map((n) => {
        const dir = join(shared, `instance-${n}`)
        return spawnServe({
          cwd: shared,
          env: { PORT: '0', DATABASE_URL: database, GREENLIGHT_DATA_DIR: dir, GREENLIGHT_SECRET_KEY: key },
        })
      }),
    )
    try {
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
      for (const s of started) {
        if (s.status === 'fulfilled') expect((await fetch(`${s.value.url}/readyz`)).status).toBe(200)
      }
      const client = createClient({ url: database })
      const applied = await client.execute('SELECT count(*) AS n FROM __drizzle_migrations')
      client.close()
      const journal = JSON.parse(readFileSync(join(ROOT, 'drizzle', 'meta', '_journal.json'), 'utf8'))
      expect(Number(applied.rows[0]?.n)).toBe(journal.entries.length)
    } finally {
      for (const s of started) if (s.status === 'fulfilled') await stopChild(s.value.child)
      rmSync(shared, { recursive: true, force: true })
    }
  })

  it('exits when it cannot listen, instead of hanging with nothing served', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = String((taken.address() as AddressInfo).port)
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-taken-'))
    try {
      const started = Date.now()
      const res = await runCli(['serve'], { cwd: dir, env: { PORT: port } })
      expect(res.code).not.toBe(0)
      expect(res.json).toMatchObject({ ok: false })
      expect(res.json.error.message).toContain('EADDRINUSE')
      expect(Date.now() - started).toBeLessThan(15_000)
    } finally {
      taken.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it('reports two bad variables in one message and exits 2', async () => {
    const res = await runCli(['serve'], { cwd, env: { PORT: 'seventy', GREENLIGHT_SECRET_KEY: 'too-short' } })
    expect(res.code).toBe(2)
    expect(res.json.error.code).toBe('invalid_config')
    expect(res.json.error.message).toContain('PORT')
    expect(res.json.error.message).toContain('GREENLIGHT_SECRET_KEY')
    expect(res.stderr).toContain('PORT')
    expect(res.json.error.details.problems).toHaveLength(2)
  })
})
