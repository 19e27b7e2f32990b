// Flow templates through the real CLI and a real server: every template in examples/templates/ is imported (bound to
// this server's connections), released and run to its end against the fake OpenAI API, a libSQL file database and an
// HTTP target; what is unbound is listed with commands that work; export → import round-trips; a malformed or edited
// template is refused with its line and column and changes nothing.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { shiftedClock } from '../support/clock.ts'
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai/index.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { eventually, type Json, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const Native = createRequire(import.meta.url)('libsql') as new (
  path: string,
) => { exec(sql: string): void; close(): void }

const TEMPLATES = join(import.meta.dirname, '..', '..', 'examples', 'templates')
const template = (name: string) => join(TEMPLATES, `${name}.yaml`)
const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']
const VOTERS = [
  'U0REVIEWER1',
  'U0REVIEWER2',
  'U0REVIEWER3',
  'U0SUPPORTLEAD1',
  'U0FINANCE1',
  'U0FINANCE2',
  'U0RELEASEMGR',
  'U0ONCALL',
  'U0EDITOR1',
]
// Escalations fall due when the test moves this clock.
const clock = shiftedClock()

describe('flow templates', () => {
  let server: TestServer
  let target: HttpTarget
  let openai: FakeOpenAI
  let env: Record<string, string>
  let work: string
  const voters: Record<string, string> = {}

  const cli = (args: string[], input?: string) =>
    runCli(args, { env, cwd: work, ...(input === undefined ? {} : { input }) })
  const put = async (path: string, body: unknown) => {
    const res = await api(server, 'PUT', path, body)
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300)
  }
  const httpConnection = (name: string, prefix: string, secret: string) =>
    put(`/api/v1/connections/${name}`, {
      type: 'http',
      base_url: `${target.url}/${prefix}`,
      auth: { type: 'bearer', secret },
    })
  const requestsTo = (prefix: string) => target.requests.filter((r) => r.path.startsWith(`/${prefix}/`))

  async function importRelease(file: string, extra: string[] = []): Promise<Json> {
    const imported = await cli(['flows', 'import', file, ...extra])
    expect(imported.code, imported.stdout + imported.stderr).toBe(0)
    const data = imported.json.data.import
    expect(data.unbound, JSON.stringify(data.unbound)).toEqual([])
    const released = await cli(['flows', 'release', data.slug, '--note', 'from a template'])
    expect(released.code, released.stdout).toBe(0)
    return data
  }

  async function start(flow: string, inputs: Record<string, unknown>): Promise<string> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run.id
  }

  /** The approval the run parks on next (not `notId`), once it is open. */
  async function approvalOf(runId: string, notId?: string): Promise<Json> {
    const waitId = await eventually(async () => {
      const shown = await showRun(server, runId)
      if (TERMINAL.includes(shown.run.status)) throw new Error(`run ended: ${JSON.stringify(shown.run.error)}`)
      const on = shown.run.waiting_on
      return on?.kind === 'approval' && on.wait_id !== notId ? (on.wait_id as string) : undefined
    }, `run ${runId} to park on an approval`)
    return ((await api(server, 'GET', `/api/v1/waits/${waitId}`)).body.data as Json).wait
  }

  const vote = async (waitId: string, who: string, decision = 'approve', body: Record<string, unknown> = {}) => {
    const res = await api(server, 'POST', `/api/v1/waits/${waitId}/${decision}`, body, voters[who] as string)
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300)
    return (res.body.data as Json).vote
  }

  const callback = async (url: string, body: unknown) => {
    const token = url.split('/callbacks/')[1]
    const res = await fetch(`${server.url}/callbacks/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(202)
  }

  const succeeded = async (runId: string) => {
    const done = await runReaches(server, runId, TERMINAL)
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    return done
  }

  beforeAll(async () => {
    target = await startHttpTarget()
    openai = await startFakeOpenAI()
    server = await startTestServer({}, { clock })
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    work = mkdtempSync(join(tmpdir(), 'greenlight-templates-'))
    for (const who of VOTERS) voters[who] = (await mintToken(server, who, ['approvals:decide'], who)).secret
    for (const name of ['target_token', 'llm_api_key']) {
      await put(`/api/v1/secrets/${name}`, { value: name === 'llm_api_key' ? openai.apiKey : 'target-secret-7f3a' })
    }
  })
  afterAll(async () => {
    await server?.close()
    await target?.close()
    await openai?.close()
    rmSync(work, { recursive: true, force: true })
  })

  it('lists each unbound requirement with the command that binds it; those commands bind it', async () => {
    const before = await api(server, 'GET', '/api/v1/flows')
    const imported = await cli(['flows', 'import', template('agent-fix-review')])
    expect(imported.code, imported.stdout + imported.stderr).toBe(0)
    const data = imported.json.data.import
    expect(data).toMatchObject({ slug: 'agent_fix_review', created: true, modified: false, requirements_checked: true })
    expect(data.unbound.map((u: Json) => `${u.kind}:${u.name}:${u.reason}`)).toEqual([
      'secret:agent_runner_token:missing',
      'secret:github_token:missing',
      'connection:agent_runner:missing',
      'connection:github:missing',
    ])
    expect(data.unbound.find((u: Json) => u.name === 'github').command).toBe(
      'greenlight connections set github --type http --base-url https://api.github.com --bearer-secret github_token',
    )
    expect(imported.json.meta.next.at(-1)).toMatch(/^greenlight flows release agent_fix_review/)
    // A draft only: releasing is refused while the connections are missing.
    const refused = await cli(['flows', 'release', 'agent_fix_review'])
    expect(refused.code).toBe(2)
    expect(refused.json.error.code).toBe('requirements_missing')
    expect((await api(server, 'GET', '/api/v1/flows')).body.data?.flows).toHaveLength(
      ((before.body.data as Json).flows as Json[]).length + 1,
    )

    // Run the listed commands (the base URLs pointed at this test's target instead of the exporter's).
    for (const unbound of data.unbound as Json[]) {
      const words = (unbound.command as string).split(' ').slice(1)
      const at = words.indexOf('--base-url')
      if (at >= 0) words[at + 1] = `${target.url}/${unbound.name === 'github' ? 'gh' : 'agents'}`
      const ran = await cli(words, unbound.kind === 'secret' ? 'secret-from-stdin-91c2' : undefined)
      expect(ran.code, `${unbound.command}: ${ran.stdout}`).toBe(0)
    }
    const again = await cli(['flows', 'import', template('agent-fix-review')])
    expect(again.json.data.import).toMatchObject({ created: false, unbound: [] })
  })

  it('agent fix with review: the agent patches, a reviewer requests changes, two approve, the PR is merged', async () => {
    await cli(['flows', 'release', 'agent_fix_review'])
    const runId = await start('agent_fix_review', { repo: 'acme/api', issue: 42 })
    const agentCall = async (n: number) =>
      eventually(async () => requestsTo('agents')[n - 1], `agent start #${n}`).then((r) => JSON.parse(r.body))
    const first = await agentCall(1)
    expect(first).toMatchObject({ repo: 'acme/api', issue: 42 })
    await callback(first.callback_url, { diff: '--- a\n+++ b\n@@\n-bug\n+fix\n', summary: 'Fix the bug', pr: 7 })
    const review = await approvalOf(runId)
    await vote(review.id, 'U0REVIEWER3', 'request-changes', { comment: 'Add a test' })
    const second = await agentCall(2)
    expect(second.feedback).toBe('Add a test')
    await callback(second.callback_url, { diff: '--- a\n+++ b\n@@\n+test\n', summary: 'Fix with a test', pr: 7 })
    const again = await approvalOf(runId, review.id)
    await vote(again.id, 'U0REVIEWER1')
    expect((await vote(again.id, 'U0REVIEWER2')).outcome).toBe('approved')
    await succeeded(runId)
    expect(requestsTo('gh').map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /gh/repos/acme/api/pulls/7/merge'])
  })

  it('support reply: the llm step drafts, a lead edits and approves, the edited text is sent', async () => {
    await httpConnection('helpdesk', 'helpdesk', 'target_token')
    await put('/api/v1/connections/openai_prod', {
      type: 'http',
      base_url: openai.url,
      auth: { type: 'bearer', secret: 'llm_api_key' },
    })
    // The template's `llm` connection is bound to this server's `openai_prod`.
    const data = await importRelease(template('support-reply'), ['--bind', 'llm=openai_prod'])
    expect(data.bound).toEqual({ llm: 'openai_prod' })
    target.handle('/helpdesk/tickets/31', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ subject: 'Cannot log in', description: 'My password reset mail never comes.' }))
    })
    openai.reply({ content: 'Hello! We have resent the reset mail.' })
    const runId = await start('support_reply_llm', { ticket_id: 31 })
    const review = await approvalOf(runId)
    expect(review.edit.fields[0]).toMatchObject({ name: 'reply', value: 'Hello! We have resent the reset mail.' })
    const prompt = openai.requests.at(-1)?.body?.messages.at(-1)?.content
    expect(prompt).toContain('My password reset mail never comes.')
    const edits = { reply: 'Hello! We resent the reset mail; check your spam folder too.' }
    expect((await vote(review.id, 'U0SUPPORTLEAD1', 'approve', { digest: review.digest, edits })).outcome).toBe(
      'approved',
    )
    await succeeded(runId)
    const sent = requestsTo('helpdesk').filter((r) => r.method === 'POST')
    expect(sent.map((r) => [r.path, JSON.parse(r.body)])).toEqual([
      ['/helpdesk/tickets/31/replies', { body: edits.reply }],
    ])
  })

  it('refund over a limit: a db lookup, a quorum of two finance approvers over 100, none under it', async () => {
    const file = join(work, 'orders.db')
    const db = new Native(file)
    db.exec(`CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT, total REAL, currency TEXT);
      INSERT INTO orders VALUES ('o-1', 'Ada', 250, 'EUR'), ('o-2', 'Bob', 40, 'EUR');`)
    db.close()
    await put('/api/v1/connections/orders_file', { type: 'database', url: `file:${file}` })
    await httpConnection('payments', 'pay', 'target_token')
    await importRelease(template('refund-over-limit'), ['--bind', 'orders_db=orders_file'])

    const big = await start('refund_over_limit', { order_id: 'o-1', amount: 200 })
    const finance = await approvalOf(big)
    expect(finance.message ?? JSON.stringify(finance)).toContain('Ada')
    expect((await vote(finance.id, 'U0FINANCE1')).outcome).toBeNull()
    expect((await vote(finance.id, 'U0FINANCE2')).outcome).toBe('approved')
    await succeeded(big)
    const small = await start('refund_over_limit', { order_id: 'o-2', amount: 30 })
    await succeeded(small)
    const tooMuch = await start('refund_over_limit', { order_id: 'o-2', amount: 90 })
    expect((await runReaches(server, tooMuch, TERMINAL)).run.status).toBe('failed')
    expect(requestsTo('pay').map((r) => JSON.parse(r.body))).toEqual([
      { order: 'o-1', amount: 200, currency: 'EUR', reason: 'customer request' },
      { order: 'o-2', amount: 30, currency: 'EUR', reason: 'customer request' },
    ])
  })

  it('deploy gate: unanswered, it escalates to the on-call engineer, whose approval deploys', async () => {
    await httpConnection('deployer', 'deploy', 'target_token')
    await importRelease(template('deploy-gate'))
    const runId = await start('deploy_gate', { service: 'api', version: '1.4.2' })
    const gate = await approvalOf(runId)
    const early = await api(server, 'POST', `/api/v1/waits/${gate.id}/approve`, {}, voters.U0ONCALL as string)
    expect(early.body.error?.code).toBe('not_eligible')
    clock.advance(31 * 60_000)
    await eventually(
      async () => (await runEvents(server, runId)).find((e: Json) => e.type === 'approval.escalated'),
      'the escalation',
    )
    expect((await vote(gate.id, 'U0ONCALL')).outcome).toBe('approved')
    await succeeded(runId)
    expect(requestsTo('deploy').map((r) => JSON.parse(r.body))).toEqual([
      { service: 'api', version: '1.4.2', approved_by: 'U0ONCALL' },
    ])
  })

  it('content approval: changes requested go to the author, the revision is approved and published', async () => {
    await httpConnection('cms_main', 'cms', 'target_token')
    await importRelease(template('content-approval'), ['--bind', 'cms=cms_main', '--slug', 'blog_approval'])
    let revision = 1
    target.handle('/cms/documents/post-9', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ title: `Launch post r${revision}`, diff: `--- a\n+++ b\n@@\n+draft ${revision}\n` }))
    })
    const runId = await start('blog_approval', { document: 'post-9' })
    const first = await approvalOf(runId)
    await vote(first.id, 'U0EDITOR1', 'request-changes', { comment: 'Shorter title' })
    const asked = await eventually(
      async () => requestsTo('cms').find((r) => r.path.endsWith('/revision-requests')),
      'the revision request',
    )
    const body = JSON.parse(asked.body)
    expect(body.comment).toBe('Shorter title')
    revision = 2
    await callback(body.callback_url, { revised: true })
    const second = await approvalOf(runId, first.id)
    expect(second.message ?? JSON.stringify(second)).toContain('Launch post r2')
    expect((await vote(second.id, 'U0EDITOR1')).outcome).toBe('approved')
    await succeeded(runId)
    expect(requestsTo('cms').filter((r) => r.path.endsWith('/publish'))).toHaveLength(1)
  })

  it('exports a released flow with its connections and imports it again under another slug', async () => {
    const out = join(work, 'deploy-export.yaml')
    const exported = await cli(['flows', 'export', 'deploy_gate', '--version', '1', '--out', out])
    expect(exported.code, exported.stdout).toBe(0)
    expect(exported.json.data.export).toMatchObject({ slug: 'deploy_gate', version: 1, file: out })
    const text = readFileSync(out, 'utf8')
    expect(text).toContain(`base_url: ${target.url}/deploy`)
    expect(text).not.toContain('target-secret-7f3a')
    const imported = await cli(['flows', 'import', out, '--slug', 'deploy_gate_copy'])
    expect(imported.code, imported.stdout).toBe(0)
    expect(imported.json.data.import).toMatchObject({ slug: 'deploy_gate_copy', unbound: [], modified: false })
    const copy = await api(server, 'GET', '/api/v1/flows/deploy_gate_copy?ref=draft')
    const source = ((copy.body.data as Json).flow.shown.source as string).replace('deploy_gate_copy', 'deploy_gate')
    expect(source).toBe(
      readFileSync(template('deploy-gate'), 'utf8')
        .match(/^source: \|\n([\s\S]*)$/m)?.[1]
        ?.replace(/^ {2}/gm, ''),
    )
    // Without --out the template is in the document.
    const inline = await cli(['flows', 'export', 'deploy_gate'])
    expect(inline.json.data.export.template).toBe(text)
  })

  it('without admin, exports types without configuration and imports with every requirement listed, unchecked', async () => {
    const writer = (await mintToken(server, 'flow-writer', ['flows:read', 'flows:write'])).secret
    const as = { ...env, GREENLIGHT_TOKEN: writer }
    const out = join(work, 'no-admin.yaml')
    const exported = await runCli(['flows', 'export', 'deploy_gate', '--out', out], { env: as, cwd: work })
    expect(exported.code, exported.stdout).toBe(0)
    expect(exported.json.data.export.requires.connections).toEqual({
      deployer: { type: 'http', config: null, secrets: [] },
    })
    const imported = await runCli(['flows', 'import', out, '--slug', 'deploy_gate_na'], { env: as, cwd: work })
    expect(imported.code, imported.stdout).toBe(0)
    expect(imported.json.data.import).toMatchObject({ requirements_checked: false })
    expect(imported.json.data.import.unbound.map((u: Json) => u.command)).toEqual([
      "greenlight connections set deployer --type http --base-url '<https://…>' --bearer-secret '<token secret>'",
    ])
  })

  it('refuses a malformed, edited or mis-bound template with where and why, and changes nothing', async () => {
    const flowsBefore = (await api(server, 'GET', '/api/v1/flows')).body.data
    const original = readFileSync(template('deploy-gate'), 'utf8')
    const write = (name: string, text: string) => {
      const path = join(work, name)
      writeFileSync(path, text)
      return path
    }
    const syntax = await cli([
      'flows',
      'import',
      write('syntax.yaml', original.replace('slug: deploy_gate\n', 'slug: "deploy_gate\n')),
    ])
    expect(syntax.code).toBe(2)
    expect(syntax.json.error.code).toBe('invalid_template')
    expect(syntax.json.error.details.problems[0]).toMatchObject({ line: 4, column: 19, code: 'yaml_syntax' })

    // A problem in the flow inside `source:` is placed in the template file, not in the flow.
    const lines = original.split('\n')
    const broken = lines.findIndex((l) => l.includes('remind_every: 30m'))
    lines[broken] = lines[broken]?.replace('30m', 'soon') ?? ''
    const inner = await cli(['flows', 'import', write('inner.yaml', lines.join('\n')), '--allow-modified'])
    expect(inner.code).toBe(2)
    expect(inner.json.error.details.problems[0]).toMatchObject({ line: broken + 1 })
    expect(inner.json.error.message).toContain(`inner.yaml:${broken + 1}:`)

    const edited = await cli(['flows', 'import', write('edited.yaml', original.replace('timeout: 4h', 'timeout: 5h'))])
    expect(edited.code).toBe(2)
    expect(edited.json.error.code).toBe('template_modified')
    const unknown = await cli(['flows', 'import', template('deploy-gate'), '--bind', 'nope=deployer'])
    expect(unknown.code).toBe(2)
    expect(unknown.json.error.code).toBe('unknown_binding')
    expect(unknown.json.error.message).toContain('deployer')
    // hello.yaml is a plain flow: its first line is a comment, the map starts on line 2.
    const notTemplate = await cli([
      'flows',
      'import',
      join(import.meta.dirname, '..', '..', 'examples', 'flows', 'hello.yaml'),
    ])
    expect(notTemplate.code).toBe(2)
    expect(notTemplate.json.error.details.problems[0]).toMatchObject({ code: 'not_a_template', line: 2, column: 1 })
    expect((await api(server, 'GET', '/api/v1/flows')).body.data).toEqual(flowsBefore)

    // An edited file imports when asked to, and says it was edited.
    const allowed = await cli([
      'flows',
      'import',
      join(work, 'edited.yaml'),
      '--slug',
      'deploy_gate_edited',
      '--allow-modified',
    ])
    expect(allowed.code, allowed.stdout).toBe(0)
    expect(allowed.json.data.import).toMatchObject({ modified: true, slug: 'deploy_gate_edited' })
  })
})
