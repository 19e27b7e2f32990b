// Pruning across real `greenlight serve` processes on one database file: a prune killed (SIGKILL) between batches
// leaves a consistent database that a second prune finishes, and two instances never prune at once. Batches are made
// slow with GREENLIGHT_PRUNE_PAUSE_MS (a pause between batches) and --batch-size 1, so a kill lands mid-prune.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Native from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { callServe as call, runCli, spawnServe, stopChild } from '../support/cli.ts'
import { eventually, type Json } from '../support/runs.ts'

const QUICK_FLOW = `slug: pp_quick
steps:
  - id: done
    transform: "{{ 'done ' & run.id }}"
`
const WAIT_FLOW = `slug: pp_wait
steps:
  - id: agent
    wait: {}
`

const dirs: string[] = []
const children: Awaited<ReturnType<typeof spawnServe>>['child'][] = []
afterAll(async () => {
  for (const child of children) await stopChild(child, 'SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A data directory with released flows, `count` ended runs and one parked run, all older than the 1 s retention. */
async function setUp(count: number) {
  const cwd = mkdtempSync(join(tmpdir(), 'gl-prune-proc-'))
  dirs.push(cwd)
  const env = {
    GREENLIGHT_DATA_DIR: join(cwd, 'data'),
    PORT: '0',
    GREENLIGHT_RETENTION: '1s',
    GREENLIGHT_PRUNE_PAUSE_MS: '150',
    GREENLIGHT_LEASE_MS: '1000',
  }
  const serve = async () => {
    const started = await spawnServe({ cwd, env })
    children.push(started.child)
    return started
  }
  const first = await serve()
  const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
  for (const [flow, slug] of [
    [QUICK_FLOW, 'pp_quick'],
    [WAIT_FLOW, 'pp_wait'],
  ] as const) {
    expect((await call(first.url, token, 'POST', '/api/v1/flows', { source: flow })).status).toBe(201)
    expect((await call(first.url, token, 'POST', `/api/v1/flows/${slug}/release`, {})).status).toBe(201)
  }
  const ended: string[] = []
  for (let i = 0; i < count; i++) {
    const started = await call(first.url, token, 'POST', '/api/v1/runs', { flow: 'pp_quick', wait: true })
    expect(started.data.run.status).toBe('succeeded')
    ended.push(started.data.run.id)
  }
  const parked = (await call(first.url, token, 'POST', '/api/v1/runs', { flow: 'pp_wait', wait: true })).data.run.id
  await new Promise((resolve) => setTimeout(resolve, 1_200))
  const cli = (url: string, args: string[]) => runCli(args, { env: { GREENLIGHT_URL: url, GREENLIGHT_TOKEN: token } })
  return { cwd, env, first, token, ended, parked: parked as string, serve, cli }
}

describe('prune across processes', () => {
  it('a prune killed mid-way leaves a consistent database, and the next prune finishes it', async () => {
    const { cwd, first, token, ended, parked, serve, cli } = await setUp(12)
    const pruning = cli(first.url, ['prune', '--batch-size', '1'])
    const left = async () =>
      ((await call(first.url, token, 'GET', '/api/v1/runs?flow=pp_quick&limit=200')).data.runs as Json[]).length
    await eventually(async () => ((await left()) <= 9 ? true : undefined), 'three batches to commit')
    await stopChild(first.child, 'SIGKILL')
    expect((await pruning).code).not.toBe(0)

    const second = await serve()
    const survivors = (
      (await call(second.url, token, 'GET', '/api/v1/runs?flow=pp_quick&limit=200')).data.runs as Json[]
    ).map((r) => r.id as string)
    expect(survivors.length).toBeGreaterThan(0)
    expect(survivors.length).toBeLessThan(12)
    // The dead instance's lease runs out (GREENLIGHT_LEASE_MS); until then a prune is refused as busy.
    const finished = await eventually(async () => {
      const result = await cli(second.url, ['prune'])
      if (result.code === 0) return result.json.data.prune
      expect(result.json.error.code).toBe('prune_busy')
      return undefined
    }, 'the lease of the killed instance to run out')
    expect(finished.counts.runs).toBe(survivors.length)

    for (const id of ended) {
      const audit = (await call(second.url, token, 'GET', `/api/v1/runs/${id}/audit`)).data.audit
      expect(audit, id).toMatchObject({ status: 'pruned', ok: false })
      expect(audit.pruned.last_hash).toMatch(/^hmac-sha256:/)
    }
    const kept = (await call(second.url, token, 'GET', `/api/v1/runs/${parked}/audit`)).data.audit
    expect(kept).toMatchObject({ status: 'ok', ok: true })
    await stopChild(second.child)

    const db = new (Native as unknown as new (path: string) => { prepare(sql: string): Json; close(): void })(
      join(cwd, 'data', 'greenlight.db'),
    )
    try {
      expect(db.prepare('PRAGMA integrity_check').get([])).toMatchObject({ integrity_check: 'ok' })
      db.prepare("INSERT INTO search_index(search_index) VALUES ('integrity-check')").run([])
      for (const table of ['run_events', 'step_runs', 'waits', 'timers', 'outbox', 'resource_runs']) {
        const orphans = db
          .prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id NOT IN (SELECT id FROM runs)`)
          .get([])
        expect(orphans.n, table).toBe(0)
      }
      expect(db.prepare('SELECT count(*) AS n FROM pruned_runs').get([]).n).toBe(12)
      expect(db.prepare('SELECT count(*) AS n FROM maintenance_leases').get([]).n).toBe(0)
    } finally {
      db.close()
    }
  })

  it('two instances on one database never prune at once: one holds the lease, the other is told who does', async () => {
    const { first, ended, serve, cli } = await setUp(6)
    const second = await serve()
    const [a, b] = await Promise.all([
      cli(first.url, ['prune', '--batch-size', '1']),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => cli(second.url, ['prune', '--batch-size', '1'])),
    ])
    const results = [a, b]
    const won = results.filter((r) => r.code === 0)
    const refused = results.filter((r) => r.code !== 0)
    expect(won).toHaveLength(1)
    expect(refused).toHaveLength(1)
    expect(refused[0]?.json.error).toMatchObject({ code: 'prune_busy' })
    expect(refused[0]?.json.error.details.owner).toMatch(/^inst_/)
    expect(won[0]?.json.data.prune.counts.runs).toBe(ended.length)
    // Once the lease is free the other instance may prune; nothing is left.
    const after = await cli(second.url, ['prune'])
    expect(after.code, after.stdout).toBe(0)
    expect(after.json.data.prune.counts.runs).toBe(0)
  })
})
