// The CLI's environment fails closed: a set but empty or malformed GREENLIGHT_TOKEN never falls back to the admin token
// in data/cli-token, a GREENLIGHT_URL that is not a URL or not a Greenlight server is named as such (exit 3), and
// `serve` names a bad HOST instead of failing later on something else.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

describe('CLI configuration', () => {
  let server: TestServer
  let impostor: Server
  let impostorUrl: string
  let answer = '{"hello":1}'

  beforeAll(async () => {
    server = await startTestServer()
    impostor = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(answer)
    })
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve))
    impostorUrl = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => impostor.close(() => resolve()))
    await server.close()
  })

  it('refuses a GREENLIGHT_TOKEN that is set but empty, blank or not a token, instead of using data/cli-token', async () => {
    // data/cli-token holds the admin token: any fallback to it would succeed.
    const base = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    expect((await runCli(['whoami'], { env: base })).code).toBe(0)
    for (const token of ['', '   ', '\t\n', 'not-a-token', 'glt_has space', `Bearer ${server.token}`]) {
      const res = await runCli(['whoami'], { env: { ...base, GREENLIGHT_TOKEN: token } })
      const label = `GREENLIGHT_TOKEN=${JSON.stringify(token)} → ${res.stdout}`
      expect(res.code, label).toBe(3)
      expect(res.json?.ok, label).toBe(false)
      expect(res.json.error.code, label).toBe('invalid_cli_config')
      expect(res.json.error.message, label).toContain('GREENLIGHT_TOKEN')
      expect(res.json.error.hint, label).toBeTruthy()
      expect(res.json.error.details.problems[0].variable, label).toBe('GREENLIGHT_TOKEN')
    }
    // A token read from a file with its newline still works.
    const padded = await runCli(['whoami'], { env: { ...base, GREENLIGHT_TOKEN: ` ${server.token}\n` } })
    expect(padded.code, padded.stdout).toBe(0)
  })

  it('exits 3 with a hint for a GREENLIGHT_URL that is not an http(s) URL', async () => {
    for (const url of ['notaurl', 'ftp://127.0.0.1', 'http://', '127.0.0.1:3000', 'http://h:1/?x=1']) {
      const res = await runCli(['runs', 'list'], { env: { GREENLIGHT_URL: url, GREENLIGHT_TOKEN: server.token } })
      const label = `GREENLIGHT_URL=${url} → ${res.stdout}`
      expect(res.code, label).toBe(3)
      expect(res.json.error.code, label).toBe('invalid_cli_config')
      expect(res.json.error.message, label).toContain('GREENLIGHT_URL')
      expect(res.json.error.details.problems[0].fix, label).toContain('http')
    }
  })

  it('does not need the CLI variables for offline commands', async () => {
    const res = await runCli(['flows', 'validate', 'examples/flows/weekly-report.yaml'], {
      env: { GREENLIGHT_URL: 'notaurl', GREENLIGHT_TOKEN: '' },
    })
    expect(res.code, res.stdout).toBe(0)
  })

  it('reports a server that answers JSON but is not Greenlight as not_greenlight (exit 3)', async () => {
    for (const body of ['{"hello":1}', 'null', '[1,2]', '{"ok":"yes"}']) {
      answer = body
      const res = await runCli(['runs', 'list'], { env: { GREENLIGHT_URL: impostorUrl, GREENLIGHT_TOKEN: 'glt_x' } })
      const label = `${body} → ${res.stdout}`
      expect(res.code, label).toBe(3)
      expect(res.json.error.code, label).toBe('not_greenlight')
      expect(res.json.error.hint, label).toContain('GREENLIGHT_URL')
    }
  })

  it('names a bad HOST when serve starts, instead of blaming PUBLIC_URL or failing to listen', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-host-'))
    try {
      for (const host of ['http://0.0.0.0', '0.0.0.0:3000', '-bad', 'not a host', 'a..b']) {
        const res = await runCli(['serve'], {
          cwd,
          env: { HOST: host, PORT: '0', PUBLIC_URL: 'http://127.0.0.1:1', GREENLIGHT_DATA_DIR: cwd },
        })
        const label = `HOST=${host} → ${res.stdout}`
        expect(res.code, label).toBe(2)
        expect(res.json.error.code, label).toBe('invalid_config')
        const problems = res.json.error.details.problems.map((p: { variable: string }) => p.variable)
        expect(problems, label).toEqual(['HOST'])
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  }, 60_000)
})
