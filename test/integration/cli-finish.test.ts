// The CLI finishes the job (issue 15): runs wait, runs retry --wait, did-you-mean for flags, tokens create --help,
// an admin's read of a wait's callback URL (recorded in the run), and a runs start with the inputs after a release.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCOPES } from '../../src/core/scopes.ts'
import { runCli } from '../support/cli.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { type Json, runEvents } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const FLOW = `slug: cli_finish
name: Kick an agent, wait for its answer, one person approves
inputs:
  target: { type: string, required: true }
  team: { type: string, required: true, description: Who gets the report }
  mode: { type: string, required: true, enum: [fast, slow] }
  count: { type: integer, required: true, default: 1 }
  since: { type: string }
steps:
  - id: kick
    http:
      method: POST
      url: "{{ inputs.target }}/kick"
      json: { callback: "{{ callbacks.done.url }}" }
  - id: done
    wait: { timeout: 1h }
  - id: review
    approval:
      message: "Ship it?"
      approvers: { users: [U0ANN] }
      required: 1
`

const JOB = `slug: cli_finish_job
name: One job for a worker
steps:
  - id: build
    job: { type: fin_build, payload: { a: 1 } }
`

describe('the CLI finishes the job', () => {
  let server: TestServer
  let target: HttpTarget
  let env: Record<string, string>
  let readerEnv: Record<string, string>
  let annEnv: Record<string, string>
  const cli = (args: string[], e = env) => runCli(args, { env: e })
  async function ok(args: string[], e = env) {
    const res = await cli(args, e)
    expect(res.code, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    expect(res.json.ok).toBe(true)
    return res
  }
  const inputs = () => [`target=${target.url}`, 'team=ops', 'mode=fast']

  /** Starts a run without waiting and reads what the first step handed the agent. */
  async function startRun(): Promise<{ runId: string; kicked: () => string }> {
    const before = target.requests.length
    const started = await ok(['runs', 'start', 'cli_finish', ...inputs()])
    const runId: string = started.json.data.run.id
    const kicked = () => {
      const kick = target.requests.slice(before).find((r) => r.path === '/kick')
      return (JSON.parse(kick?.body ?? '{}') as { callback: string }).callback
    }
    return { runId, kicked }
  }

  beforeAll(async () => {
    server = await startTestServer()
    target = await startHttpTarget()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    for (const source of [FLOW, JOB]) {
      const pushed = await api(server, 'POST', '/api/v1/flows', { source })
      expect(pushed.status, JSON.stringify(pushed.body)).toBeLessThan(300)
    }
    await api(server, 'POST', '/api/v1/flows/cli_finish_job/release', {})
    const reader = await ok(['tokens', 'create', '--name', 'reader', '--scope', 'runs:read,runs:write'])
    readerEnv = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: reader.json.data.token.secret }
    const ann = await ok(['tokens', 'create', '--name', 'ann', '--scope', 'approvals:decide', '--as', 'U0ANN'])
    annEnv = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: ann.json.data.token.secret }
  })
  afterAll(async () => {
    await target.close()
    await server.close()
  })

  it('flows release suggests a runs start with the required inputs as typed placeholders', async () => {
    const released = await ok(['flows', 'release', 'cli_finish', '--note', 'first'])
    expect(released.json.meta.next[0]).toBe(
      'greenlight runs start cli_finish target=<string> team=<string> mode=<fast|slow>',
    )
    expect(released.json.meta.next).toContain('greenlight flows show cli_finish')
    expect(released.json.data.release).toMatchObject({ slug: 'cli_finish', version: 1, live: true })
  })

  it('runs wait returns when the run parks, when it ends, and fails with wait_timeout in time', async () => {
    const { runId } = await startRun()
    const parked = await ok(['runs', 'wait', runId, '--until', 'parked', '--timeout', '20s'])
    expect(parked.json.data.run).toMatchObject({ id: runId, status: 'waiting', waiting_on: { kind: 'wait' } })
    const waitId: string = parked.json.data.run.waiting_on.wait_id
    expect(parked.json.meta.next[0]).toBe(`greenlight waits complete ${waitId} --payload '{…}'`)
    expect(parked.json.data.wait).toMatchObject({ id: waitId, kind: 'wait' })

    // Until ended (the default), a parked run is not done: the wait runs out and says where the run stands.
    const early = Date.now()
    const timedOut = await cli(['runs', 'wait', runId, '--timeout', '1s'])
    expect(Date.now() - early).toBeGreaterThanOrEqual(900)
    expect(timedOut.code, timedOut.stdout).toBe(1)
    expect(timedOut.json.ok).toBe(false)
    expect(timedOut.json.error).toMatchObject({
      code: 'wait_timeout',
      details: { run: { id: runId, status: 'waiting' } },
    })
    expect(timedOut.json.error.hint).toContain(`greenlight runs wait ${runId}`)

    const ending = cli(['runs', 'wait', runId, '--timeout', '30s'])
    await ok(['waits', 'complete', waitId, '--payload', '{}'])
    const review = await ok(['runs', 'wait', runId, '--until', 'parked'])
    const approval: string = review.json.data.run.waiting_on.wait_id
    expect(review.json.data.run.waiting_on.kind).toBe('approval')
    await ok(['waits', 'approve', approval, '--comment', 'ship'], annEnv)
    const ended = await ending
    expect(ended.code, ended.stdout).toBe(0)
    expect(ended.json.data.run).toMatchObject({ id: runId, status: 'succeeded' })
    expect(ended.json.meta.next).toEqual([`greenlight runs events ${runId}`, `greenlight audit verify ${runId}`])
  })

  it('runs wait reports a failed run as run_failed, unknown runs and bad usage', async () => {
    target.failNext(400)
    const { runId } = await startRun()
    const failed = await cli(['runs', 'wait', runId, '--timeout', '20s'])
    expect(failed.code, failed.stdout).toBe(1)
    expect(failed.json.error).toMatchObject({ code: 'run_failed', details: { run: { id: runId, status: 'failed' } } })
    const missing = await cli(['runs', 'wait', 'run_nope', '--timeout', '2s'])
    expect(missing.code).toBe(1)
    expect(missing.json.error.code).toBe('run_not_found')
    for (const args of [
      ['runs', 'wait'],
      ['runs', 'wait', runId, '--until', 'soon'],
      ['runs', 'wait', runId, '--timeout', '5 minutes'],
      ['runs', 'wait', runId, 'extra'],
    ]) {
      const res = await cli(args)
      expect(res.code, `${args.join(' ')} → ${res.stdout}`).toBe(2)
      expect(res.json.error.code).toBe('invalid_usage')
    }
  })

  it('runs retry --wait returns when the retried run parks, and as run_failed when it fails again', async () => {
    target.failNext(400)
    const { runId } = await startRun()
    await cli(['runs', 'wait', runId, '--timeout', '20s'])
    const parked = await ok(['runs', 'retry', runId, '--wait', '--timeout', '20s'])
    expect(parked.json.data.run).toMatchObject({ id: runId, status: 'waiting', waiting_on: { kind: 'wait' } })
    expect(parked.json.meta.timed_out).toBe(false)
    expect(parked.json.meta.next[0]).toBe(
      `greenlight waits complete ${parked.json.data.run.waiting_on.wait_id} --payload '{…}'`,
    )
    await ok(['runs', 'cancel', runId])
    target.failNext(400)
    const again = await cli(['runs', 'retry', runId, '--from', 'kick', '--wait'])
    expect(again.code, again.stdout).toBe(1)
    expect(again.json.error).toMatchObject({ code: 'run_failed', details: { run: { id: runId, status: 'failed' } } })
    const noWait = await cli(['runs', 'retry', runId, '--timeout', '5s'])
    expect(noWait.code).toBe(2)
    expect(noWait.json.error.code).toBe('invalid_usage')
  })

  it('answers an unknown flag with unknown_flag and the closest flag of that command', async () => {
    const typo = await cli(['runs', 'wait', 'run_x', '--tiemout', '5s'])
    expect(typo.code, typo.stdout).toBe(2)
    expect(typo.json).toEqual({
      ok: false,
      error: {
        code: 'unknown_flag',
        message: "Unknown flag '--tiemout' for 'runs wait'.",
        hint: "Did you mean '--timeout'? Run 'greenlight runs wait --help'.",
        details: { flag: '--tiemout', suggestion: '--timeout' },
      },
    })
    const inline = await cli(['flows', 'release', 'x', '--nte=first'])
    expect(inline.json.error).toMatchObject({ code: 'unknown_flag', details: { flag: '--nte', suggestion: '--note' } })
    const pretty = await cli(['tokens', 'list', '--prety'])
    expect(pretty.json.error.hint).toBe("Did you mean '--pretty'? Run 'greenlight tokens list --help'.")
    const nothingClose = await cli(['runs', 'show', 'run_x', '--zzzzzzzz'])
    expect(nothingClose.code).toBe(2)
    expect(nothingClose.json.error).toMatchObject({
      code: 'unknown_flag',
      message: "Unknown flag '--zzzzzzzz' for 'runs show'.",
      hint: "Run 'greenlight runs show --help'.",
    })
  })

  it('tokens create --help lists every scope on one line and explains --as', async () => {
    const help = await ok(['tokens', 'create', '--help'])
    const data = help.json.data
    expect(data.command).toBe('greenlight tokens create')
    expect(data.scopes.map((s: { scope: string }) => s.scope)).toEqual([...SCOPES])
    for (const s of data.scopes as { scope: string; grants: string }[]) {
      expect(s.grants.length, s.scope).toBeGreaterThan(10)
      expect(s.grants).not.toContain('\n')
    }
    expect(data.flags['--as <slack-user-id>']).toMatch(/votes as that Slack user/)
    expect(data.flags['--as <slack-user-id>']).toMatch(/self-approval/)
  })

  it('shows a wait callback URL to an admin only, exactly as the flow handed it out, and records the read', async () => {
    const { runId, kicked } = await startRun()
    const parked = await ok(['runs', 'wait', runId, '--until', 'parked', '--timeout', '20s'])
    const waitId: string = parked.json.data.run.waiting_on.wait_id

    const shown = await ok(['waits', 'show', waitId, '--callback-url'])
    expect(shown.json.data.callback_url).toBe(kicked())
    expect(shown.json.data.wait).toMatchObject({ id: waitId, kind: 'wait', status: 'open' })
    const read = (await runEvents(server, runId)).filter((e: Json) => e.type === 'callback_url.read')
    expect(read).toHaveLength(1)
    const admin = (await api(server, 'GET', '/api/v1/whoami')).body.data as Json
    expect(read[0]).toMatchObject({
      actor: 'token:local-admin',
      step: 'done',
      data: { wait_id: waitId, token: { id: admin.token.id, name: 'local-admin' } },
    })
    // Without --callback-url, waits show reads the wait and records nothing.
    const plain = await ok(['waits', 'show', waitId])
    expect(plain.json.data.callback_url).toBeUndefined()

    const refused = await cli(['waits', 'show', waitId, '--callback-url'], readerEnv)
    expect(refused.code, refused.stdout).toBe(1)
    expect(refused.json.error).toMatchObject({ code: 'forbidden', details: { required_scope: 'admin' } })
    expect((await runEvents(server, runId)).filter((e: Json) => e.type === 'callback_url.read')).toHaveLength(1)

    // The URL is the real one: posting to it completes the wait; then it is closed.
    const url = new URL(new URL(shown.json.data.callback_url).pathname, server.url)
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(202)
    const review = await ok(['runs', 'wait', runId, '--until', 'parked', '--timeout', '20s'])
    const closed = await cli(['waits', 'show', waitId, '--callback-url'])
    expect(closed.code).toBe(1)
    expect(closed.json.error.code).toBe('wait_closed')
    const approval = await cli(['waits', 'show', review.json.data.run.waiting_on.wait_id, '--callback-url'])
    expect(approval.code).toBe(1)
    expect(approval.json.error.code).toBe('no_callback_url')
    const missing = await cli(['waits', 'show', 'wait_nope', '--callback-url'])
    expect(missing.code).toBe(1)
    expect(missing.json.error.code).toBe('wait_not_found')
    expect((await ok(['audit', 'verify', runId])).json.data.audit.ok).toBe(true)

    const job = await ok(['runs', 'start', 'cli_finish_job', '--wait'])
    const jobWait: string = job.json.data.run.waiting_on.wait_id
    const jobUrl = await ok(['waits', 'show', jobWait, '--callback-url'])
    const state = await fetch(new URL(new URL(jobUrl.json.data.callback_url).pathname, server.url))
    expect(state.status).toBe(200)
    expect(((await state.json()) as Json).data.wait).toMatchObject({ step: 'build', status: 'open' })
  })
})
