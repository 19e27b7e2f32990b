// Who may do what to a run, over the real API and CLI: retries never get past an approval that did not grant the
// run's artifact, inputs take only their assignees, cancel belongs to the initiator and admins, and a token created
// `--as` a user obeys that user's permissions.run. Slack is on (a fake one) so user groups resolve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

// The artifact comes from `produce`; `deploy` is what an approval guards.
const GATE_FLOW = `slug: au_gate
inputs:
  target: { type: string, required: true }
steps:
  - id: produce
    http: { method: POST, url: "{{ inputs.target }}/produce" }
  - id: review
    approval:
      message: "Deploy the build?"
      approvers: { users: [U0ANN] }
      on: { changes_requested: { goto: produce } }
  - id: deploy
    http: { method: POST, url: "{{ inputs.target }}/deploy" }
  - id: done
    transform: "{{ 'deployed' }}"
`

// A failed deploy loops back to produce, so the approval is visited again after it was granted.
const LOOP_FLOW = `slug: au_loop
inputs:
  target: { type: string, required: true }
steps:
  - id: produce
    http: { method: POST, url: "{{ inputs.target }}/produce" }
  - id: review
    approval:
      message: "Deploy the build?"
      approvers: { users: [U0ANN] }
  - id: deploy
    http: { method: POST, url: "{{ inputs.target }}/deploy" }
    on_error: { goto: produce }
`

const INPUT_FLOW = `slug: au_input
steps:
  - id: ask
    input:
      fields: [{ id: reason, label: Reason, required: true }]
  - id: echo
    transform: "{{ steps.ask.output.values.reason }}"
`

const GROUP_INPUT_FLOW = `slug: au_input_group
steps:
  - id: ask
    input:
      assignees: { usergroups: [S0OPS] }
      fields: [{ id: reason, label: Reason, required: true }]
  - id: echo
    transform: "{{ steps.ask.output.values.reason }}"
`

const PERMITTED_FLOW = `slug: au_perm
permissions:
  run: { usergroups: [S0ENG] }
  cancel: { usergroups: [S0OPS] }
steps:
  - id: hold
    input:
      assignees: { users: [U0ANN] }
      fields: [{ id: ok, label: OK }]
`

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

