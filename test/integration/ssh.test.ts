// The ssh step against a real OpenSSH server: sync commands, exit codes, timeouts, host key pinning, detached agents.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Json, pushRelease, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'
import { startSshd, type TestSshd } from '../support/sshd.ts'

const OTHER_FINGERPRINT = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

function flow(slug: string, steps: string, connection = 'vm', inputs = ''): string {
  return `slug: ${slug}\nname: ${slug}\n${inputs}requires: { connections: [${connection}] }\nsteps:\n${steps}`
}

describe('ssh step', () => {
  let server: TestServer
  let sshd: TestSshd

  async function start(slug: string, inputs: Record<string, unknown> = {}): Promise<string> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: slug, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run.id
  }

  async function setConnection(name: string, config: Record<string, unknown>): Promise<void> {
    const res = await api(server, 'PUT', `/api/v1/connections/${name}`, {
      type: 'ssh',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      private_key_secret: 'vm_key',
      ...config,
    })
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300)
  }

  beforeAll(async () => {
    sshd = await startSshd()
    server = await startTestServer()
    expect((await api(server, 'PUT', '/api/v1/secrets/vm_key', { value: sshd.privateKey })).status).toBe(201)
    await setConnection('vm', { host_key: sshd.hostKeyFingerprint })
  }, 30_000)
  afterAll(async () => {
    await server?.close()
    await sshd?.stop()
  })

  it('runs a command and returns exit code, stdout, stderr; env and cwd arrive shell-quoted', async () => {
    const tricky = `it's "quoted" $HOME; \`id\` \\ done`
    await pushRelease(
      server,
      flow(
        'ssh_sync',
        `  - id: hello
    ssh:
      connection: vm
      cwd: /tmp
      command: 'sleep 1.2; printf "%s|%s|%s" "$GREETING" "$N" "$(pwd)"; echo oops >&2'
      env: { GREETING: "{{ inputs.greeting }}", N: 42 }
`,
        'vm',
        'inputs: { greeting: { type: string, required: true } }\n',
      ),
    )
    const id = await start('ssh_sync', { greeting: tricky })
    const done = await runReaches(server, id, ['succeeded', 'failed'])
    expect(done.run.status, JSON.stringify(done)).toBe('succeeded')
    const output = done.steps[0].output
    expect(output.exit_code).toBe(0)
    expect(output.stdout).toBe(`${tricky}|42|/tmp`)
    expect(output.stderr).toBe('oops\n')
    // The command sleeps 1.2 s: the duration covers it (connecting alone takes well under that), with a generous ceiling.
    expect(output.duration_ms).toBeGreaterThanOrEqual(1200)
    expect(output.duration_ms).toBeLessThan(15_000)
  })

  it('fails on an exit code outside ok_exit_codes, and accepts one inside', async () => {
    await pushRelease(
      server,
      flow(
        'ssh_exit',
        `  - id: bad
    ssh: { connection: vm, command: "echo partial; exit 3" }
`,
      ),
    )
    const failed = await runReaches(server, await start('ssh_exit'), ['succeeded', 'failed'])
    expect(failed.run.status).toBe('failed')
    expect(failed.run.error.code).toBe('ssh_exit_code')
    expect(failed.run.error.message).toContain('exited with 3')

    await pushRelease(
      server,
      flow(
        'ssh_exit_ok',
        `  - id: fine
    ssh: { connection: vm, command: "exit 3", ok_exit_codes: [0, 3] }
`,
      ),
    )
    const ok = await runReaches(server, await start('ssh_exit_ok'), ['succeeded', 'failed'])
    expect(ok.run.status).toBe('succeeded')
    expect(ok.steps[0].output.exit_code).toBe(3)
  })

  it('kills a command that outlives its timeout', async () => {
    await pushRelease(
      server,
      flow(
        'ssh_timeout',
        `  - id: slow
    ssh: { connection: vm, command: "echo started; sleep 30 & echo $! > ${sshd.dir}/child.pid; wait", timeout: 1s }
`,
      ),
    )
    const began = Date.now()
    const done = await runReaches(server, await start('ssh_timeout'), ['succeeded', 'failed'])
    expect(done.run.status).toBe('failed')
    expect(done.run.error.code).toBe('ssh_timeout')
    expect(done.run.error.details.output.stdout).toBe('started\n')
    expect(done.run.error.details.output.stderr).toBe('')
    expect(Date.now() - began).toBeLessThan(10_000)
    // The command's children die with it: the whole process group is killed, not only the shell.
    const child = Number(readFileSync(`${sshd.dir}/child.pid`, 'utf8'))
    const alive = () => {
      try {
        process.kill(child, 0)
        return true
      } catch {
        return false
      }
    }
    await eventually(async () => (alive() ? undefined : true), `remote child ${child} to be killed`, 5000)
  })

  it('turns a large stdout into a res:// resource', async () => {
    await pushRelease(
      server,
      flow(
        'ssh_large',
        `  - id: big
    ssh: { connection: vm, command: "head -c 400000 /dev/zero | tr '\\\\0' a" }
`,
      ),
    )
    const done = await runReaches(server, await start('ssh_large'), ['succeeded', 'failed'])
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    const ref = done.steps[0].output.stdout as string
    expect(ref).toMatch(/^res:\/\/[0-9a-f]{64}$/)
    const res = await fetch(`${server.url}/api/v1/resources/${ref.slice('res://'.length)}`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    expect(res.status).toBe(200)
    expect((await res.text()).length).toBe(400_000)
  })

  it('refuses a host whose key does not match the pin, and one with no pin, naming the fingerprint seen', async () => {
    await setConnection('wrong_pin', { host_key: OTHER_FINGERPRINT })
    await setConnection('no_pin', {})
    for (const [connection, code] of [
      ['wrong_pin', 'ssh_host_key_mismatch'],
      ['no_pin', 'ssh_host_key_unpinned'],
    ] as const) {
      const slug = `ssh_${connection}`
      await pushRelease(
        server,
        flow(
          slug,
          `  - id: touch
    ssh: { connection: ${connection}, command: "touch ${sshd.dir}/${connection}-ran" }
    retry: { attempts: 3, backoff: 10ms }
`,
          connection,
        ),
      )
      const done = await runReaches(server, await start(slug), ['succeeded', 'failed'])
      expect(done.run.status).toBe('failed')
      expect(done.run.error.code).toBe(code)
      expect(done.run.error.message).toContain(sshd.hostKeyFingerprint)
      // Terminal: a wrong key is not retried.
      expect(done.steps[0].attempt).toBe(1)
    }
    const { existsSync } = await import('node:fs')
    expect(existsSync(`${sshd.dir}/wrong_pin-ran`)).toBe(false)
    expect(existsSync(`${sshd.dir}/no_pin-ran`)).toBe(false)
  })

  it('starts a detached command that outlives the session and later POSTs to its callback URL', async () => {
    await pushRelease(
      server,
      flow(
        'ssh_detach',
        `  - id: launch
    ssh:
      connection: vm
      detach: true
      command: 'sleep 3; curl -s -X POST -H "content-type: application/json" --data "{\\"pid\\": $$}" "$CALLBACK_URL" > ${sshd.dir}/curl.out'
      env: { CALLBACK_URL: "{{ callbacks.done.url }}" }
  - id: done
    wait: { timeout: 1m }
`,
      ),
    )
    const id = await start('ssh_detach')
    const parked = await runReaches(server, id, ['waiting', 'failed', 'succeeded'])
    expect(parked.run.status, JSON.stringify(parked.run.error)).toBe('waiting')
    const launch = parked.steps.find((s: Json) => s.step === 'launch')
    expect(launch.output.detached).toBe(true)
    expect(launch.output.pid).toBeGreaterThan(0)
    // It returned at once, long before the command's sleep ended.
    expect(launch.output.duration_ms).toBeLessThan(3000)
    const done = await runReaches(server, id, ['succeeded', 'failed'], 20_000)
    expect(done.run.status).toBe('succeeded')
    const waited = done.steps.find((s: Json) => s.step === 'done')
    expect(waited.output.pid).toBeGreaterThan(0)
    expect((await showRun(server, id)).run.status).toBe('succeeded')
  })
})
