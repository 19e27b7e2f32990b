// Runs, waits, approvals, resources, audit and usage through the real CLI binary against a real server.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, runCli } from '../support/cli.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: cli_runs
name: Kick a remote agent, wait for its patch, one of two people approves
inputs:
  target: { type: string, required: true }
  count: { type: integer, default: 1 }
steps:
  - id: kick
    http:
      method: POST
      url: "{{ inputs.target }}/kick"
      json: { callback: "{{ callbacks.done.url }}", count: "{{ inputs.count }}" }
  - id: done
    wait:
      timeout: 1h
      schema: { type: object, required: [diff], properties: { diff: { type: string } } }
  - id: review
    approval:
      message: "Patch from the agent"
      diff: "{{ steps.done.output.diff }}"
      approvers: { users: [U0ANN, U0BOB] }
      required: 1
  - id: finish
    http:
      method: POST
      url: "{{ inputs.target }}/finish"
      json: { decision: "{{ steps.review.output.decision }}" }
`

const COUNTED = `slug: cli_counted
name: Two billable notifications and a free sleep
steps:
  - id: one
    notify: { text: "one" }
  - id: pause
    sleep: { duration: 1s }
  - id: two
    notify: { text: "two" }
`

const SLOW = `slug: cli_slow
name: One slow request
inputs:
  url: { type: string, required: true }
steps:
  - id: call
    http: { method: GET, url: "{{ inputs.url }}" }