describe('authorization over the API and the CLI', () => {
  let fake: FakeSlack
  let server: TestServer
  let target: HttpTarget
  const tokens: Record<string, string> = {}
  const envOf = (token: string) => ({ GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: token })
  const token = (name: string): string => {
    const secret = tokens[name]
    if (!secret) throw new Error(`no token ${name}`)
    return secret
  }

  async function createToken(name: string, scopes: string[], asUser?: string): Promise<void> {
    tokens[name] = (await mintToken(server, name, scopes, asUser)).secret
  }

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: ['U0ANN', 'U0BOB', 'U0OPS', 'U0OUT'].map((id) => ({ id, name: id.toLowerCase() })),
      usergroups: { S0OPS: ['U0OPS'], S0ENG: ['U0ANN', 'U0BOB'] },
    })
    server = await startTestServer({
      SLACK_BOT_TOKEN: 'xoxb-authz',
      SLACK_SIGNING_SECRET: 'authz-secret',
      SLACK_API_URL: fake.apiUrl,
      LOG_LEVEL: 'silent',
    })
    target = await startHttpTarget()
    for (const flow of [GATE_FLOW, LOOP_FLOW, INPUT_FLOW, GROUP_INPUT_FLOW, PERMITTED_FLOW])
      await pushRelease(server, flow)
    await createToken('agent', ['runs:read', 'runs:write'])
    await createToken('other', ['runs:read', 'runs:write'])
    await createToken('ann', ['runs:read', 'runs:write', 'approvals:decide'], 'U0ANN')
    await createToken('bob', ['runs:read', 'runs:write'], 'U0BOB')
    await createToken('ops', ['runs:read', 'runs:write'], 'U0OPS')
    await createToken('out', ['runs:read', 'runs:write'], 'U0OUT')
  })
  afterAll(async () => {
    await server?.close()
    await target?.close()
    await fake?.close()
  })

  async function start(flow: string, as: string, inputs: Record<string, unknown> = {}): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs, wait: true }, token(as))
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run
  }

  /** Waits until the run parks on an approval other than `notId`, and returns its wait id. */
  async function parkedApproval(id: string, notId?: string): Promise<string> {
    return eventually(async () => {
      const { run } = await showRun(server, id)
      const waitId = run.waiting_on?.wait_id
      if (run.status === 'waiting' && run.waiting_on?.kind === 'approval' && waitId !== notId) return waitId as string
      if (TERMINAL.includes(run.status)) throw new Error(`run ended ${run.status}: ${JSON.stringify(run.error)}`)
      return undefined
    }, `run ${id} to park on a new approval`)
  }

  const vote = (waitId: string, decision: string, comment?: string) =>
    api(server, 'POST', `/api/v1/waits/${waitId}/${decision}`, comment ? { comment } : {}, token('ann'))
  const retry = (id: string, body: unknown, as = 'agent') =>
    api(server, 'POST', `/api/v1/runs/${id}/retry`, body, token(as))
  const deploys = (runId: string) =>
    target.requests.filter((r) => r.path === '/deploy' && r.idempotencyKey?.startsWith(runId)).length

  describe('retry past an approval', () => {
    it('refuses a retry at or after a rejected approval, through the API and the CLI; one from before it asks again', async () => {
      const run = await start('au_gate', 'agent', { target: target.url })
      const first = await parkedApproval(run.id)
      expect((await vote(first, 'reject', 'not this build')).status).toBe(201)
      await runReaches(server, run.id, ['failed'])
      const eventsBefore = (await runEvents(server, run.id)).length

      for (const from of ['deploy', 'done', 'review']) {
        const refused = await retry(run.id, { from })
        expect(refused.status, JSON.stringify(refused.body)).toBe(409)
        expect(refused.body.error).toMatchObject({
          code: 'approval_not_granted',
          details: { approval: 'review', outcome: 'rejected', from },
        })
        expect(refused.body.error?.hint).toContain(`greenlight runs retry ${run.id} --from produce`)
      }
      const plain = await runCli(['runs', 'retry', run.id], { env: envOf(token('agent')) })
      expect(plain.code, plain.stdout).toBe(1)
      expect(plain.json.error).toMatchObject({ code: 'approval_not_granted', details: { outcome: 'rejected' } })

      const shown = await runCli(['runs', 'show', run.id], { env: envOf(token('agent')) })
      expect(shown.code).toBe(0)
      expect(shown.json.meta.next).toContain(`greenlight runs retry ${run.id} --from produce`)
      expect(shown.json.meta.next).not.toContain(`greenlight runs retry ${run.id}`)
      expect(shown.json.data.run.retry).toEqual({ from: 'review', allowed: false, suggested_from: 'produce' })

      expect((await showRun(server, run.id)).run.status).toBe('failed')
      expect((await runEvents(server, run.id)).length).toBe(eventsBefore)
      expect(deploys(run.id)).toBe(0)

      const again = await runCli(['runs', 'retry', run.id, '--from', 'produce'], { env: envOf(token('agent')) })
      expect(again.code, again.stdout).toBe(0)
      const second = await parkedApproval(run.id, first)
      const wait = await api(server, 'GET', `/api/v1/waits/${second}`)
      expect((wait.body.data as Json).wait).toMatchObject({ step: 'review', visit: 2, status: 'open' })
      expect(deploys(run.id)).toBe(0)
      expect((await vote(second, 'approve')).status).toBe(201)
      await runReaches(server, run.id, ['succeeded'])
      expect(deploys(run.id)).toBe(1)
    })

    it('refuses a retry past an approval the run was canceled at, with or without --from', async () => {
      const run = await start('au_gate', 'agent', { target: target.url })
      const first = await parkedApproval(run.id)
      const canceled = await runCli(['runs', 'cancel', run.id], { env: envOf(token('agent')) })
      expect(canceled.code, canceled.stdout).toBe(0)
      expect(canceled.json.data.run.status).toBe('canceled')
      expect(canceled.json.meta.next).toContain(`greenlight runs retry ${run.id} --from produce`)
      expect(canceled.json.meta.next).not.toContain(`greenlight runs retry ${run.id}`)

      const refused = await retry(run.id, { from: 'deploy' })
      expect(refused.status, JSON.stringify(refused.body)).toBe(409)
      expect(refused.body.error).toMatchObject({
        code: 'approval_not_granted',
        details: { approval: 'review', outcome: 'canceled' },
      })
      const plain = await runCli(['runs', 'retry', run.id], { env: envOf(token('agent')) })
      expect(plain.code, plain.stdout).toBe(1)
      expect(plain.json.error).toMatchObject({ code: 'approval_not_granted', details: { outcome: 'canceled' } })
      expect((await showRun(server, run.id)).run.status).toBe('canceled')

      const before = await runCli(['runs', 'retry', run.id, '--from', 'produce'], { env: envOf(token('agent')) })
      expect(before.code, before.stdout).toBe(0)
      const second = await parkedApproval(run.id, first)
      expect(second).not.toBe(first)
      expect(deploys(run.id)).toBe(0)
    })

    it('judges an approval by its latest visit: a changes-requested loop that ends approved lets a failed deploy retry', async () => {
      const run = await start('au_gate', 'agent', { target: target.url })
      const first = await parkedApproval(run.id)
      expect((await vote(first, 'request-changes', 'smaller, please')).status).toBe(201)
      const second = await parkedApproval(run.id, first)
      target.failNext(500)
      expect((await vote(second, 'approve')).status).toBe(201)
      const failed = await runReaches(server, run.id, ['failed'])
      expect(failed.run.error.step).toBe('deploy')
      expect(failed.run.retry).toEqual({ from: 'deploy', allowed: true, suggested_from: 'deploy' })

      const retried = await retry(run.id, {})
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      await runReaches(server, run.id, ['succeeded'])
      expect(deploys(run.id)).toBe(2)
    })

    it('refuses once the approval was visited again and rejected, or once the artifact was produced again', async () => {
      // Approved, the deploy fails and loops back, and the second request is rejected.
      const looped = await start('au_loop', 'agent', { target: target.url })
      const first = await parkedApproval(looped.id)
      target.failNext(500)
      expect((await vote(first, 'approve')).status).toBe(201)
      const second = await parkedApproval(looped.id, first)
      expect((await vote(second, 'reject', 'the rebuild is wrong')).status).toBe(201)
      await runReaches(server, looped.id, ['failed'])
      const rejected = await retry(looped.id, { from: 'deploy' })
      expect(rejected.status, JSON.stringify(rejected.body)).toBe(409)
      expect(rejected.body.error).toMatchObject({ code: 'approval_not_granted', details: { outcome: 'rejected' } })

      // Approved, the deploy fails and loops back, and producing the new artifact fails before anyone saw it.
      const rebuilt = await start('au_loop', 'agent', { target: target.url })
      const granted = await parkedApproval(rebuilt.id)
      target.failNext(500, 2)
      expect((await vote(granted, 'approve')).status).toBe(201)
      const failed = await runReaches(server, rebuilt.id, ['failed'])
      expect(failed.run.error.step).toBe('produce')
      const stale = await retry(rebuilt.id, { from: 'deploy' })
      expect(stale.status, JSON.stringify(stale.body)).toBe(409)
      expect(stale.body.error).toMatchObject({ code: 'approval_not_granted', details: { outcome: 'superseded' } })
      expect(deploys(rebuilt.id)).toBe(1)
    })

    it('refuses a retry past an approval the run never reached; a plain retry starts where it failed', async () => {
      target.failNext(500)
      const run = await start('au_gate', 'agent', { target: target.url })
      expect(run.status).toBe('failed')
      const skipped = await retry(run.id, { from: 'deploy' })
      expect(skipped.status, JSON.stringify(skipped.body)).toBe(409)
      expect(skipped.body.error).toMatchObject({ code: 'approval_not_granted', details: { outcome: 'not_reached' } })
      expect((await retry(run.id, {})).status).toBe(200)
      await parkedApproval(run.id)
      expect(deploys(run.id)).toBe(0)
    })

    it('answers random retry bodies with 400 or 409 and leaves a rejected run as it was', async () => {
      const run = await start('au_gate', 'agent', { target: target.url })
      expect((await vote(await parkedApproval(run.id), 'reject', 'no')).status).toBe(201)
      await runReaches(server, run.id, ['failed'])
      const events = (await runEvents(server, run.id)).length
      const words = ['deploy', 'done', 'review', 'DEPLOY', 'deploy ', '', 'a'.repeat(65), '../deploy', 'd\u0000']
      const values = [...words, 1, null, true, [], {}, ['deploy'], { from: 'deploy' }]
      for (let i = 0; i < 60; i++) {
        const pick = values[Math.floor(Math.random() * values.length)]
        const random = Math.random()
          .toString(36)
          .slice(2, 2 + Math.floor(Math.random() * 10))
        const body = i % 3 === 0 ? { from: random } : i % 3 === 1 ? { from: pick } : { from: pick, extra: random }
        const answer = await retry(run.id, body)
        expect([400, 409], `${JSON.stringify(body)} → ${JSON.stringify(answer.body)}`).toContain(answer.status)
      }
      expect((await showRun(server, run.id)).run.status).toBe('failed')
      expect((await runEvents(server, run.id)).length).toBe(events)
      expect(deploys(run.id)).toBe(0)
    })
  })

  describe('input assignees', () => {
    const submit = (waitId: string, as: string, reason = 'because') =>
      api(server, 'POST', `/api/v1/waits/${waitId}/complete`, { payload: { reason } }, token(as))
    const parkedInput = async (id: string): Promise<string> =>
      eventually(async () => {
        const { run } = await showRun(server, id)
        return run.status === 'waiting' && run.waiting_on?.kind === 'input'
          ? (run.waiting_on.wait_id as string)
          : undefined
      }, `run ${id} to park on its input`)

    it('takes an input with no assignees from the run initiator only, by token name or --as user', async () => {
      const byToken = await start('au_input', 'agent')
      const waitId = await parkedInput(byToken.id)
      for (const as of ['other', 'ann']) {
        const refused = await submit(waitId, as)
        expect(refused.status, `${as}: ${JSON.stringify(refused.body)}`).toBe(403)
        expect(refused.body.error?.code).toBe('not_eligible')
      }
      expect((await showRun(server, byToken.id)).run.status).toBe('waiting')
      expect((await submit(waitId, 'agent', 'mine')).status).toBe(202)
      const done = await runReaches(server, byToken.id, ['succeeded'])
      expect(done.run.output).toBe('mine')

      const byUser = await start('au_input', 'ann')
      const userWait = await parkedInput(byUser.id)
      for (const as of ['agent', 'bob']) expect((await submit(userWait, as)).status).toBe(403)
      const cli = await runCli(['waits', 'complete', userWait, '--payload', '{"reason":"x"}'], {
        env: envOf(token('bob')),
      })
      expect(cli.code, cli.stdout).toBe(1)
      expect(cli.json.error.code).toBe('not_eligible')
      expect((await submit(userWait, 'ann', 'as ann')).status).toBe(202)
      await runReaches(server, byUser.id, ['succeeded'])
    })

    it('takes an input assigned to a user group from its members (and admin tokens) only', async () => {
      const run = await start('au_input_group', 'ann')
      const waitId = await parkedInput(run.id)
      for (const as of ['ann', 'out', 'agent']) {
        const refused = await submit(waitId, as)
        expect(refused.status, `${as}: ${JSON.stringify(refused.body)}`).toBe(403)
        expect(refused.body.error?.code).toBe('not_eligible')
      }
      expect((await showRun(server, run.id)).run.status).toBe('waiting')
      expect((await submit(waitId, 'ops', 'from ops')).status).toBe(202)
      const done = await runReaches(server, run.id, ['succeeded'])
      expect(done.steps.find((s: Json) => s.step === 'ask').output.user).toBe('U0OPS')

      const admin = await start('au_input_group', 'ann')
      const adminWait = await parkedInput(admin.id)
      const byAdmin = await api(server, 'POST', `/api/v1/waits/${adminWait}/complete`, { payload: { reason: 'op' } })
      expect(byAdmin.status, JSON.stringify(byAdmin.body)).toBe(202)
    })
  })

  describe('permissions.run and cancel through the API', () => {
    it('holds a token created --as a user to that user’s permissions.run; tokens with no identity start as before', async () => {
      const refused = await api(server, 'POST', '/api/v1/runs', { flow: 'au_perm' }, token('out'))
      expect(refused.status, JSON.stringify(refused.body)).toBe(403)
      expect(refused.body.error?.code).toBe('run_not_permitted')
      const cli = await runCli(['runs', 'start', 'au_perm'], { env: envOf(token('out')) })
      expect(cli.code, cli.stdout).toBe(1)
      expect(cli.json.error.code).toBe('run_not_permitted')
      const listed = await api(server, 'GET', '/api/v1/runs?flow=au_perm')
      expect((listed.body.data as Json).runs).toEqual([])

      expect((await start('au_perm', 'ann')).initiator).toBe('U0ANN')
      expect((await start('au_perm', 'agent')).initiator).toBe('token:agent')
    })

    it('lets the initiator, admins and permissions.cancel cancel a run, and refuses anyone else', async () => {
      const run = await start('au_perm', 'ann')
      for (const as of ['bob', 'out', 'agent']) {
        const refused = await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`, undefined, token(as))
        expect(refused.status, `${as}: ${JSON.stringify(refused.body)}`).toBe(403)
        expect(refused.body.error?.code).toBe('cancel_not_permitted')
      }
      expect((await showRun(server, run.id)).run.status).toBe('waiting')
      const byOps = await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`, undefined, token('ops'))
      expect(byOps.status, JSON.stringify(byOps.body)).toBe(200)
      expect((byOps.body.data as Json).run.status).toBe('canceled')

      const own = await start('au_perm', 'agent')
      expect((await api(server, 'POST', `/api/v1/runs/${own.id}/cancel`, undefined, token('other'))).status).toBe(403)
      expect((await api(server, 'POST', `/api/v1/runs/${own.id}/cancel`, undefined, token('agent'))).status).toBe(200)
      const byAdmin = await start('au_perm', 'ann')
      expect((await api(server, 'POST', `/api/v1/runs/${byAdmin.id}/cancel`)).status).toBe(200)
    })
  })
})
