// `greenlight backup` against a running `greenlight serve` while callbacks complete its runs: the server takes the
// copy (VACUUM INTO, online) and sends it, and a server started on the copy finds every run with a chain that verifies.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createBackups } from '../../src/store/backup.ts'
import { callServe as call, runCli, spawnServe, stopChild } from '../support/cli.ts'
import { eventually, type Json } from '../support/runs.ts'

const AGENT_FLOW = `slug: bk_agent
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: {}
  - id: finish
    transform: "{{ steps.agent.output.summary }}"
`
const RUNS = 24

const dirs: string[] = []
const children: Awaited<ReturnType<typeof spawnServe>>['child'][] = []
afterAll(async () => {
  for (const child of children) await stopChild(child, 'SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('greenlight backup', () => {
  it('copies a server busy with callbacks into a database whose every run verifies', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gl-backup-'))
    dirs.push(cwd)
    const served = await spawnServe({ cwd, env: { GREENLIGHT_DATA_DIR: join(cwd, 'data'), PORT: '0' } })
    children.push(served.child)
    const { url } = served
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    const cli = (args: string[], at = url) =>
      runCli(args, { cwd, env: { GREENLIGHT_URL: at, GREENLIGHT_TOKEN: token } })
    expect((await call(url, token, 'POST', '/api/v1/flows', { source: AGENT_FLOW })).status).toBe(201)
    expect((await call(url, token, 'POST', '/api/v1/flows/bk_agent/release', {})).status).toBe(201)
    const callbackUrls: string[] = []
    for (let i = 0; i < RUNS; i++) {
      const run = (await call(url, token, 'POST', '/api/v1/runs', { flow: 'bk_agent', wait: true })).data.run
      expect(run.status).toBe('waiting')
      const shown = (await call(url, token, 'GET', `/api/v1/runs/${run.id}`)).data
      callbackUrls.push(shown.steps.find((s: Json) => s.step === 'hand_out').output)
    }

    // Callbacks keep arriving, one every 150 ms (the load lasts longer than the CLI takes to start), while the server writes the backup.
    let sent = 0
    const load = (async () => {
      while (sent < callbackUrls.length) {
        const batch = callbackUrls.slice(sent, sent + 1)
        sent += batch.length
        const answers = await Promise.all(
          batch.map((to, i) =>
            fetch(to, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ summary: `done ${sent + i}`, padding: 'x'.repeat(20_000) }),
            }),
          ),
        )
        for (const answer of answers) expect(answer.status).toBeLessThan(300)
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const backup = await cli(['backup', 'copy.db'])
    const inFlight = sent
    await load
    expect(backup.code, backup.stdout).toBe(0)
    expect(backup.json.data.backup).toMatchObject({ file: join(cwd, 'copy.db') })
    expect(backup.json.data.backup.bytes).toBe(statSync(join(cwd, 'copy.db')).size)
    expect(inFlight, 'the backup ran while callbacks arrived').toBeLessThan(RUNS)
    expect(inFlight).toBeGreaterThan(0)
    // The server kept no copy: its temporary file is gone once sent.
    expect(readdirSync(join(cwd, 'data', 'backups'))).toEqual([])

    // Never over an existing file, never into a missing directory; nothing is left behind.
    const again = await cli(['backup', 'copy.db'])
    expect(again.code).toBe(1)
    expect(again.json.error.code).toBe('backup_exists')
    const nowhere = await cli(['backup', 'no/such/dir/copy.db'])
    expect(nowhere.json.error.code).toBe('invalid_path')
    expect(existsSync(join(cwd, 'no'))).toBe(false)
    const withFields = await call(url, token, 'POST', '/api/v1/admin/backup', { path: '/etc/copy.db' })
    expect(withFields.status).toBe(400)
    expect(existsSync('/etc/copy.db')).toBe(false)
    expect(readdirSync(cwd).filter((name) => name.endsWith('.partial'))).toEqual([])

    // A server on the copy (the same secret key) has every run, each chain intact.
    const restored = mkdtempSync(join(tmpdir(), 'gl-restored-'))
    dirs.push(restored)
    const secretKey = readFileSync(join(cwd, 'data', 'secret.key'), 'utf8').trim()
    const copy = await spawnServe({
      cwd: restored,
      env: {
        GREENLIGHT_DATA_DIR: join(restored, 'data'),
        DATABASE_URL: `file:${join(cwd, 'copy.db')}`,
        GREENLIGHT_SECRET_KEY: secretKey,
        PORT: '0',
      },
    })
    children.push(copy.child)
    const copyToken = readFileSync(join(restored, 'data', 'cli-token'), 'utf8').trim()
    const runs = (await call(copy.url, copyToken, 'GET', '/api/v1/runs?flow=bk_agent&limit=200')).data.runs as Json[]
    expect(runs).toHaveLength(RUNS)
    for (const run of runs) {
      const audit = (await call(copy.url, copyToken, 'GET', `/api/v1/runs/${run.id}/audit`)).data.audit
      expect(audit, run.id).toMatchObject({ status: 'ok', ok: true })
    }
    await eventually(
      async () =>
        ((await call(url, token, 'GET', '/api/v1/runs?flow=bk_agent&status=succeeded&limit=200')).data.runs as Json[])
          .length === RUNS
          ? true
          : undefined,
      'the original server to finish every run',
    )
  })

  it('says what to do instead for a database on a remote libSQL server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-backup-remote-'))
    dirs.push(dir)
    const backups = createBackups('http://127.0.0.1:8080', dir)
    await expect(backups.backup()).rejects.toMatchObject({
      code: 'backup_unsupported',
      hint: expect.stringContaining('snapshot'),
    })
    expect(existsSync(join(dir, 'backups'))).toBe(false)
  })
})
