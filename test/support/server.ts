// Starts a real Greenlight server in-process on a temp data dir and a free port, for integration tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, type ServerOptions, startServer } from '../../src/main.ts'

export interface TestServer extends RunningServer {
  dataDir: string
  /** The local admin token written to data/cli-token. */
  token: string
  env: Record<string, string>
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'greenlight-test-'))
  const fullEnv = { GREENLIGHT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ...env }
  const server = await startServer(loadConfig(fullEnv), undefined, options)
  const token = readFileSync(join(dataDir, 'cli-token'), 'utf8').trim()
  return {
    ...server,
    dataDir,
    token,
    env: fullEnv,
    async close() {
      const closed = await server.close()
      rmSync(dataDir, { recursive: true, force: true })
      return closed
    },
  }
}

/** Calls the API with a bearer token and returns status and parsed JSON. */
export async function api(
  server: { url: string; token: string },
  method: string,
  path: string,
  body?: unknown,
  token = server.token,
): Promise<{
  status: number
  body: { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string; hint?: string } }
}> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as never }
}

/** Creates an API token through the admin API (optionally `--as` a Slack user) and returns its secret and id. */
export async function mintToken(
  server: { url: string; token: string },
  name: string,
  scopes: string[],
  asUser?: string,
): Promise<{ secret: string; id: string }> {
  const created = await api(server, 'POST', '/api/v1/tokens', {
    name,
    scopes,
    ...(asUser === undefined ? {} : { as_user: asUser }),
  })
  if (created.status !== 201) throw new Error(`token ${name} not created: ${JSON.stringify(created.body)}`)
  const token = (created.body.data as { token: { secret: string; id: string } }).token
  return { secret: token.secret, id: token.id }
}
