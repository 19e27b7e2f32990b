// The coding-agent example flow end to end on a real sshd: the ssh step starts run-agent.sh detached, the agent
// heartbeats, the server is SIGKILLed and restarted while it works, the agent posts its diff, two seniors approve
// through the CLI (tokens created --as them), the merge PUT reaches a local "GitHub" once, and the run succeeds.
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, spawnServe, stopChild } from '../support/cli.ts'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { eventually, type Json } from '../support/runs.ts'
import { startSshd, type TestSshd } from '../support/sshd.ts'

const CHANNEL = 'C0ENGBOTS'

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

describe('agent_fix example flow', () => {
  let sshd: TestSshd
  let fake: FakeSlack
  let github: HttpTarget
  let serve: ChildProcess | undefined
  let dir: string
  let serveEnv: Record<string, string>
  let env: Record<string, string>

  async function startServe(): Promise<void> {
    serve = (await spawnServe({ env: serveEnv })).child
  }

  const cli = async (args: string[], extra: Record<string, string> = {}, input?: string) => {
    const out = await runCli(args, { env: { ...env, ...extra }, ...(input === undefined ? {} : { input }) })
    return out
  }

  beforeAll(async () => {
    sshd = await startSshd()
    github = await startHttpTarget()
    fake = await createFakeSlack({
      users: ['U0ALICE', 'U0BOB', 'U0ONCALL', 'U0DEV'].map((id) => ({ id, name: id.toLowerCase() })),
      usergroups: { S0SENIORS: ['U0ALICE', 'U0BOB'], S0ENG: ['U0DEV'] },
      channels: { [CHANNEL]: { name: 'eng-bots', members: ['U0ALICE', 'U0BOB', 'U0ONCALL', 'U0DEV'] } },
    })
    dir = mkdtempSync(join(tmpdir(), 'greenlight-agent-e2e-'))
    const port = await freePort()
    // A fixed port and PUBLIC_URL: the callback URL the agent holds must still work after the restart.
    serveEnv = {
      GREENLIGHT_DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      GREENLIGHT_LEASE_MS: '1500',
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: 'xoxb-agent',
      SLACK_SIGNING_SECRET: 'agent-signing',
      SLACK_API_URL: fake.apiUrl,
    }
    env = { GREENLIGHT_URL: `http://127.0.0.1:${port}`, GREENLIGHT_DATA_DIR: join(dir, 'data') }
    await startServe()
  }, 30_000)
  afterAll(async () => {
    if (serve) await stopChild(serve, 'SIGKILL')
    await github?.close()
    await fake?.close()
    await sshd?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('runs, survives a restart while the agent works, is approved, merges once and succeeds', async () => {
    // The build VM: the agent's scripts in their working directory, held mid-work by a gate file.
    const agentDir = join(sshd.dir, 'agent')
    mkdirSync(agentDir)
    for (const f of ['run-agent.sh', 'fake-agent.sh'])
      copyFileSync(join(ROOT, 'examples', 'agents', f), join(agentDir, f))
    writeFileSync(join(agentDir, 'gate'), '')

    expect((await cli(['secrets', 'set', 'build_vm_key'], {}, sshd.privateKey)).code).toBe(0)
    expect((await cli(['secrets', 'set', 'github_token'], {}, 'ghp_e2e_token_123456')).code).toBe(0)
    expect((await cli(['secrets', 'set', 'github_webhook'], {}, 'whsec_e2e')).code).toBe(0)
    const vm = await cli([
      'connections',
      'set',
      'build_vm',
      '--type',
      'ssh',
      '--host',
      sshd.host,
      '--port',
      String(sshd.port),
      '--user',
      sshd.user,
      '--key-secret',
      'build_vm_key',
      '--host-key',
      sshd.hostKeyFingerprint,
    ])
    expect(vm.code, vm.stdout).toBe(0)
    const gh = await cli([
      'connections',
      'set',
      'github',
      '--type',
      'http',
      '--base-url',
      github.url,
      '--bearer-secret',
      'github_token',
    ])
    expect(gh.code, gh.stdout).toBe(0)

    // The example as shipped, but with the agent's directory on this test's "VM".
    const source = readFileSync(join(ROOT, 'examples', 'flows', 'agent-fix.yaml'), 'utf8')
    expect(source).toContain('cwd: /srv/agent')
    const flowFile = join(dir, 'agent-fix.yaml')
    writeFileSync(flowFile, source.replace('cwd: /srv/agent', `cwd: ${agentDir}`))
    expect((await cli(['flows', 'push', flowFile])).code).toBe(0)
    const released = await cli(['flows', 'release', 'agent_fix'])
    expect(released.code, released.stdout).toBe(0)

    const started = await cli(['runs', 'start', 'agent_fix', 'repo=acme/api', 'issue=42', '--wait'])
    expect(started.code, started.stdout).toBe(0)
    const runId = started.json.data.run.id as string
    expect(started.json.data.run.status).toBe('waiting')
    expect(started.json.data.run.waiting_on.step).toBe('agent_done')

    // The agent is alive and said so; now the server dies while it works.
    await eventually(async () => {
      const events = (await cli(['runs', 'events', runId])).json.data.events as Json[]
      return events.some((e) => e.type === 'wait.heartbeat' && String(e.data.progress).includes('acme/api#42'))
        ? true
        : undefined
    }, 'the agent heartbeat')
    if (serve) await stopChild(serve, 'SIGKILL')
    await startServe()
    writeFileSync(join(agentDir, 'go'), '')

    const approval = await eventually(
      async () => {
        const shown = await cli(['runs', 'show', runId])
        return shown.json.data.run.waiting_on?.kind === 'approval' ? shown.json.data : undefined
      },
      'the run to reach the approval',
      30_000,
    )
    expect(approval.steps.find((s: Json) => s.step === 'agent_done').output.pr).toBe(17)
    const waitId = approval.run.waiting_on.wait_id as string

    for (const user of ['U0ALICE', 'U0BOB']) {
      const token = await cli([
        'tokens',
        'create',
        '--name',
        `senior-${user}`,
        '--scope',
        'approvals:decide',
        '--as',
        user,
      ])
      expect(token.code, token.stdout).toBe(0)
      const vote = await cli(['waits', 'approve', waitId, '--comment', 'LGTM'], {
        GREENLIGHT_TOKEN: token.json.data.token.secret,
      })
      expect(vote.code, vote.stdout).toBe(0)
    }
    const ended = await eventually(async () => {
      const shown = await cli(['runs', 'show', runId])
      return ['succeeded', 'failed'].includes(shown.json.data.run.status) ? shown.json.data : undefined
    }, 'the run to end')
    expect(ended.run.status, JSON.stringify(ended.run.error)).toBe('succeeded')

    // The agent started once (the ssh step did not run again after the restart), and merged once.
    const merges = github.requests.filter((r) => r.method === 'PUT')
    expect(merges).toHaveLength(1)
    expect(merges[0]?.path).toBe('/repos/acme/api/pulls/17/merge')
    expect(merges[0]?.headers.authorization).toBe('Bearer ghp_e2e_token_123456')
    expect(JSON.parse(merges[0]?.body ?? '{}')).toEqual({ merge_method: 'squash', commit_title: 'Fix #42' })
    const events = (await cli(['runs', 'events', runId])).json.data.events as Json[]
    expect(events.filter((e) => e.type === 'step.succeeded' && e.step === 'start_agent')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'wait.completed')).toHaveLength(1)
    expect((await cli(['audit', 'verify', runId])).json.data.audit.ok).toBe(true)
    // The thread shows the agent's progress and the announcement. A reply in flight when the server was killed
    // holds the run's outbox lane until its 60 s claim expires, and the thread is read once the last reply is in.
    const thread = await fake.waitFor((f) => {
      const text = JSON.stringify(f.messages(CHANNEL, { includeReplies: true }))
      return text.includes('Merged acme/api#42') ? text : undefined
    }, 75_000)
    expect(thread).toContain('Agent started on acme/api#42')
  }, 180_000)
})
