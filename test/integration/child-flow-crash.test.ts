// Child flows across a SIGKILL: the commit that ends the child also resumes the parent, so an instance killed right
// after it (before the parent's next step can finish) loses nothing, and after restart the parent goes on once: one
// child run, one `flow.completed`, the child's step recorded once.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'
import type { Json } from '../support/runs.ts'
import { api } from '../support/server.ts'

/** The API of the server now running (its URL changes with each restart). */
const call = async (url: string, token: string, method: string, path: string, body?: unknown): Promise<Json> => {
  const { status, body: json } = await api({ url, token }, method, path, body)
  return { status, ...json }
}

describe('a child flow across a crash', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'greenlight-child-crash-'))
  let current: ChildProcess | undefined
  let target: Server | undefined
  const hits: string[] = []

  afterAll(async () => {
    if (current) await stopChild(current, 'SIGKILL')
    await new Promise((resolve) => target?.close(resolve))
    rmSync(cwd, { recursive: true, force: true })
  })

  it('resumes the parent once after the instance dies right after the child ended', async () => {
    // The parent's step after the child calls this target, which SIGKILLs the server the first time: the child's
    // end (and the parent's resume) committed, the parent's next step did not.
    target = createServer((req, res) => {
      hits.push(req.url ?? '')
      if (hits.length === 1) current?.kill('SIGKILL')
      res.setHeader('content-type', 'application/json')
      res.end('{"ok":true}')
    })
    await new Promise<void>((resolve) => target?.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
    const env = { GREENLIGHT_LEASE_MS: '1000', PORT: '0', LOG_LEVEL: 'error' }
    const start = async () => {
      const served = await spawnServe({ cwd, env })
      current = served.child
      return served.url
    }
    let url = await start()
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    const child = `slug: cc_child
steps:
  - id: compute
    transform: "{{ 'from the child' }}"
`
    const parent = `slug: cc_parent
steps:
  - id: pause
    sleep: { duration: 300ms }
  - id: call
    flow: { slug: cc_child }
  - id: report
    http: { method: POST, url: "${base}/report", json: { got: "{{ steps.call.output.output }}" } }
  - id: after
    transform: "{{ steps.call.output.output }}"
`
    for (const source of [child, parent]) {
      const pushed = await call(url, token, 'POST', '/api/v1/flows', { source })
      expect(pushed.status, JSON.stringify(pushed)).toBe(201)
      const slug = /^slug: (\S+)/.exec(source)?.[1]
      expect((await call(url, token, 'POST', `/api/v1/flows/${slug}/release`, {})).status).toBe(201)
    }
    const started = await call(url, token, 'POST', '/api/v1/runs', { flow: 'cc_parent' })
    expect(started.status, JSON.stringify(started)).toBe(201)
    const runId = started.data.run.id as string

    await new Promise<void>((resolve) => {
      const child = current as ChildProcess
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    expect(hits).toHaveLength(1)
    url = await start()

    let shown: Json | undefined
    for (let i = 0; i < 200; i++) {
      shown = await call(url, token, 'GET', `/api/v1/runs/${runId}`)
      if (['succeeded', 'failed'].includes(shown.data.run.status)) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(shown?.data.run.status, JSON.stringify(shown?.data.run.error)).toBe('succeeded')
    expect(shown?.data.run.output).toBe('from the child')
    // The report step ran again after the restart (at least once, as every step), with the child's result.
    expect(hits).toHaveLength(2)
    expect(shown?.data.children).toHaveLength(1)
    const childId = shown?.data.children[0].id as string

    const parentEvents = (await call(url, token, 'GET', `/api/v1/runs/${runId}/events`)).data.events as Json[]
    expect(parentEvents.filter((e) => e.type === 'flow.started')).toHaveLength(1)
    expect(parentEvents.filter((e) => e.type === 'flow.completed')).toHaveLength(1)
    expect(parentEvents.filter((e) => e.type === 'step.succeeded' && e.step === 'call')).toHaveLength(1)
    const childEvents = (await call(url, token, 'GET', `/api/v1/runs/${childId}/events`)).data.events as Json[]
    expect(childEvents.filter((e) => e.type === 'step.succeeded' && e.step === 'compute')).toHaveLength(1)
    expect(childEvents.filter((e) => e.type === 'run.succeeded')).toHaveLength(1)
    const audit = await call(url, token, 'GET', `/api/v1/runs/${runId}/audit`)
    expect(audit.data.audit.ok).toBe(true)
  })
})
