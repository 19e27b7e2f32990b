// `greenlight request-approval` for shell-based agents (exit 0 only when approved), the PreToolUse hook of
// examples/agents gating a dangerous command on it, `tokens create --for-agent`, bad requests, randomized request
// bodies, and the built-in flow: stored as written, and refused by push, release and promote.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateFlowSource } from '../../src/core/flow/index.ts'
import { REQUEST_FLOW_SOURCE } from '../../src/core/request-flow.ts'
import { BIN, ROOT, runCli } from '../support/cli.ts'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../support/fuzz-env.ts'
import { eventually, type Json } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const HOOK = join(ROOT, 'examples', 'agents', 'approval-hook.mjs')

let server: TestServer
let agentEnv: Record<string, string>
let reviewer: string
let work: string

beforeAll(async () => {
  server = await startTestServer()
  const admin = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token }
  const minted = await runCli(['tokens', 'create', '--name', 'agent', '--for-agent', '--as', 'U0AGENT'], { env: admin })
  expect(minted.code).toBe(0)
  agentEnv = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: minted.json.data.token.secret }
  reviewer = (await mintToken(server, 'reviewer', ['approvals:decide'], 'U0ANN')).secret
  work = mkdtempSync(join(tmpdir(), 'greenlight-hook-'))
})
afterAll(async () => {
  await server?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** The open approval whose message holds `text`, once the request has parked on it. */
async function openApproval(text: string): Promise<Json> {
  return eventually(async () => {
    const { body } = await api(server, 'GET', '/api/v1/waits?kind=approval')
    return (body.data as Json).waits.find((w: Json) => w.message.includes(text))
  }, `an open approval showing '${text}'`)
}

async function vote(waitId: string, decision: 'approve' | 'reject', comment?: string): Promise<void> {
  const res = await api(server, 'POST', `/api/v1/waits/${waitId}/${decision}`, comment ? { comment } : {}, reviewer)
  expect(res.status).toBe(201)
}

function runHook(input: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [HOOK],
      { env: { PATH: process.env.PATH, ...agentEnv, GREENLIGHT_CLI: `${process.execPath} ${BIN}` } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(JSON.stringify(input))
  })
}

/** What the agent does with a hook: run the command only when the hook lets it. */
async function agentRuns(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const hook = await runHook({ session_id: 's1', cwd: work, tool_name: 'Bash', tool_input: { command } })
  if (hook.code === 0) {
    await new Promise<void>((resolve, reject) =>
      execFile('sh', ['-c', command], { cwd: work }, (error) => (error ? reject(error) : resolve())),
    )
  }
  return hook
}

describe('greenlight request-approval', () => {
  it('mints agent tokens without deciding scopes', async () => {
    const { body } = await api(server, 'GET', '/api/v1/whoami', undefined, agentEnv.GREENLIGHT_TOKEN)
    expect((body.data as Json).token.scopes.sort()).toEqual(['flows:read', 'flows:write', 'runs:read', 'runs:write'])
    const refused = await runCli(['tokens', 'create', '--name', 'bad', '--for-agent', '--scope', 'approvals:decide'], {
      env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token },
    })
    expect(refused.code).toBe(2)
    expect(refused.json.error.message).toContain('approvals:decide')
  })

  it('exits 0 once approved and 1 when rejected, with one JSON document each', async () => {
    const approved = runCli(
      ['request-approval', '--title', 'Deploy api v2', '--body', 'Tagged v2.0.0', '--approver', 'U0ANN', '--wait'],
      { env: agentEnv },
    )
    const first = await openApproval('Deploy api v2')
    await vote(first.id, 'approve', 'go')
    const ok = await approved
    expect(ok.code).toBe(0)
    expect(ok.json.data.request).toMatchObject({ decision: 'approved', comment: 'go' })
    expect(ok.json.data.request.votes).toEqual([expect.objectContaining({ user: 'U0ANN', decision: 'approve' })])

    const rejected = runCli(['request-approval', '--title', 'Wipe staging', '--wait'], { env: agentEnv })
    await vote((await openApproval('Wipe staging')).id, 'reject', 'staging is in use')
    const no = await rejected
    expect(no.code).toBe(1)
    expect(no.json.error).toMatchObject({ code: 'request_rejected' })
    expect(no.json.error.message).toContain('staging is in use')
    expect(no.json.error.details.request.decision).toBe('rejected')
  })

  it('refuses bad requests with exit 2 and starts nothing', async () => {
    const before = ((await api(server, 'GET', '/api/v1/runs?flow=greenlight_request&limit=200')).body.data as Json).runs
      .length
    const cases = [
      [['request-approval', '--wait'], 'invalid_usage'],
      [['request-approval', '--title', 'x', '--approver', 'U0ANN', '--required', '2'], 'invalid_request'],
    ] as const
    for (const [args, code] of cases) {
      const result = await runCli([...args], { env: agentEnv })
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.json.error.code).toBe(code)
    }
    for (const body of [
      { title: 'x', timeout: 'soon' },
      { title: 'x', approvers: { users: ['alice'] } },
      { title: 'x', channel: 'ops room' },
      { title: '', body: 'no title' },
      { title: 'x', unknown: 1 },
    ]) {
      const res = await api(server, 'POST', '/api/v1/approval-requests', body, agentEnv.GREENLIGHT_TOKEN)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error?.code).toBe('invalid_request')
    }
    // A token that can decide approvals (or mint one that can) may not ask: the asker never answers.
    const admin = await api(server, 'POST', '/api/v1/approval-requests', { title: 'x' }, server.token)
    expect(admin.status).toBe(403)
    expect(admin.body.error?.code).toBe('token_can_decide')
    const after = ((await api(server, 'GET', '/api/v1/runs?flow=greenlight_request&limit=200')).body.data as Json).runs
    expect(after.length).toBe(before)
  })

  it('answers random request bodies with 201 or a 400, never a server error', async () => {
    const random = createRandom(fuzzSeed(1807))
    const keys = [
      'title',
      'body',
      'diff',
      'payload',
      'approvers',
      'users',
      'usergroups',
      'required',
      'timeout',
      'remind_every',
      'channel',
      'idempotency_key',
      '__proto__',
      'constructor',
      'extra',
    ]
    const chosen = ['U0ANN', 'S0TEAM', '#ops', 'C0OPS', '30m', '0s', '1h', '{{ inputs.title }}', undefined]
    for (let i = 0; i < fuzzRuns(60); i++) {
      const body = random.chance(0.3)
        ? randomJson(random, { keys, chosen })
        : { title: random.pick(['t', 'Deploy', '']), ...(randomJson(random, { keys, chosen, maxDepth: 2 }) as object) }
      const res = await api(server, 'POST', '/api/v1/approval-requests', body, agentEnv.GREENLIGHT_TOKEN)
      expect([200, 201, 400], JSON.stringify(body)).toContain(res.status)
      if (res.status === 400)
        expect(['invalid_request', 'invalid_body', 'invalid_json']).toContain(res.body.error?.code)
    }
  })
})

