// Secrets through the CLI: values go in from stdin or a file, are encrypted at rest, and never come back out.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const VALUE = 'ghp_super_secret_value_4242'

describe('secrets', () => {
  let server: TestServer
  let env: Record<string, string>
  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
  })
  afterAll(async () => server.close())

  it('stores a value from stdin and from a file, lists names only, and deletes', async () => {
    const fromStdin = await runCli(['secrets', 'set', 'github_token'], { env, input: `${VALUE}\n` })
    expect(fromStdin.code, fromStdin.stdout).toBe(0)
    expect(fromStdin.json.data.secret).toEqual({ name: 'github_token', created: true })
    const file = join(server.dataDir, 'value.txt')
    writeFileSync(file, 'other-value')
    const fromFile = await runCli(['secrets', 'set', 'github_token', '--file', file], { env })
    expect(fromFile.json.data.secret).toEqual({ name: 'github_token', created: false })

    const list = await runCli(['secrets', 'list'], { env })
    expect(list.json.data.secrets.map((s: { name: string }) => s.name)).toEqual(['github_token'])
    for (const out of [fromStdin, fromFile, list]) {
      expect(out.stdout + out.stderr).not.toContain(VALUE)
      expect(out.stdout + out.stderr).not.toContain('other-value')
    }
    // At rest the value is ciphertext: neither the database nor its WAL holds it in clear.
    for (const name of ['greenlight.db', 'greenlight.db-wal']) {
      let bytes = ''
      try {
        bytes = readFileSync(join(server.dataDir, name)).toString('latin1')
      } catch {
        continue
      }
      expect(bytes).not.toContain(VALUE)
      expect(bytes).not.toContain('other-value')
    }
    expect((await runCli(['secrets', 'delete', 'github_token'], { env })).code).toBe(0)
    const gone = await runCli(['secrets', 'delete', 'github_token'], { env })
    expect(gone.code).toBe(1)
    expect(gone.json.error.code).toBe('secret_not_found')
  })

  it('refuses bad names, empty values and tokens without admin', async () => {
    const bad = await runCli(['secrets', 'set', 'Bad Name'], { env, input: 'x' })
    expect(bad.code).toBe(2)
    const empty = await runCli(['secrets', 'set', 'empty'], { env, input: '' })
    expect(empty.code).toBe(2)
    const reader = await runCli(['tokens', 'create', '--name', 'reader', '--scope', 'flows:read'], { env })
    const secret = reader.json.data.token.secret as string
    expect((await api(server, 'GET', '/api/v1/secrets', undefined, secret)).status).toBe(403)
    expect((await api(server, 'PUT', '/api/v1/secrets/x', { value: 'v' }, secret)).status).toBe(403)
  })
})
