// Durability under SIGKILL: a real `greenlight serve` is killed mid-way through 50 runs and restarted; then two
// processes share one database and one of them dies. Every run must finish exactly once, and no accepted callback
// may be lost.
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { spawnServe, stopChild } from '../support/cli.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'

const RUNS = 50

const flow = (target: string) => `slug: crashy
steps:
  - id: first
    http: { method: POST, url: "${target}/first", json: { run: "{{ run.id }}" } }
  - id: nap
    sleep: { duration: 300ms }
  - id: second
    http: { method: POST, url: "${target}/second", json: { run: "{{ run.id }}" } }
  - id: done
    wait: {}
`

// biome-ignore lint/suspicious/noExplicitAny: the test reads fields of JSON answers
type Json = Record<string, any>

async function call(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Json }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function allRuns(url: string, token: string): Promise<Json[]> {
  return (await call(url, token, 'GET', '/api/v1/runs?limit=200')).json.data.runs
}

describe('crash safety', () => {
  let target: HttpTarget
  const key = randomBytes(32)
  const env = {
    GREENLIGHT_SECRET_KEY: key.toString('base64'),
    GREENLIGHT_LEASE_MS: '1500',
    PORT: '0',
    LOG_LEVEL: 'error',
  }
  const dirs: string[] = []
  const children: ChildProcess[] = []

  beforeAll(async () => {
    target = await startHttpTarget()
  })
  afterAll(async () => {
    for (const child of children) await stopChild(child, 'SIGKILL')
    await target.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  async function setUp() {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-crash-'))
    dirs.push(cwd)
    const first = await spawnServe({ cwd, env })
    children.push(first.child)
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    expect((await call(first.url, token, 'POST', '/api/v1/flows', { source: flow(target.url) })).status).toBe(201)
    expect((await call(first.url, token, 'POST', '/api/v1/flows/crashy/release', {})).status).toBe(201)
    return { cwd, first, token }
  }

  const callback = (url: string, runId: string) =>
    fetch(`${url}/callbacks/${signCallbackToken(key, { runId, stepId: 'done', visit: 1 })}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run: runId }),
    })

  function checkExactlyOnce(runs: Json[], before: number) {
    const counts = target.countByKey()
    const mine = new Set(runs.map((r) => r.id))
    const repeated = [...counts].filter(([k, n]) => mine.has(k.split(':')[0] ?? '') && n > 1)
    for (const run of runs) {
      expect(run.status, run.id).toBe('succeeded')
      expect(run.output).toEqual({ run: run.id })
      for (const step of ['first', 'second'])
        expect(counts.get(`${run.id}:${step}:1`), `${run.id} ${step}`).toBeGreaterThanOrEqual(1)
    }
    // Only a request in flight at the kill may repeat, and it repeats with the same Idempotency-Key.
    expect(repeated.length).toBeLessThanOrEqual(before)
    for (const [, n] of repeated) expect(n).toBe(2)
  }

  it('survives SIGKILL mid-way: every run completes, http steps run once per visit, accepted callbacks survive', async () => {
    const { cwd, first, token } = await setUp()
    const ids: string[] = []
    for (let i = 0; i < RUNS; i++)
      ids.push((await call(first.url, token, 'POST', '/api/v1/runs', { flow: 'crashy' })).json.data.run.id)
    // Complete whichever runs are already parked, then kill while the rest are between steps.
    const accepted = new Set<string>()
    await until('some runs parked', async () =>
      (await allRuns(first.url, token)).some((r) => r.status === 'waiting') ? true : undefined,
    )
    for (const run of await allRuns(first.url, token)) {
      if (run.status === 'waiting' && (await callback(first.url, run.id)).status === 202) accepted.add(run.id)
    }
    const inFlight = (await allRuns(first.url, token)).filter((r) => r.status === 'running').length
    await stopChild(first.child, 'SIGKILL')
    expect(accepted.size).toBeGreaterThan(0)

    const second = await spawnServe({ cwd, env })
    children.push(second.child)
    for (const id of ids) {
      if (!accepted.has(id)) expect([200, 202]).toContain((await callback(second.url, id)).status)
    }
    const runs = await until('all runs succeeded', async () => {
      const list = (await allRuns(second.url, token)).filter((r) => ids.includes(r.id))
      return list.every((r) => r.status === 'succeeded') ? list : undefined
    })
    checkExactlyOnce(runs, inFlight)
    for (const id of accepted) expect(runs.find((r) => r.id === id)?.output).toEqual({ run: id })
    await stopChild(second.child, 'SIGKILL')
  })

  it('two processes on one database share the runs; one dies and the other finishes them exactly once', async () => {
    const { cwd, first: a, token } = await setUp()
    const b = await spawnServe({ cwd, env })
    children.push(b.child)
    const ids: string[] = []
    for (let i = 0; i < RUNS; i++) {
      const url = i % 2 === 0 ? a.url : b.url
      ids.push((await call(url, token, 'POST', '/api/v1/runs', { flow: 'crashy' })).json.data.run.id)
    }
    const inFlight = (await allRuns(a.url, token)).filter((r) => r.status === 'running').length
    await stopChild(b.child, 'SIGKILL')
    for (const id of ids) expect([200, 202]).toContain((await callback(a.url, id)).status)
    const runs = await until('all runs succeeded', async () => {
      const list = (await allRuns(a.url, token)).filter((r) => ids.includes(r.id))
      return list.every((r) => r.status === 'succeeded') ? list : undefined
    })
    checkExactlyOnce(runs, inFlight)
    for (const id of ids) {
      const events = (await call(a.url, token, 'GET', `/api/v1/runs/${id}/events`)).json.data.events as Json[]
      expect(events.filter((e) => e.type === 'run.succeeded')).toHaveLength(1)
      expect(events.filter((e) => e.type === 'step.succeeded' && e.step === 'second')).toHaveLength(1)
    }
    const audit = (await call(a.url, token, 'GET', `/api/v1/runs/${ids[0]}/audit`)).json.data.audit
    expect(audit.ok).toBe(true)
  })
})
