// Connections through the CLI and API: set/list/delete, validation that changes nothing, and `requires` at release
// and at run start naming every missing binding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const PIN = 'SHA256:JBNkvbQXnHXl7uX8VtX6VYZGVTyj+djgCKwRht9fl1o'
const KEY_VALUE = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-0123456789\n-----END OPENSSH PRIVATE KEY-----'

describe('connections', () => {
  let server: TestServer
  let env: Record<string, string>
  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    expect((await runCli(['secrets', 'set', 'vm_key'], { env, input: KEY_VALUE })).code).toBe(0)
    expect((await runCli(['secrets', 'set', 'gh_token'], { env, input: 'ghp_connection_token_77' })).code).toBe(0)
  })
  afterAll(async () => server.close())

  it('sets ssh and http connections, lists them without secret values, and deletes', async () => {
    const ssh = await runCli(
      ['connections', 'set', 'build_vm', '--type', 'ssh', '--host', 'vm.example', '--port', '2222', '--user', 'agent'],
      { env },
    )
    expect(ssh.code, ssh.stdout).toBe(2)
    const made = await runCli(
      [
        'connections',
        'set',
        'build_vm',
        '--type',
        'ssh',
        '--host',
        'vm.example',
        '--port',
        '2222',
        '--user',
        'agent',
        '--key-secret',
        'vm_key',
        '--host-key',
        PIN,
      ],
      { env },
    )
    expect(made.code, made.stdout).toBe(0)
    expect(made.json.data.created).toBe(true)
    expect(made.json.data.connection.config).toEqual({
      host: 'vm.example',
      port: 2222,
      user: 'agent',
      private_key_secret: 'vm_key',
      host_key: PIN,
    })
    const http = await runCli(
      [
        'connections',
        'set',
        'github',
        '--type',
        'http',
        '--base-url',
        'https://api.github.example',
        '--bearer-secret',
        'gh_token',
        '--header',
        'Accept=application/vnd.github+json',
      ],
      { env },
    )
    expect(http.code, http.stdout).toBe(0)
    const list = await runCli(['connections', 'list'], { env })
    expect(list.json.data.connections.map((c: { name: string }) => c.name)).toEqual(['build_vm', 'github'])
    expect(list.stdout).not.toContain('ghp_connection_token_77')
    expect(list.stdout).not.toContain('not-a-real-key')
    const again = await runCli(
      ['connections', 'set', 'github', '--type', 'http', '--base-url', 'https://api.github.example/v2'],
      { env },
    )
    expect(again.json.data.created).toBe(false)
    expect((await runCli(['connections', 'delete', 'github'], { env })).code).toBe(0)
    const gone = await runCli(['connections', 'delete', 'github'], { env })
    expect(gone.code).toBe(1)
    expect(gone.json.error.code).toBe('connection_not_found')
  })

  it('refuses bad input with a clear error and changes nothing', async () => {
    const before = (await api(server, 'GET', '/api/v1/connections')).body
    const cases: [string[], string][] = [
      [['connections', 'set', 'x', '--type', 'ftp'], 'invalid_usage'],
      [['connections', 'set', 'Bad Name', '--type', 'http', '--base-url', 'https://a.example'], 'invalid_name'],
      [['connections', 'set', 'x', '--type', 'http', '--base-url', 'ftp://a.example'], 'invalid_connection'],
      [['connections', 'set', 'x', '--type', 'http', '--base-url', 'https://a', '--host', 'h'], 'invalid_usage'],
      [
        [
          'connections',
          'set',
          'x',
          '--type',
          'ssh',
          '--host',
          'h',
          '--user',
          'u',
          '--key-secret',
          'vm_key',
          '--host-key',
          'MD5:aa',
        ],
        'invalid_connection',
      ],
      [
        ['connections', 'set', 'x', '--type', 'ssh', '--host', 'h', '--user', 'u', '--key-secret', 'nope'],
        'secret_not_found',
      ],
      [
        [
          'connections',
          'set',
          'x',
          '--type',
          'ssh',
          '--host',
          'h',
          '--user',
          'u',
          '--port',
          '70000',
          '--key-secret',
          'vm_key',
        ],
        'invalid_usage',
      ],
    ]
    for (const [args, code] of cases) {
      const out = await runCli(args, { env })
      expect(out.code, out.stdout).toBe(2)
      expect(out.json.error.code, out.stdout).toBe(code)
    }
    const missing = await runCli(
      ['connections', 'set', 'x', '--type', 'ssh', '--host', 'h', '--user', 'u', '--key-secret', 'nope'],
      { env },
    )
    expect(missing.json.error.message).toContain('nope')
    expect((await api(server, 'GET', '/api/v1/connections')).body).toEqual(before)
    const reader = await runCli(['tokens', 'create', '--name', 'conn-reader', '--scope', 'flows:read'], { env })
    const token = reader.json.data.token.secret as string
    expect((await api(server, 'GET', '/api/v1/connections', undefined, token)).status).toBe(403)
    expect(
      (await api(server, 'PUT', '/api/v1/connections/x', { type: 'http', base_url: 'https://a.example' }, token))
        .status,
    ).toBe(403)
  })

  it('checks requires at release and at run start, naming every missing connection', async () => {
    const source = `slug: needs_both
requires: { connections: [build_vm, github, registry] }
steps:
  - id: t
    transform: "1"
`
    expect((await api(server, 'POST', '/api/v1/flows', { source })).status).toBeLessThan(300)
    const refused = await runCli(['flows', 'release', 'needs_both'], { env })
    expect(refused.code).not.toBe(0)
    expect(refused.stdout).toContain('github')
    expect(refused.stdout).toContain('registry')
    expect(refused.stdout).not.toContain('build_vm,')
    for (const name of ['github', 'registry']) {
      const set = await runCli(['connections', 'set', name, '--type', 'http', '--base-url', 'https://x.example'], {
        env,
      })
      expect(set.code, set.stdout).toBe(0)
    }
    const released = await runCli(['flows', 'release', 'needs_both'], { env })
    expect(released.code, released.stdout).toBe(0)
    // Deleted after the release: the run start refuses and names it.
    expect((await runCli(['connections', 'delete', 'registry'], { env })).code).toBe(0)
    const start = await runCli(['runs', 'start', 'needs_both'], { env })
    expect(start.code).not.toBe(0)
    expect(start.json.error.code).toBe('requirements_missing')
    expect(start.json.error.details.missing.connections).toEqual(['registry'])
  })
})
