// The crash scenarios shared by the file and the sqld crash tests: 50 runs through http steps, a sleep and a wait,
// real `greenlight serve` processes SIGKILLed mid-way, and the check that every run finished exactly once.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { signCallbackToken } from '../../src/core/callback-token.ts'
import { spawnServe, stopChild } from './cli.ts'
import type { HttpTarget } from './http-target.ts'

export const CRASH_RUNS = 50

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

// biome-ignore lint/suspicious/noExplicitAny: the scenario reads fields of JSON answers
export type Json = Record<string, any>

export async function call(
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

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function allRuns(url: string, token: string): Promise<Json[]> {
  return (await call(url, token, 'GET', '/api/v1/runs?limit=200')).json.data.runs
}

export interface CrashRig {
  /** Starts `greenlight serve` on the rig's working directory (and its database) and keeps it for cleanup. */
  serve(cwd: string): ReturnType<typeof spawnServe>
  /** A fresh working directory with a first server and the crashy flow released. */
  setUp(): Promise<{ cwd: string; first: Awaited<ReturnType<typeof spawnServe>>; token: string }>
  /** Completes a run's `done` wait with a callback signed by the shared key. */
  callback(url: string, runId: string): Promise<Response>
  /** Every run succeeded with its output, each http step ran, and only requests in flight at a kill repeated. */
  checkExactlyOnce(runs: Json[], inFlight: number): void
  cleanUp(): Promise<void>
}

/** `env` is what every server gets (secret key, lease, and DATABASE_URL when the database is not the default file). */
export function crashRig(target: HttpTarget, key: Buffer, env: Record<string, string>): CrashRig {
  const dirs: string[] = []
  const children: ChildProcess[] = []
  const serve = async (cwd: string) => {
    const served = await spawnServe({ cwd, env })
    children.push(served.child)
    return served
  }
  return {
    serve,
    async setUp() {
      const cwd = mkdtempSync(join(tmpdir(), 'greenlight-crash-'))
      dirs.push(cwd)
      const first = await serve(cwd)
      const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
      expect((await call(first.url, token, 'POST', '/api/v1/flows', { source: flow(target.url) })).status).toBe(201)
      expect((await call(first.url, token, 'POST', '/api/v1/flows/crashy/release', {})).status).toBe(201)
      return { cwd, first, token }
    },
    callback: (url, runId) =>
      fetch(`${url}/callbacks/${signCallbackToken(key, { runId, stepId: 'done', visit: 1 })}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ run: runId }),
      }),
    checkExactlyOnce(runs, inFlight) {
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
      expect(repeated.length).toBeLessThanOrEqual(inFlight)
      for (const [, n] of repeated) expect(n).toBe(2)
    },
    async cleanUp() {
      for (const child of children) await stopChild(child, 'SIGKILL')
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Two processes on one database share the runs; one is SIGKILLed and the other finishes them exactly once: each run
 * succeeds once, its second http step succeeds once, and the first run's audit chain verifies.
 */
export async function twoInstancesOneDies(rig: CrashRig): Promise<void> {
  const { cwd, first: a, token } = await rig.setUp()
  const b = await rig.serve(cwd)
  const ids: string[] = []
  for (let i = 0; i < CRASH_RUNS; i++) {
    const url = i % 2 === 0 ? a.url : b.url
    ids.push((await call(url, token, 'POST', '/api/v1/runs', { flow: 'crashy' })).json.data.run.id)
  }
  const inFlight = (await allRuns(a.url, token)).filter((r) => r.status === 'running').length
  await stopChild(b.child, 'SIGKILL')
  for (const id of ids) expect([200, 202]).toContain((await rig.callback(a.url, id)).status)
  const runs = await until('all runs succeeded', async () => {
    const list = (await allRuns(a.url, token)).filter((r) => ids.includes(r.id))
    return list.every((r) => r.status === 'succeeded') ? list : undefined
  })
  rig.checkExactlyOnce(runs, inFlight)
  for (const id of ids) {
    const events = (await call(a.url, token, 'GET', `/api/v1/runs/${id}/events`)).json.data.events as Json[]
    expect(events.filter((e) => e.type === 'run.succeeded')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'step.succeeded' && e.step === 'second')).toHaveLength(1)
  }
  const audit = (await call(a.url, token, 'GET', `/api/v1/runs/${ids[0]}/audit`)).json.data.audit
  expect(audit.ok).toBe(true)
}
