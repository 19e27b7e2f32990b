// docs/tutorial.md, followed step by step: its blocks run through the real CLI against a fresh server, then the runs
// are checked against what the tutorial says happened (changes requested, rejected, retried, approved, applied).
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../support/cli.ts'
import { type DocRun, type DocSandbox, describeFailure, readDoc, runDoc, startDocSandbox } from '../support/doc-test.ts'
import { eventually, type Json, runEvents, showRun } from '../support/runs.ts'
import { api } from '../support/server.ts'
import { startSshd, type TestSshd } from '../support/sshd.ts'

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function approvalsOf(sandbox: DocSandbox, run: string): Promise<Json[]> {
  const res = await api(sandbox, 'GET', `/api/v1/waits?run=${run}&kind=approval&status=all`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  const waits = (res.body.data as Json).waits as Json[]
  return [...waits].sort((a, b) => a.visit - b.visit)
}

describe('docs/tutorial.md', () => {
  let sandbox: DocSandbox
  let run: DocRun

  beforeAll(async () => {
    sandbox = await startDocSandbox({ AGENT_PORT: String(await freePort()) })
    run = await runDoc(readDoc('docs/tutorial.md').blocks, { cwd: sandbox.cwd, env: sandbox.env, timeoutMs: 150_000 })
  }, 180_000)
  afterAll(async () => {
    await sandbox?.close()
  })

  it('runs every runnable block, in order, through the CLI', () => {
    expect(run.code, describeFailure('docs/tutorial.md', run)).toBe(0)
  })

  it('ends with one run that succeeded after three reviews: changes requested, rejected, then approved by both', async () => {
    const listed = await api(sandbox, 'GET', '/api/v1/runs?flow=first_agent')
    const runs = (listed.body.data as Json).runs as Json[]
    expect(runs).toHaveLength(1)
    const id = runs[0].id
    expect((await showRun(sandbox, id)).run.status).toBe('succeeded')

    const reviews = await approvalsOf(sandbox, id)
    expect(reviews.map((w) => w.result?.decision)).toEqual(['changes_requested', 'rejected', 'approved'])
    const votes = reviews.map((w) => (w.votes as Json[]).map((v) => `${v.user}:${v.decision}`))
    expect(votes).toEqual([
      ['U0ANN:request_changes'],
      ['U0ANN:approve', 'U0BOB:reject'],
      ['U0ANN:approve', 'U0BOB:approve'],
    ])
    // Each round reviewed a new diff from the agent, and the second carries Ann's comment.
    const diffs = reviews.map((w) => w.digest)
    expect(new Set(diffs).size).toBe(3)
    expect(reviews[1].message).toContain('Also link the runbook')

    // The retry started over at start_agent: the run failed on the rejection, then went on from there.
    const events = await runEvents(sandbox, id)
    const types = events.map((e) => e.type as string)
    expect(types).toContain('run.retried')
    const failedAt = types.indexOf('run.failed')
    expect(failedAt).toBeGreaterThan(0)
    expect(events[failedAt].data?.error?.code ?? JSON.stringify(events[failedAt])).toContain('approval_rejected')
  })

  it('applied exactly the diff the two reviewers approved, once', async () => {
    const applied = readFileSync(join(sandbox.cwd, 'applied.diff'), 'utf8')
    const listed = await api(sandbox, 'GET', '/api/v1/runs?flow=first_agent')
    const id = ((listed.body.data as Json).runs as Json[])[0].id
    const approved = (await approvalsOf(sandbox, id)).at(-1)
    const sha = String(approved.diff).replace(/^res:\/\//, '')
    const diff = await fetch(`${sandbox.url}/api/v1/resources/${sha}`, {
      headers: { authorization: `Bearer ${sandbox.token}` },
    })
    expect(diff.status).toBe(200)
    expect(applied).toBe(await diff.text())
    expect(applied).toContain('The runbook link is wrong (asked in review)')
    // The agent worked three times (first task, Ann's change request, the retry) and applied once.
    const log = readFileSync(join(sandbox.cwd, 'agent.log'), 'utf8')
    expect(log.match(/^agent: task /gm)).toHaveLength(3)
    expect(log.match(/^agent: applied /gm)).toHaveLength(1)
  })

  it('prints what the tutorial says it prints', () => {
    expect(run.output).toContain('local-admin')
    expect(run.output).toMatch(/^failed\napproval_rejected$/m)
    expect(run.output).toMatch(/^Retry from a step before it.*--from /m)
    expect(run.output).toMatch(/^succeeded$/m)
    expect(run.output).toMatch(/^true$/m)
  })
})

describe('docs/tutorial.md, the SSH variant', () => {
  let sandbox: DocSandbox
  let sshd: TestSshd
  let workdir: string

  beforeAll(async () => {
    sshd = await startSshd()
    sandbox = await startDocSandbox()
    workdir = mkdtempSync(join(tmpdir(), 'greenlight-tutorial-vm-'))
    copyFileSync(join(ROOT, 'examples', 'agents', 'first-agent.sh'), join(workdir, 'first-agent.sh'))
  }, 60_000)
  afterAll(async () => {
    await sandbox?.close()
    await sshd?.stop()
    if (workdir) rmSync(workdir, { recursive: true, force: true })
  })

  const cli = async (args: string[], options: { env?: Record<string, string>; input?: string } = {}) => {
    const res = await runCli(args, {
      cwd: sandbox.cwd,
      env: { ...sandbox.env, ...options.env },
      ...(options.input === undefined ? {} : { input: options.input }),
    })
    expect(res.code, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    return res.json
  }

  it('starts the shell agent over ssh with the callback URL in its env, and applies the approved patch over ssh', async () => {
    // The tutorial's skipped block, with a local sshd standing in for vm.internal.
    await cli(['secrets', 'set', 'agent_vm_key'], { input: sshd.privateKey })
    await cli([
      'connections',
      'set',
      'agent_vm',
      '--type',
      'ssh',
      '--host',
      sshd.host,
      '--port',
      String(sshd.port),
      '--user',
      sshd.user,
      '--key-secret',
      'agent_vm_key',
      '--host-key',
      sshd.hostKeyFingerprint,
    ])
    await cli(['flows', 'push', 'examples/flows/first-agent-ssh.yaml'])
    await cli(['flows', 'release', 'first_agent_ssh'])
    const started = await cli([
      'runs',
      'start',
      'first_agent_ssh',
      'task=Document the retry policy',
      `workdir=${workdir}`,
      '--wait',
    ])
    const id = started.data.run.id as string
    const wait = await eventually(
      async () => {
        const shown = await showRun(sandbox, id)
        if (['failed', 'timed_out', 'canceled'].includes(shown.run.status)) throw new Error(JSON.stringify(shown.run))
        return shown.run.waiting_on?.step === 'review' ? (shown.run.waiting_on.wait_id as string) : undefined
      },
      () =>
        `the review of ${id}; agent.log: ${existsSync(join(workdir, 'agent.log')) ? readFileSync(join(workdir, 'agent.log'), 'utf8') : '(none)'}`,
      30_000,
    )
    for (const [name, user] of [
      ['ann', 'U0ANN'],
      ['bob', 'U0BOB'],
    ] as const) {
      const token = await cli(['tokens', 'create', '--name', name, '--scope', 'approvals:decide', '--as', user])
      await cli(['waits', 'approve', wait, '--comment', 'ok'], { env: { GREENLIGHT_TOKEN: token.data.token.secret } })
    }
    const ended = await cli(['runs', 'wait', id, '--timeout', '30s'])
    expect(ended.data.run.status).toBe('succeeded')
    const applied = readFileSync(join(workdir, 'applied.diff'), 'utf8')
    expect(applied).toBe('--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1 +1,2 @@\n # Notes\n+- Document the retry policy\n')
  }, 90_000)
})