describe('the PreToolUse hook example', () => {
  it('lets a safe command through without asking', async () => {
    const hook = await agentRuns('echo hello > safe.txt')
    expect(hook.code).toBe(0)
    expect(existsSync(join(work, 'safe.txt'))).toBe(true)
  })

  it('runs a dangerous command only after it is approved, and not at all when rejected', async () => {
    const command = 'rm -rf build && touch approved-marker'
    const agent = agentRuns(command)
    const wait = await openApproval('rm -rf build')
    expect(wait.message).toContain('"command": "rm -rf build && touch approved-marker"')
    expect(existsSync(join(work, 'approved-marker'))).toBe(false)
    await vote(wait.id, 'approve')
    const hook = await agent
    expect(hook.code).toBe(0)
    expect(JSON.parse(hook.stdout).hookSpecificOutput.permissionDecision).toBe('allow')
    expect(existsSync(join(work, 'approved-marker'))).toBe(true)

    const denied = agentRuns('git push --force && touch pushed-marker')
    await vote((await openApproval('git push --force')).id, 'reject', 'not on main')
    const blocked = await denied
    expect(blocked.code).toBe(2)
    expect(blocked.stderr).toContain('not on main')
    expect(existsSync(join(work, 'pushed-marker'))).toBe(false)
  })
})

describe('the built-in flow greenlight_request', () => {
  it('is stored as its source says, released and live', async () => {
    const { body } = await api(server, 'GET', '/api/v1/flows/greenlight_request')
    const flow = (body.data as Json).flow
    // Version 1 (migration 0011), then 2 with the edit input (0013): the live one is the source in the code.
    expect(flow.live_version).toBe(2)
    expect(flow.versions.map((v: Json) => v.version).sort()).toEqual([1, 2])
    expect(flow.shown.source).toBe(REQUEST_FLOW_SOURCE)
    const validated = validateFlowSource(REQUEST_FLOW_SOURCE, 'request')
    expect(validated.ok && JSON.parse(JSON.stringify(validated.flow))).toEqual(flow.shown.definition)
  })

  it('fails a run started directly with approvers it cannot use, rather than asking anyone', async () => {
    const started = await api(server, 'POST', '/api/v1/runs', {
      flow: 'greenlight_request',
      inputs: { title: 'Sneaky', approvers: { users: 'U0ANN' }, required: 0 },
    })
    expect(started.status).toBe(201)
    const id = (started.body.data as Json).run.id
    const ended = await api(server, 'GET', `/api/v1/runs/${id}?settle=ended&timeout_ms=10000&view=brief`)
    expect((ended.body.data as Json).run).toMatchObject({ status: 'failed', error: { code: 'invalid_request' } })
    expect((ended.body.data as Json).run.error.message).toMatch(/approvers\.users.*required/)
  })

  it('is refused by push, release and promote', async () => {
    const push = await api(server, 'POST', '/api/v1/flows', { source: REQUEST_FLOW_SOURCE.replace('1h', '2h') })
    expect(push.status).toBe(409)
    expect(push.body.error?.code).toBe('builtin_flow')
    for (const path of ['release', 'promote']) {
      const res = await api(server, 'POST', `/api/v1/flows/greenlight_request/${path}`, { version: 1 })
      expect(res.status).toBe(409)
      expect(res.body.error?.code).toBe('builtin_flow')
    }
    const show = await api(server, 'GET', '/api/v1/flows/greenlight_request')
    expect((show.body.data as Json).flow).toMatchObject({ draft_revision: 2, live_version: 2 })
  })
})
