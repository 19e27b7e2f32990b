// SIGTERM drains a real `greenlight serve`: in-flight callbacks and steps finish or are handed back, nothing accepted
// is lost or applied twice, and the process exits 0 within GREENLIGHT_SHUTDOWN_TIMEOUT_MS even when work hangs.
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { spawnServe, stopChild } from '../support/cli.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { eventually, type Json } from '../support/runs.ts'

const RUNS = 200

const flow = (target: string) => `slug: drain
steps:
  - id: done
    wait: {}
  - id: after
    http: { method: POST, url: "${target}/after", json: { run: "{{ run.id }}" } }
`

async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, ...((await response.json()) as Json) }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
    child.once('exit', (code) => resolve(code))
  })
}

describe('SIGTERM drains the server', () => {
  let target: HttpTarget
  const key = randomBytes(32)
  const env = { GREENLIGHT_SECRET_KEY: key.toString('base64'), PORT: '0', LOG_LEVEL: 'error' }
  const dirs: string[] = []
  const children: ChildProcess[] = []
  const hanging: ServerResponse[] = []

  beforeAll(async () => {
    target = await startHttpTarget()
  })
  afterAll(async () => {
    for (const child of children) await stopChild(child, 'SIGKILL')
    for (const res of hanging) res.destroy()
    await target.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  async function setUp(extra: Record<string, string> = {}) {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-drain-'))
    dirs.push(cwd)
    const first = await spawnServe({ cwd, env: { ...env, ...extra } })
    children.push(first.child)
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    expect((await call(first.url, token, 'POST', '/api/v1/flows', { source: flow(target.url) })).status).toBe(201)
    expect((await call(first.url, token, 'POST', '/api/v1/flows/drain/release', {})).status).toBe(201)
    return { cwd, first, token }
  }

  const callback = (url: string, runId: string): Promise<number> =>
    fetch(`${url}/callbacks/${signCallbackToken(key, { runId, stepId: 'done', visit: 1 })}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run: runId }),
    }).then(
      (response) => response.status,
      () => 0,
    )

  it('200 callbacks in flight at SIGTERM: each 202 is applied exactly once after a restart, each other one can be retried', async () => {
    const { cwd, first, token } = await setUp()
    const ids: string[] = []
    for (let i = 0; i < RUNS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, () => call(first.url, token, 'POST', '/api/v1/runs', { flow: 'drain' })),
      )
      ids.push(...batch.map((b) => b.data.run.id as string))
    }
    await eventually(async () => {
      const runs = (await call(first.url, token, 'GET', '/api/v1/runs?limit=200')).data.runs as Json[]
      return runs.filter((r) => r.status === 'waiting').length === RUNS ? true : undefined
    }, `${RUNS} runs waiting`)

    const exited = exitOf(first.child)
    const burst = ids.map((id) => callback(first.url, id))
    // SIGTERM lands while the burst is being read, answered and committed.
    await Promise.race(burst)
    first.child.kill('SIGTERM')
    const statuses = await Promise.all(burst)
    expect(await exited).toBe(0)
    const accepted = ids.filter((_, i) => statuses[i] === 202)
    const refused = ids.filter((_, i) => (statuses[i] ?? 0) < 200 || (statuses[i] ?? 0) >= 300)
    expect(accepted.length).toBeGreaterThan(0)
    expect(accepted.length + refused.length).toBe(RUNS)

    const second = await spawnServe({ cwd, env })
    children.push(second.child)
    for (const id of refused) expect([200, 202]).toContain(await callback(second.url, id))
    const runs = await eventually(
      async () => {
        const list = ((await call(second.url, token, 'GET', '/api/v1/runs?limit=200')).data.runs as Json[]).filter(
          (r) => ids.includes(r.id),
        )
        return list.length === RUNS && list.every((r) => r.status === 'succeeded') ? list : undefined
      },
      'every run to succeed',
      60_000,
    )
    expect(runs).toHaveLength(RUNS)
    const counts = target.countByKey()
    for (const id of ids) {
      // The step after the wait ran exactly once: steps in flight at SIGTERM finished before the process exited.
      expect(counts.get(`${id}:after:1`), id).toBe(1)
      const events = (await call(second.url, token, 'GET', `/api/v1/runs/${id}/events`)).data.events as Json[]
      expect(
        events.filter((e) => e.type === 'step.succeeded' && e.step === 'done'),
        id,
      ).toHaveLength(1)
      expect(
        events.filter((e) => e.type === 'run.succeeded'),
        id,
      ).toHaveLength(1)
    }
    await stopChild(second.child)
  }, 120_000)

  it('exits 0 within GREENLIGHT_SHUTDOWN_TIMEOUT_MS when a step and a request hang, and hands the run back at once', async () => {
    let answered = 0
    target.handle('/hang', (_req, res) => {
      if (answered++ === 0) hanging.push(res)
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
    const { cwd, first, token } = await setUp({ GREENLIGHT_SHUTDOWN_TIMEOUT_MS: '1000', GREENLIGHT_LEASE_MS: '60000' })
    const hangFlow = `slug: hang
steps:
  - id: call
    timeout: 5m
    http: { method: POST, url: "${target.url}/hang" }
`
    expect((await call(first.url, token, 'POST', '/api/v1/flows', { source: hangFlow })).status).toBe(201)
    expect((await call(first.url, token, 'POST', '/api/v1/flows/hang/release', {})).status).toBe(201)
    const runId = (await call(first.url, token, 'POST', '/api/v1/runs', { flow: 'hang' })).data.run.id as string
    await eventually(async () => (answered > 0 ? true : undefined), 'the step to call the hanging target')
    // A client that sends a request's headers and never its body holds a request open.
    const { hostname, port } = new URL(first.url)
    const slow = connect(Number(port), hostname)
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()))
    slow.write(
      'POST /api/v1/runs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    )
    slow.on('error', () => undefined)

    const exited = exitOf(first.child)
    const started = Date.now()
    first.child.kill('SIGTERM')
    expect(await exited).toBe(0)
    // Far below the step's 5 minute timeout and the 60 s lease: the deadline, not the work, ended the process.
    expect(Date.now() - started).toBeLessThan(8_000)
    slow.destroy()

    // The lease was released: a new instance continues the run at once, not after GREENLIGHT_LEASE_MS.
    const second = await spawnServe({ cwd, env: { ...env, GREENLIGHT_LEASE_MS: '60000' } })
    children.push(second.child)
    const run = await eventually(
      async () => {
        const shown = (await call(second.url, token, 'GET', `/api/v1/runs/${runId}`)).data.run as Json
        return shown.status === 'succeeded' ? shown : undefined
      },
      'the handed-back run to succeed on the new instance',
      20_000,
    )
    expect(run.status).toBe('succeeded')
    await stopChild(second.child)
  }, 60_000)
})
