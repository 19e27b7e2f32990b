// Two real `greenlight serve` processes on one database and a schedule that ticks every second: each tick is fired
// by one of them and starts exactly one run.
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnServe, stopChild } from '../support/cli.ts'
import { eventually, type Json, pushRelease } from '../support/runs.ts'
import { api } from '../support/server.ts'

const FLOW = `slug: every_second
triggers:
  schedule: { cron: "* * * * * *", timezone: UTC }
steps:
  - id: note
    transform: "{{ run.initiator }}"
`

describe('schedule ticks across processes', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'greenlight-ticks-'))
  const env = {
    GREENLIGHT_SECRET_KEY: randomBytes(32).toString('base64'),
    // Short claims: a tick held up in one process is soon claimable by the other, so the tick record is what
    // keeps it to one run.
    GREENLIGHT_LEASE_MS: '1000',
    PORT: '0',
    LOG_LEVEL: 'error',
  }
  const children: ChildProcess[] = []

  afterAll(async () => {
    for (const child of children) await stopChild(child)
    rmSync(cwd, { recursive: true, force: true })
  })

  it('fires each tick once, with one run per tick', async () => {
    const a = await spawnServe({ cwd, env })
    children.push(a.child)
    const b = await spawnServe({ cwd, env })
    children.push(b.child)
    const token = readFileSync(join(cwd, 'data', 'cli-token'), 'utf8').trim()
    const server = { url: a.url, token }
    await pushRelease(server, FLOW)

    await eventually(async () => {
      const listed = await api(server, 'GET', '/api/v1/runs?flow=every_second&limit=200')
      return ((listed.body.data as Json).runs as Json[]).length >= 5 ? true : undefined
    }, '5 scheduled runs')
    // A version without the schedule stops the ticks; then nothing moves any more.
    await pushRelease({ url: b.url, token }, FLOW.replace(/triggers:\n.*\n/, ''))
    await Promise.all(children.map((child) => stopChild(child)))

    const db = createClient({ url: `file:${join(cwd, 'data', 'greenlight.db')}` })
    try {
      const ticks = (await db.execute("SELECT tick_at, run_id FROM schedule_ticks WHERE flow_slug = 'every_second'"))
        .rows
      const runs = (
        await db.execute("SELECT id, initiator, trigger, status FROM runs WHERE flow_slug = 'every_second'")
      ).rows
      const started = (
        await db.execute(
          "SELECT e.run_id, e.data FROM run_events e JOIN runs r ON r.id = e.run_id WHERE r.flow_slug = 'every_second' AND e.type = 'run.started'",
        )
      ).rows
      expect(runs.length).toBeGreaterThanOrEqual(5)
      for (const run of runs) expect(run).toMatchObject({ initiator: 'schedule:every_second', trigger: 'schedule' })
      // Each run belongs to one tick record, and each tick record to at most one run.
      const tickRuns = ticks.map((t) => t.run_id).filter((id) => id !== null)
      expect(new Set(tickRuns).size).toBe(tickRuns.length)
      expect([...tickRuns].sort()).toEqual(runs.map((r) => r.id).sort())
      // Each run says which tick it is for; no tick appears twice, and each is a whole second.
      const tickTimes = started.map((e) => JSON.parse(String(e.data)).trigger_details.tick_at as string)
      expect(new Set(tickTimes).size).toBe(tickTimes.length)
      for (const at of tickTimes) expect(at).toMatch(/T\d\d:\d\d:\d\d\.000Z$/)
    } finally {
      db.close()
    }
  })
})
