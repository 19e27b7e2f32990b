// Retention and backup on a real libSQL server (sqld), as several machines would run Greenlight: a prune removes an
// old run and leaves its ledger row, and `greenlight backup` says to back the server up where it lives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { testClock } from '../support/clock.ts'
import { type Json, pushRelease } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'
import { startSqld, type TestSqld } from '../support/sqld.ts'

const FLOW = `slug: rs_quick
steps:
  - id: done
    transform: "{{ 'done' }}"
  - id: agent
    wait: {}
`

describe('retention on sqld', () => {
  const clock = testClock('2026-03-01T10:00:00Z')
  let sqld: TestSqld
  let server: TestServer
  beforeAll(async () => {
    sqld = await startSqld()
    server = await startTestServer({ DATABASE_URL: sqld.url }, { clock })
    await pushRelease(server, FLOW)
  })
  afterAll(async () => {
    await server?.close()
    await sqld?.stop()
  })
  const cli = (args: string[]) => runCli(args, { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token } })

  it('prunes an old ended run, never the parked one, and audit verify says pruned', async () => {
    const start = async () =>
      ((await api(server, 'POST', '/api/v1/runs', { flow: 'rs_quick', wait: true })).body.data as Json).run
    const ended = await start()
    const parked = await start()
    expect(parked.status).toBe('waiting')
    const canceled = await api(server, 'POST', `/api/v1/runs/${ended.id}/cancel`, {})
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200)
    clock.set('2026-07-01T10:00:00Z')
    const pruned = await cli(['prune'])
    expect(pruned.code, pruned.stdout).toBe(0)
    expect(pruned.json.data.prune.counts).toMatchObject({ runs: 1, waits: 1 })
    expect((await api(server, 'GET', `/api/v1/runs/${ended.id}`)).status).toBe(404)
    expect(((await api(server, 'GET', `/api/v1/runs/${parked.id}`)).body.data as Json).run.status).toBe('waiting')
    const audit = await cli(['audit', 'verify', ended.id])
    expect(audit.json.data.audit).toMatchObject({ status: 'pruned', pruned: { run_status: 'canceled' } })
  })

  it('refuses a backup with where to take it instead', async () => {
    const backup = await cli(['backup', '/tmp/greenlight-never.db'])
    expect(backup.code).toBe(1)
    expect(backup.json.error).toMatchObject({ code: 'backup_unsupported' })
    expect(backup.json.error.hint).toContain('sqld')
  })
})
