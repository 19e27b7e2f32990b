// A step that kills its instance every time it runs must not crash-loop the server forever: after
// GREENLIGHT_MAX_TAKEOVERS deaths in a row on that step, the next instance fails the run with `crashed_repeatedly`.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'

// biome-ignore lint/suspicious/noExplicitAny: the test reads fields of JSON answers
type Json = Record<string, any>

async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, ...((await response.json()) as Json) }
}

describe('a step that kills its instance', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'greenlight-crash-loop-'))
  let current: ChildProcess | undefined
  let hits = 0
  let killer: Server | undefined

  afterAll(async () => {
    if (current) await stopChild(current, 'SIGKILL')
    await new Promise((resolve) => killer?.close(resolve))
    rmSync(cwd, { recursive: true, force: true })
  })

  it('fails with crashed_repeatedly after three deaths in a row instead of looping', async () => {
    // The http step's target SIGKILLs the server that called it: as an out-of-memory abort would, mid-step.
    killer = createServer((_req, res) => {
      hits++
      current?.kill('SIGKILL')
      res.end('{}')
    })
    await new Promise<void>((resolve) => killer?.listen(0, '127.0.0.1', resolve))
    const target = `http://127.0.0.1:${(killer.address() as AddressInfo).port}`
    const env = { GREENLIGHT_LEASE_MS: '1000', PORT: '0', LOG_LEVEL: 'error' }
    const start = async () => {
      const served = await spawnServe({ cwd, env })
      current = served.child
      return served.url
    }
    const exited = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve()
        else child.once('exit', () => resolve())
      })

    let url = await start()
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    const source = `slug: deadly
steps:
  - id: pause
    sleep: { duration: 300ms }
  - id: deadly
    http: { method: POST, url: "${target}/die" }
  - id: after
    transform: "{{ 'unreachable' }}"
`
    expect((await call(url, token, 'POST', '/api/v1/flows', { source })).status).toBe(201)
    expect((await call(url, token, 'POST', '/api/v1/flows/deadly/release', {})).status).toBe(201)
    // The pause lets the API answer before the first death.
    const started = await call(url, token, 'POST', '/api/v1/runs', { flow: 'deadly' })
    expect(started.status, JSON.stringify(started)).toBe(201)
    const runId = started.data.run.id as string

    for (let death = 1; death <= 3; death++) {
      await exited(current as ChildProcess)
      expect(hits).toBe(death)
      url = await start() // takes the run over once the dead instance's lease runs out, and dies again (until 3)
    }
    let run: Json | undefined
    for (let i = 0; i < 100 && !['failed', 'succeeded'].includes(run?.status); i++) {
      run = (await call(url, token, 'GET', `/api/v1/runs/${runId}`)).data.run
      if (!['failed', 'succeeded'].includes(run?.status)) await new Promise((r) => setTimeout(r, 100))
    }
    expect(run?.status).toBe('failed')
    expect(run?.error).toMatchObject({ code: 'crashed_repeatedly', step: 'deadly' })
    expect(hits).toBe(3)
    expect(current?.exitCode).toBeNull() // the fourth instance lives
  })
})