`

const DIFF = `--- a/src/app.ts\n+++ b/src/app.ts\n@@ -1 +1 @@\n-const port = 3000\n+const port = Number(process.env.PORT ?? 3000)\n`

describe('runs, waits and approvals through the CLI', () => {
  let server: TestServer
  let target: HttpTarget
  let env: Record<string, string>
  let annEnv: Record<string, string>
  let carolEnv: Record<string, string>
  let work: string

  const cli = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) =>
    runCli(args, { env: options.env ?? env, ...(options.input === undefined ? {} : { input: options.input }) })

  async function ok(args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
    const res = await cli(args, options)
    expect(res.code, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    expect(res.json.ok).toBe(true)
    return res
  }

  /** Polls `runs show` until the predicate holds (the run advances in the background after a wait completes). */
  async function until(
    runId: string,
    predicate: (run: { status: string; waiting_on: { kind: string } | null }) => boolean,
  ) {
    let last: CliResult | undefined
    for (let i = 0; i < 100; i++) {
      last = await ok(['runs', 'show', runId])
      if (predicate(last.json.data.run)) return last
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`run ${runId} never got there: ${last?.stdout}`)
  }

  async function startParked(): Promise<{ runId: string; waitId: string; callback: string }> {
    const before = target.requests.length
    const res = await ok(['runs', 'start', 'cli_runs', `target=${target.url}`, 'count=2', '--wait'])
    const run = res.json.data.run
    expect(run).toMatchObject({ status: 'waiting', waiting_on: { step: 'done', kind: 'wait' } })
    const kick = target.requests.slice(before).find((r) => r.path === '/kick')
    const body = JSON.parse(kick?.body ?? '{}') as { callback: string; count: unknown }
    expect(body.count).toBe(2) // the k=v string was coerced to the declared integer
    // The server hands out callback URLs on PUBLIC_URL, which defaults to the configured PORT (0 here), not the
    // bound one; keep the signed path and aim it at the real address.
    const callback = new URL(new URL(body.callback).pathname, server.url).toString()
    return { runId: run.id, waitId: run.waiting_on.wait_id, callback }
  }

  beforeAll(async () => {
    server = await startTestServer()
    target = await startHttpTarget()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    work = mkdtempSync(join(tmpdir(), 'greenlight-cli-runs-'))
    for (const source of [FLOW, COUNTED, SLOW]) {
      const pushed = await api(server, 'POST', '/api/v1/flows', { source, file: 'inline.yaml' })
      expect(pushed.status, JSON.stringify(pushed.body)).toBeLessThan(300)
      const slug = /^slug: (\S+)/.exec(source)?.[1]
      const released = await api(server, 'POST', `/api/v1/flows/${slug}/release`, { promote: true })
      expect(released.status, JSON.stringify(released.body)).toBeLessThan(300)
    }
    const ann = await ok(['tokens', 'create', '--name', 'ann', '--scope', 'approvals:decide', '--as', 'U0ANN'])
    annEnv = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: ann.json.data.token.secret }
    const carol = await ok(['tokens', 'create', '--name', 'carol', '--scope', 'approvals:decide', '--as', 'U0CAROL'])
    carolEnv = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: carol.json.data.token.secret }
  })
  afterAll(async () => {
    await target.close()
    await server.close()
  })

  it('starts and parks on a wait, completes it, and an eligible approver lets it finish', async () => {
    const { runId, waitId } = await startParked()
    const started = await ok(['runs', 'show', runId])
    expect(started.json.meta.next[0]).toBe(`greenlight waits complete ${waitId} --payload '{…}'`)

    const waits = await ok(['waits', 'list', '--run', runId])
    expect(waits.json.data.waits).toHaveLength(1)
    expect(waits.json.data.waits[0]).toMatchObject({ id: waitId, kind: 'wait', status: 'open', step: 'done' })

    const wrongShape = await cli(['waits', 'complete', waitId, '--payload', '{"diff": 1'])
    expect(wrongShape.code).toBe(2)
    expect(wrongShape.json.error.code).toBe('invalid_json')

    const done = await ok(['waits', 'complete', waitId, '-'], { input: JSON.stringify({ diff: DIFF }) })
    expect(done.json.data.completed).toMatchObject({ wait_id: waitId, run_id: runId })
    expect(done.json.meta.next).toEqual([`greenlight runs show ${runId}`])

    const parked = await until(runId, (r) => r.waiting_on?.kind === 'approval')
    const approval = parked.json.data.run.waiting_on.wait_id as string
    expect(parked.json.meta.next[0]).toBe(`greenlight waits approve ${approval} --comment "…"`)
    expect(parked.json.data.wait).toMatchObject({
      id: approval,
      kind: 'approval',
      tally: { approvals: 0, required: 1 },
    })
    const listed = await ok(['waits', 'list', '--kind', 'approval'])
    expect(listed.json.data.waits.map((w: { id: string }) => w.id)).toContain(approval)

    // The local admin token has no approvals:decide scope; Carol has it but is not on the approvers list.
    const admin = await cli(['waits', 'approve', approval])
    expect(admin.code).toBe(1)
    expect(admin.json.error.code).toBe('forbidden')
    const refused = await cli(['waits', 'approve', approval], { env: carolEnv })
    expect(refused.code).toBe(1)
    expect(refused.json.error.code).toBe('not_eligible')
    expect((await ok(['waits', 'show', approval])).json.data.wait.votes).toEqual([])

    const vote = await ok(['waits', 'approve', approval, '--comment', 'lgtm'], { env: annEnv })
    expect(vote.json.data.vote).toMatchObject({ recorded: true, outcome: 'approved', tally: { approvals: 1 } })
    expect(vote.json.meta.next[0]).toBe(`greenlight runs show ${runId}`)

    const finished = await until(runId, (r) => r.status === 'succeeded')
    expect(finished.json.meta.next).toContain(`greenlight audit verify ${runId}`)
    const finish = target.requests.find((r) => r.path === '/finish' && r.idempotencyKey?.startsWith(runId))
    expect(JSON.parse(finish?.body ?? '{}')).toEqual({ decision: 'approved' })

    const events = await ok(['runs', 'events', runId])
    const types = events.json.data.events.map((e: { type: string }) => e.type)
    expect(types[0]).toBe('run.started')
    expect(types).toContain('wait.completed')
    const voted = events.json.data.events.find((e: { type: string }) => e.type === 'approval.voted')
    expect(voted).toMatchObject({ actor: 'U0ANN', step: 'review', data: { decision: 'approve', comment: 'lgtm' } })

    const audit = await ok(['audit', 'verify', runId])
    expect(audit.json.data.audit).toMatchObject({ run_id: runId, ok: true, problems: [] })
    expect(audit.json.data.audit.events).toBe(events.json.data.events.length)

    const list = await ok(['runs', 'list', '--flow', 'cli_runs', '--status', 'succeeded'])
    expect(list.json.data.runs.map((r: { id: string }) => r.id)).toContain(runId)
  })

  it('keeps a >256 KiB callback body as a resource and reads back its exact bytes', async () => {
    const { runId, callback } = await startParked()
    const big = `${DIFF}${'+// filler line so the patch is large\n'.repeat(8000)}`
    const raw = Buffer.from(JSON.stringify({ diff: big, summary: 'Large patch' }))
    expect(raw.length).toBeGreaterThan(256 * 1024)
    const posted = await fetch(callback, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw })
    expect(posted.status).toBe(202)
    await until(runId, (r) => r.waiting_on?.kind === 'approval')

    const sha = createHash('sha256').update(raw).digest('hex')
    const resources = await ok(['resources', 'list', '--run', runId])
    const refs = resources.json.data.resources.map((r: { ref: string }) => r.ref)
    expect(refs).toContain(`res://${sha}`)

    const file = join(work, 'body.json')
    const saved = await ok(['resources', 'get', `res://${sha}`, '--out', file])
    expect(saved.json.data).toMatchObject({ ref: `res://${sha}`, size: raw.length, sha256: sha, path: file })
    const written = readFileSync(file)
    expect(written.equals(raw)).toBe(true)
    expect(createHash('sha256').update(written).digest('hex')).toBe(sha)

    const diffSha = createHash('sha256').update(big).digest('hex')
    const inline = await ok(['resources', 'get', `res://${diffSha}`])
    expect(inline.json.data).toMatchObject({ encoding: 'utf8', size: Buffer.byteLength(big), sha256: diffSha })
    expect(inline.json.data.content).toBe(big)

    const missing = await cli(['resources', 'get', `res://${'0'.repeat(64)}`])
    expect(missing.code).toBe(1)
    expect(missing.json.error.code).toBe('resource_not_found')
  })

  it('fails a run with --wait as run_failed, retries it, rejects, retries from a named step, cancels', async () => {
    target.failNext(400)
    const failed = await cli(['runs', 'start', 'cli_runs', `target=${target.url}`, '--wait', '--timeout', '30s'])
    expect(failed.code, failed.stdout).toBe(1)
    expect(failed.json.error.code).toBe('run_failed')
    const run = failed.json.error.details.run
    expect(run).toMatchObject({ status: 'failed', error: { step: 'kick' } })

    const retried = await ok(['runs', 'retry', run.id])
    expect(retried.json.data.run.status).toMatch(/running|waiting/)
    const parked = await until(run.id, (r) => r.waiting_on?.kind === 'wait')
    await ok([
      'waits',
      'complete',
      parked.json.data.run.waiting_on.wait_id,
      '--payload',
      JSON.stringify({ diff: DIFF }),
    ])
    const review = await until(run.id, (r) => r.waiting_on?.kind === 'approval')
    const approval = review.json.data.run.waiting_on.wait_id

    const noReason = await cli(['waits', 'reject', approval], { env: annEnv })
    expect(noReason.code).toBe(2)
    expect(noReason.json.error.code).toBe('invalid_usage')
    const rejected = await ok(['waits', 'reject', approval, '--comment', 'wrong port'], { env: annEnv })
    expect(rejected.json.data.vote.outcome).toBe('rejected')
    const after = await until(run.id, (r) => r.status === 'failed')
    expect(after.json.data.run.error.code).toBe('approval_rejected')

    const badStep = await cli(['runs', 'retry', run.id, '--from', 'nope'])
    expect(badStep.code).toBe(2)
    expect(badStep.json.error.code).toBe('unknown_step')
    // A retry may not reopen the rejected approval or get past it; one from before it asks again.
    const reopen = await cli(['runs', 'retry', run.id, '--from', 'review'])
    expect(reopen.code).toBe(1)
    expect(reopen.json.error).toMatchObject({ code: 'approval_not_granted', details: { suggested_from: 'done' } })
    await ok(['runs', 'retry', run.id, '--from', 'done'])
    const rewait = await until(run.id, (r) => r.waiting_on?.kind === 'wait')
    await ok([
      'waits',
      'complete',
      rewait.json.data.run.waiting_on.wait_id,
      '--payload',
      JSON.stringify({ diff: DIFF }),
    ])
    const again = await until(run.id, (r) => r.waiting_on?.kind === 'approval')
    const second = again.json.data.run.waiting_on.wait_id
    expect(second).not.toBe(approval)

    const canceled = await ok(['runs', 'cancel', run.id])
    expect(canceled.json.data.run.status).toBe('canceled')
    const closed = await cli(['waits', 'approve', second], { env: annEnv })
    expect(closed.code).toBe(1)
    expect(closed.json.error.code).toBe('approval_closed')
    const open = await ok(['waits', 'list', '--run', run.id])
    expect(open.json.data.waits).toEqual([])
    const all = await ok(['waits', 'list', '--run', run.id, '--all'])
    // Both callback waits and the first approval completed; the second approval was canceled with the run.
    expect(all.json.data.waits.map((w: { kind: string; status: string }) => [w.kind, w.status]).sort()).toEqual([
      ['approval', 'canceled'],
      ['approval', 'completed'],
      ['wait', 'completed'],
      ['wait', 'completed'],
    ])
  })

  it('returns ok with meta.timed_out when the run neither ends nor parks in time', async () => {
    const slow = createServer((_req, res) => {
      setTimeout(() => res.end('{}'), 2500)
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`
      const res = await ok([
        'runs',
        'start',
        'cli_slow',
        '--input-json',
        JSON.stringify({ url }),
        '--wait',
        '--timeout',
        '500ms',
      ])
      expect(res.json.meta.timed_out).toBe(true)
      expect(res.json.data.run).toMatchObject({ flow: 'cli_slow', status: 'running', inputs: { url } })
      expect(res.json.meta.next[0]).toBe(`greenlight runs show ${res.json.data.run.id}`)
      const done = await until(res.json.data.run.id, (r) => r.status === 'succeeded')
      expect(done.json.data.steps.map((st: { step: string; status: string }) => [st.step, st.status])).toEqual([
        ['call', 'succeeded'],
      ])
      const noWait = await ok(['runs', 'start', 'cli_slow', `url=${url}`])
      expect(noWait.json.meta.timed_out).toBeUndefined()
      expect(noWait.json.data.run.status).toMatch(/running|queued/)
      expect((await ok(['runs', 'cancel', noWait.json.data.run.id])).json.data.run.status).toBe('canceled')
    } finally {
      slow.closeAllConnections()
      await new Promise<void>((resolve) => slow.close(() => resolve()))
    }
  })

  it('counts billable step executions per flow', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await ok(['runs', 'start', 'cli_counted', '--wait'])
      if (res.json.data.run.status !== 'succeeded') await until(res.json.data.run.id, (r) => r.status === 'succeeded')
    }
    const usage = await ok(['usage'])
    expect(usage.json.data.usage.month).toBe(new Date().toISOString().slice(0, 7))
    const counted = usage.json.data.usage.flows.find((f: { flow: string }) => f.flow === 'cli_counted')
    expect(counted).toEqual({ flow: 'cli_counted', executions: 4, by_kind: { notify: 4 } })
    const sum = usage.json.data.usage.flows.reduce((n: number, f: { executions: number }) => n + f.executions, 0)
    expect(usage.json.data.usage.total).toBe(sum)
    const empty = await ok(['usage', '--month', '2001-01'])
    expect(empty.json.data.usage).toEqual({
      month: '2001-01',
      flows: [],
      total: 0,
      tokens: { prompt: 0, completion: 0, total: 0 },
    })
  })

  it('reports a tampered event chain as audit_failed', async () => {
    const res = await ok(['runs', 'start', 'cli_counted', '--wait', '--timeout', '20s'])
    const runId = res.json.data.run.id
    await until(runId, (r) => r.status === 'succeeded')
    const db = createClient({ url: `file:${join(server.dataDir, 'greenlight.db')}` })
    await db.execute({
      sql: "UPDATE run_events SET actor = 'mallory' WHERE run_id = ? AND seq = 1",
      args: [runId],
    })
    db.close()
    const audit = await cli(['audit', 'verify', runId])
    expect(audit.code).toBe(1)
    expect(audit.json.error.code).toBe('audit_failed')
    expect(audit.json.error.details.problems[0]).toMatchObject({ seq: 1, problem: 'hash_mismatch' })
  })

  it('answers bad usage and invalid input with exit 2, unknown ids with exit 1', async () => {
    const cases: [string[], string][] = [
      [['runs', 'start'], 'invalid_usage'],
      [['runs', 'start', 'cli_runs', 'no-equals-sign'], 'invalid_usage'],
      [['runs', 'start', 'cli_runs', '--input-json', '[1]'], 'invalid_usage'],
      [['runs', 'start', 'cli_runs', '--timeout', '5s'], 'invalid_usage'],
      [['runs', 'start', 'cli_runs', `target=${target.url}`, 'bogus=1'], 'invalid_inputs'],
      [['runs', 'list', '--limit', 'many'], 'invalid_usage'],
      [['runs', 'list', '--status', 'done'], 'invalid_usage'],
      [['runs', 'show'], 'invalid_usage'],
      [['runs', 'show', 'a', 'b'], 'invalid_usage'],
      [['waits', 'list', '--kind', 'nap'], 'invalid_usage'],
      [['waits', 'complete', 'wait_x'], 'invalid_usage'],
      [['waits', 'complete', 'wait_x', '--payload', '{}', '--payload-file', 'x.json'], 'invalid_usage'],
      [['waits', 'complete', 'wait_x', '--payload-file', join(work, 'absent.json')], 'file_unreadable'],
      [['waits', 'request-changes', 'wait_x'], 'invalid_usage'],
      [['resources', 'get', 'res://not-a-sha'], 'invalid_usage'],
      [['usage', '--month', '2026-13'], 'invalid_usage'],
      [['audit', 'verify'], 'invalid_usage'],
      [['runs', 'start', 'cli_runs', '--bogus'], 'unknown_flag'],
    ]
    for (const [args, code] of cases) {
      const res = await cli(args)
      expect(res.code, `${args.join(' ')} → ${res.stdout}`).toBe(2)
      expect(res.json.ok).toBe(false)
      expect(res.json.error.code, args.join(' ')).toBe(code)
      if (code === 'invalid_usage') expect(res.json.error.hint).toMatch(/^Usage: greenlight /)
    }
    const file = join(work, 'bad.json')
    writeFileSync(file, '{"diff": ')
    const badFile = await cli(['waits', 'complete', 'wait_x', '--payload-file', file])
    expect(badFile.code).toBe(2)
    expect(badFile.json.error.code).toBe('invalid_json')

    for (const [args, code] of [
      [['runs', 'show', 'run_nope'], 'run_not_found'],
      [['runs', 'start', 'cli_runz'], 'flow_not_found'],
      [['waits', 'complete', 'wait_nope', '--payload', '{}'], 'wait_not_found'],
      [['waits', 'approve', 'wait_nope'], 'forbidden'],
      [['audit', 'verify', 'run_nope'], 'run_not_found'],
    ] as [string[], string][]) {
      const res = await cli(args)
      expect(res.code, `${args.join(' ')} → ${res.stdout}`).toBe(1)
      expect(res.json.error.code).toBe(code)
    }
    const unknownWait = await cli(['waits', 'approve', 'wait_nope'], { env: annEnv })
    expect(unknownWait.code).toBe(1)
    expect(unknownWait.json.error.code).toBe('wait_not_found')
    const unreachable = await cli(['runs', 'list'], {
      env: { GREENLIGHT_URL: 'http://127.0.0.1:1', GREENLIGHT_TOKEN: 'glt_x' },
    })
    expect(unreachable.code).toBe(3)
    const unreachableBytes = await cli(['resources', 'get', `res://${'a'.repeat(64)}`], {
      env: { GREENLIGHT_URL: 'http://127.0.0.1:1', GREENLIGHT_TOKEN: 'glt_x' },
    })
    expect(unreachableBytes.code).toBe(3)
    expect(unreachableBytes.json.error.code).toBe('server_unreachable')
    const noToken = await cli(['resources', 'get', `res://${'a'.repeat(64)}`], {
      env: { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: work },
    })
    expect(noToken.code).toBe(3)
    expect(noToken.json.error.code).toBe('not_configured')
  })
})
