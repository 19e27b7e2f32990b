// The audit chain against someone who can write the database but not read the secret key, and the audit export file
// checked offline, through a real server, real libSQL files and the real CLI binary.
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { runCli } from '../support/cli.ts'
import { createRandom, fuzzRuns, fuzzSeed } from '../support/fuzz-env.ts'
import { type ApiServer, type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const REVIEW_FLOW = `slug: au_review
steps:
  - id: review
    approval:
      message: "Ship it?"
      approvers: { users: [U0ANN] }
  - id: after
    transform: "{{ steps.review.output.decision }}"
`

const QUICK_FLOW = `slug: au_quick
steps:
  - id: one
    transform: "{{ 1 + 1 }}"
`

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

/** JSON with sorted keys, written out here as an attacker would, from the chain's documented form. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`
}

interface EventRow {
  seq: number
  type: string
  at: number
  actor: string | null
  step_id: string | null
  data: Record<string, unknown>
  hash: string
}

const dbOf = (dataDir: string) => createClient({ url: `file:${join(dataDir, 'greenlight.db')}` })

/**
 * What someone with write access to the database (and the source code, not the key) does: edits events with
 * `edit`, then recomputes every hash with plain SHA-256 as Greenlight once chained them, and moves the run's head.
 */
async function rewriteChain(dataDir: string, runId: string, edit: (events: EventRow[]) => void): Promise<void> {
  const db = dbOf(dataDir)
  try {
    const rows = await db.execute({
      sql: 'SELECT seq, type, at, actor, step_id, data, hash FROM run_events WHERE run_id = ? ORDER BY seq',
      args: [runId],
    })
    const events = rows.rows.map((r) => ({ ...(r as unknown as EventRow), data: JSON.parse(String(r.data)) }))
    edit(events)
    let prev = ''
    for (const e of events) {
      const content = { run: runId, seq: e.seq, type: e.type, at: e.at, actor: e.actor, step: e.step_id, data: e.data }
      const hash = createHash('sha256')
        .update(`${prev}\n${sortedJson(content)}`)
        .digest('hex')
      await db.execute({
        sql: 'UPDATE run_events SET data = ?, prev_hash = ?, hash = ? WHERE run_id = ? AND seq = ?',
        args: [JSON.stringify(e.data), prev, hash, runId, e.seq],
      })
      prev = hash
    }
    await db.execute({
      sql: 'UPDATE runs SET last_event_hash = ?, event_count = ? WHERE id = ?',
      args: [prev, events.length, runId],
    })
  } finally {
    db.close()
  }
}

/** A rejection becomes an approval: the vote and the decision say so. */
function rejectionToApproval(events: EventRow[]): void {
  for (const e of events) {
    if (e.type === 'approval.voted' && e.data.decision === 'reject') e.data.decision = 'approve'
    if (e.type === 'approval.decided' && e.data.outcome === 'rejected') e.data.outcome = 'approved'
  }
}

async function audit(server: ApiServer, runId: string): Promise<Json> {
  const res = await api(server, 'GET', `/api/v1/runs/${runId}/audit`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return (res.body.data as Json).audit
}

async function startRun(server: ApiServer, flow: string): Promise<Json> {
  const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  return (started.body.data as Json).run
}

async function rejectedRun(server: TestServer, annToken: string): Promise<string> {
  const run = await startRun(server, 'au_review')
  expect(run.waiting_on).toMatchObject({ step: 'review', kind: 'approval' })
  const voted = await api(
    server,
    'POST',
    `/api/v1/waits/${run.waiting_on.wait_id}/reject`,
    { comment: 'not today' },
    annToken,
  )
  expect(voted.status, JSON.stringify(voted.body)).toBe(201)
  expect((await runReaches(server, run.id, TERMINAL)).run.status).toBe('failed')
  return run.id
}

async function voterToken(server: ApiServer): Promise<string> {
  return (await mintToken(server, 'ann', ['approvals:decide'], 'U0ANN')).secret
}

describe('the audit chain against a database writer', () => {
  let server: TestServer
  let ann: string

  beforeAll(async () => {
    server = await startTestServer()
    await pushRelease(server, REVIEW_FLOW)
    await pushRelease(server, QUICK_FLOW)
    ann = await voterToken(server)
  })
  afterAll(async () => server.close())

  it('reports tampering when a rejection is rewritten into an approval and the plain chain recomputed', async () => {
    const runId = await rejectedRun(server, ann)
    expect(await audit(server, runId)).toMatchObject({ ok: true, scheme: 'hmac-sha256', problems: [] })

    await rewriteChain(server.dataDir, runId, rejectionToApproval)
    const events = (await api(server, 'GET', `/api/v1/runs/${runId}/events`)).body.data as Json
    expect(events.events.find((e: Json) => e.type === 'approval.decided').data.outcome).toBe('approved')

    const after = await audit(server, runId)
    expect(after.ok, JSON.stringify(after)).toBe(false)
    expect(after.problems).toContainEqual(expect.objectContaining({ problem: 'unkeyed_chain' }))
    const cli = await runCli(['audit', 'verify', runId], {
      env: { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir },
    })
    expect(cli.code, cli.stdout).toBe(1)
    expect(cli.json.error.code).toBe('audit_failed')
  })

  it('reports tampering when the attacker keeps the stored hash format but cannot key it', async () => {
    const runId = await rejectedRun(server, ann)
    const db = dbOf(server.dataDir)
    const stored = (await db.execute({ sql: 'SELECT hash FROM run_events WHERE run_id = ?', args: [runId] })).rows
    db.close()
    const prefix = /^(.*:)?[0-9a-f]{64}$/.exec(String(stored[0]?.hash))?.[1] ?? ''
    await rewriteChain(server.dataDir, runId, rejectionToApproval)
    // The same content under the stored label: what an attacker without the key can at best produce.
    const relabel = dbOf(server.dataDir)
    try {
      await relabel.execute({
        sql: `UPDATE run_events SET hash = ? || hash, prev_hash = CASE WHEN prev_hash = '' THEN '' ELSE ? || prev_hash END
              WHERE run_id = ?`,
        args: [prefix, prefix, runId],
      })
      await relabel.execute({
        sql: 'UPDATE runs SET last_event_hash = ? || last_event_hash WHERE id = ?',
        args: [prefix, runId],
      })
    } finally {
      relabel.close()
    }
    const after = await audit(server, runId)
    expect(after.ok, JSON.stringify(after)).toBe(false)
    expect(after.problems).toContainEqual(expect.objectContaining({ seq: 1, problem: 'hash_mismatch' }))
  })

  it('reports tampering when the chain is cut and what is left re-hashed the old way', async () => {
    const run = await startRun(server, 'au_quick')
    await runReaches(server, run.id, TERMINAL)
    const intact = await audit(server, run.id)
    expect(intact).toMatchObject({ ok: true, scheme: 'hmac-sha256' })
    await rewriteChain(server.dataDir, run.id, (events) => events.splice(1))
    const db = dbOf(server.dataDir)
    await db.execute({ sql: 'DELETE FROM run_events WHERE run_id = ? AND seq > 1', args: [run.id] })
    db.close()
    expect((await audit(server, run.id)).ok).toBe(false)
  })
})

describe('runs chained before the key was used', () => {
  let dataDir: string
  let server: (RunningServer & ApiServer) | undefined

  /** A server on a data directory that outlives it, as an upgrade in place restarts one. */
  const boot = async () => {
    const running = await startServer(loadConfig({ GREENLIGHT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }))
    server = { ...running, token: readFileSync(running.cliTokenPath, 'utf8').trim() }
    return server
  }
  const stop = async () => {
    await server?.close()
    server = undefined
  }

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-audit-legacy-'))
  })
  afterAll(async () => {
    await stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('still verify after the upgrade, named as plain SHA-256; a run rewritten after it does not', async () => {
    // A database as the previous version left it: one finished run, its chain plain SHA-256.
    const first = await boot()
    await pushRelease(first, QUICK_FLOW)
    const old = await startRun(first, 'au_quick')
    await runReaches(first, old.id, TERMINAL)
    const oldEvents: number = (await audit(first, old.id)).events
    await stop()
    await rewriteChain(dataDir, old.id, () => {})

    const upgraded = await boot()
    const legacy = await audit(upgraded, old.id)
    expect(legacy, JSON.stringify(legacy)).toMatchObject({ ok: true, scheme: 'sha256', problems: [] })
    expect(legacy.note).toMatch(/database/)
    // The upgrade keyed the old chain's end, so from then on even its plain part cannot be rewritten unnoticed.
    expect(legacy.events).toBe(oldEvents + 1)

    const fresh = await startRun(upgraded, 'au_quick')
    await runReaches(upgraded, fresh.id, TERMINAL)
    expect(await audit(upgraded, fresh.id)).toMatchObject({ ok: true, scheme: 'hmac-sha256' })
    expect((await audit(upgraded, fresh.id)).note).toBeUndefined()
    await stop()

    // Made to look like a run of the old version, and the server restarted: the upgrade does not happen twice.
    await rewriteChain(dataDir, fresh.id, () => {})
    const again = await boot()
    const forged = await audit(again, fresh.id)
    expect(forged.ok, JSON.stringify(forged)).toBe(false)
    expect(await audit(again, old.id)).toMatchObject({ ok: true, scheme: 'sha256', events: oldEvents + 1 })
  })
})

describe('audit export, verified offline', () => {
  let server: TestServer
  let env: Record<string, string>
  let work: string
  let ann: string

  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra } })

  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    work = mkdtempSync(join(tmpdir(), 'greenlight-audit-export-'))
    await pushRelease(server, REVIEW_FLOW)
    await pushRelease(server, QUICK_FLOW)
    ann = await voterToken(server)
  })
  afterAll(async () => {
    await server.close()
    rmSync(work, { recursive: true, force: true })
  })

  it('writes a JSON Lines file that verifies offline, and names the line someone edited', async () => {
    const runId = await rejectedRun(server, ann)
    const file = join(work, 'one.jsonl')
    const exported = await cli(['audit', 'export', runId, '--out', file])
    expect(exported.code, exported.stdout + exported.stderr).toBe(0)
    expect(exported.json.data.export).toMatchObject({ file, scheme: 'hmac-sha256', runs: [{ run_id: runId }] })

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    const header = JSON.parse(lines[0] as string)
    expect(header).toMatchObject({ scheme: 'hmac-sha256', runs: [{ run_id: runId, events: lines.length - 1 }] })
    const events = lines.slice(1).map((line) => JSON.parse(line))
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    for (const [i, e] of events.entries()) {
      expect(e).toMatchObject({ run_id: runId, prev_hash: i === 0 ? '' : events[i - 1].hash })
    }

    // Offline: the server is not asked (a URL nobody listens on), the key comes from the data dir.
    const offline = { GREENLIGHT_URL: 'http://127.0.0.1:9' }
    const verified = await cli(['audit', 'verify', '--file', file], offline)
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.json.data.audit).toMatchObject({ ok: true, runs: [{ run_id: runId, ok: true }] })

    const at = events.findIndex((e) => e.type === 'approval.voted') + 2
    const edited = lines.map((line, i) => (i + 1 === at ? line.replace('"reject"', '"approve"') : line))
    expect(edited[at - 1]).not.toBe(lines[at - 1])
    writeFileSync(file, `${edited.join('\n')}\n`)
    const tampered = await cli(['audit', 'verify', '--file', file], offline)
    expect(tampered.code, tampered.stdout).toBe(1)
    expect(tampered.json.error.code).toBe('audit_failed')
    expect(tampered.json.error.message).toContain(`line ${at}`)
    expect(tampered.json.error.details.runs[0].problems[0]).toMatchObject({ line: at, problem: 'hash_mismatch' })

    // The last line dropped: the header, which the key signs, still counts it.
    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`)
    const cut = await cli(['audit', 'verify', '--file', file], offline)
    expect(cut.code, cut.stdout).toBe(1)
    expect(cut.json.error.details.runs[0].problems.map((p: Json) => p.problem)).toContain('count_mismatch')

    // Another instance's key cannot vouch for the file.
    writeFileSync(file, `${lines.join('\n')}\n`)
    const otherKey = { ...offline, GREENLIGHT_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') }
    expect((await cli(['audit', 'verify', '--file', file], otherKey)).code).toBe(1)
    const sameKey = { GREENLIGHT_SECRET_KEY: readFileSync(join(server.dataDir, 'secret.key'), 'utf8').trim() }
    const elsewhere = { ...offline, ...sameKey, GREENLIGHT_DATA_DIR: work }
    expect((await cli(['audit', 'verify', '--file', file], elsewhere)).code).toBe(0)
  })

  it('exports several runs, or the runs started in a time range', async () => {
    const from = new Date().toISOString()
    const a = await startRun(server, 'au_quick')
    const b = await startRun(server, 'au_quick')
    await runReaches(server, a.id, TERMINAL)
    await runReaches(server, b.id, TERMINAL)
    const to = new Date(Date.now() + 1000).toISOString()

    const both = join(work, 'both.jsonl')
    const listed = await cli(['audit', 'export', a.id, b.id, '--out', both])
    expect(listed.code, listed.stdout).toBe(0)
    expect(listed.json.data.export.runs.map((r: Json) => r.run_id)).toEqual([a.id, b.id])
    expect((await cli(['audit', 'verify', '--file', both])).json.data.audit.runs).toHaveLength(2)

    const ranged = join(work, 'range.jsonl')
    const inRange = await cli(['audit', 'export', '--from', from, '--to', to, '--out', ranged])
    expect(inRange.code, inRange.stdout).toBe(0)
    expect(inRange.json.data.export.runs.map((r: Json) => r.run_id).sort()).toEqual([a.id, b.id].sort())
    expect((await cli(['audit', 'verify', '--file', ranged])).code).toBe(0)
  })

  it('answers any query to the export route with the file or a clear 4xx, never a crash', async () => {
    const random = createRandom(fuzzSeed(1113))
    const known = await startRun(server, 'au_quick')
    const parts = ['run', 'from', 'to', 'x', '']
    const values = [known.id, 'run_x', '2026-11-01', '2026-13-45', '1e400', '', '%00', 'é漢', '0000-00-00T99', known.id]
    for (let i = 0; i < fuzzRuns(60); i++) {
      const query = Array.from({ length: random.int(4) }, () => {
        const value = random.chance(0.3) ? random.string(random.int(12)) : random.pick(values)
        return `${random.pick(parts)}=${encodeURIComponent(value)}`
      }).join('&')
      const res = await fetch(`${server.url}/api/v1/audit/export?${query}`, {
        headers: { authorization: `Bearer ${server.token}` },
      })
      const text = await res.text()
      expect(res.status, `${query}: ${text}`).toBeLessThan(500)
      if (res.status === 200) expect(JSON.parse(text.slice(0, text.indexOf('\n'))).greenlight_audit_export).toBe(1)
      else expect(JSON.parse(text).error.code, query).toMatch(/^[a-z_]+$/)
    }
  })

  it('refuses bad usage with exit 2 and writes nothing', async () => {
    const cases: [string[], string][] = [
      [['audit', 'export'], 'invalid_usage'],
      [['audit', 'export', 'run_x'], 'invalid_usage'],
      [['audit', 'export', '--from', 'yesterday', '--out', join(work, 'x.jsonl')], 'invalid_usage'],
      [['audit', 'verify'], 'invalid_usage'],
      [['audit', 'verify', 'run_x', '--file', join(work, 'x.jsonl')], 'invalid_usage'],
    ]
    for (const [args, code] of cases) {
      const res = await cli(args)
      expect(res.code, `${args.join(' ')}: ${res.stdout}`).toBe(2)
      expect(res.json.error.code).toBe(code)
    }
    expect(existsSync(join(work, 'x.jsonl'))).toBe(false)
    const missing = await cli(['audit', 'verify', '--file', join(work, 'nope.jsonl')])
    expect(missing.code, missing.stdout).toBe(2)
    expect(missing.json.error.code).toBe('file_unreadable')
  })
})
