// Secrets through the CLI: values go in from stdin or a file, are encrypted at rest, and never come back out.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { seal } from '../../src/core/secret-box.ts'
import { startServer } from '../../src/main.ts'
import { openDatabase } from '../../src/store/database.ts'
import { createSecretRepository } from '../../src/store/secret-repository.ts'
import { runCli } from '../support/cli.ts'
import type { Json } from '../support/runs.ts'
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

  it('refuses a value too short to mask, from the CLI and the API, and stores nothing', async () => {
    // 7 characters plus the newline `echo` adds: still 7 once the CLI drops it.
    const cli = await runCli(['secrets', 'set', 'short_cli'], { env, input: 'abc1234\n' })
    // Exit code 2: bad input, as the name and size checks.
    expect(cli.code, cli.stdout).toBe(2)
    expect(cli.json.error.code).toBe('secret_too_short')
    expect(cli.json.error.message).toMatch(/at least 8 characters/)
    expect(cli.json.error.message).toMatch(/mask/)
    expect(cli.stdout + cli.stderr).not.toContain('abc1234')

    // Code points, not bytes: 'é€😀' is three characters however many bytes it takes.
    const chars = [...'aZ9_/+ é€😀"\\']
    for (let i = 0; i < 40; i++) {
      const length = 1 + Math.floor(Math.random() * 7)
      const value = Array.from({ length }, () => chars[Math.floor(Math.random() * chars.length)]).join('')
      const refused = await api(server, 'PUT', `/api/v1/secrets/short_${i}`, { value })
      expect(refused.status, JSON.stringify(value)).toBe(400)
      expect(refused.body.error?.code).toBe('secret_too_short')
    }
    const listed = await api(server, 'GET', '/api/v1/secrets')
    const names: string[] = (listed.body.data as Json).secrets.map((s: Json) => s.name as string)
    expect(names.filter((n) => n.startsWith('short_'))).toEqual([])

    const enough = await api(server, 'PUT', '/api/v1/secrets/long_enough', { value: randomBytes(4).toString('hex') })
    expect(enough.status, JSON.stringify(enough.body)).toBe(201)
  })

  it('stores a value no URL can encode (a lone surrogate) without failing the request', async () => {
    // Valid JSON text, but encodeURIComponent throws on it: the redactor must learn it anyway.
    const lone = await fetch(`${server.url}/api/v1/secrets/lone_surrogate`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: '{"value":"lone-\\ud800-surrogate"}',
    })
    expect(lone.status, await lone.text()).toBe(201)
    expect((await api(server, 'GET', '/api/v1/secrets')).status).toBe(200)
  })
})

describe('secrets stored before the length rule', () => {
  it('still load, and the server warns at start, naming them but never their value', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'greenlight-legacy-secret-'))
    const key = randomBytes(32)
    const env = {
      GREENLIGHT_DATA_DIR: dataDir,
      GREENLIGHT_SECRET_KEY: key.toString('base64'),
      PORT: '0',
      LOG_LEVEL: 'warn',
    }
    // What an older version could store: a 5-character value, sealed under this instance's key.
    const database = await openDatabase({ url: `file:${join(dataDir, 'greenlight.db')}` })
    await createSecretRepository(database).put({
      name: 'old_pin',
      ...seal(key, 'old_pin', 'p1n42'),
      createdAt: 1,
      updatedAt: 1,
    })
    database.close()

    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })
    const server = await startServer(loadConfig(env), logger)
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.code === 'secret_too_short')
      expect(warning, lines.join('')).toMatchObject({ level: 40, secrets: ['old_pin'] })
      expect(JSON.stringify(lines)).not.toContain('p1n42')
      const token = readFileSync(join(dataDir, 'cli-token'), 'utf8').trim()
      const listed = await api({ url: server.url, token }, 'GET', '/api/v1/secrets')
      expect((listed.body.data as Json).secrets.map((s: Json) => s.name as string)).toEqual(['old_pin'])
    } finally {
      await server.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
