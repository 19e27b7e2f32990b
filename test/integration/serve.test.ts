// `greenlight serve` as a newcomer runs it: no variables, a fresh directory, then the CLI with no setup.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, spawnServe, stopChild } from '../support/cli.ts'

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
      expect(list.json).toMatchObject({ ok: true, data: { flows: [] } })
    } finally {
      await stopChild(child)
    }
    expect(child.exitCode).toBe(0)
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
