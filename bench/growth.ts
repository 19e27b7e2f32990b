// A year in production: how the store holds up when its tables are a hundred times bigger than in the tests.
//
// Template runs are made through a real server (an approved review, a callback-completed agent run, parked reviews and
// parked agent runs), then each template's rows in every run-owned table are cloned with SQL into BENCH_ENDED ended
// runs (spread over the last BENCH_SPREAD_DAYS, so the default 90-day retention prunes about half) and BENCH_PARKED
// parked runs. Cloning through INSERT … SELECT fires the search index triggers as the engine's writes do. Then, on a
// server started on that database, it measures p50/p99 of `runs list` (plain, by flow, by status, by initiator, a
// page further back), `runs show`, `waits list`, the App Home view (Slack faked in this process: app_home_opened sent
// signed, timed until views.publish arrives), `audit verify` of one run, and a callback completion beside the same
// completion on an empty database; then `prune` of the older half, the file size before and after prune and VACUUM,
// and the server's RSS with BENCH_RSS_PARKED runs parked. Prints one JSON document.
import { execFileSync } from 'node:child_process'
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Client, createClient } from '@libsql/client'
import { signCallbackToken } from '../src/core/callback-token.ts'
import { ulid } from '../src/core/ids.ts'
import { createSlackDriver } from '../test/support/fake-slack/driver.ts'
import { createFakeSlack } from '../test/support/fake-slack/index.ts'
import { repoRoot } from './support/root.ts'
import { type BenchServer, call, memoryOf, percentile, startBenchServer } from './support/serve.ts'

const ENDED = Number(process.env.BENCH_ENDED ?? 200_000)
const PARKED = Number(process.env.BENCH_PARKED ?? 20_000)
const RSS_PARKED = Number(process.env.BENCH_RSS_PARKED ?? 100_000)
const SPREAD_DAYS = Number(process.env.BENCH_SPREAD_DAYS ?? 180)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200)
const CALLBACKS = Number(process.env.BENCH_CALLBACKS ?? 300)
const DAY = 86_400_000
const SIGNING_SECRET = 'bench-growth-signing-secret'
const REVIEWER = 'U0APPA' // approver of 1 parked review in 20
const OTHER_REVIEWER = 'U0APPB' // approver of the rest
const STRANGER = 'U0NOBODY' // approver of none: App Home must look at every open approval to say so

const review = (slug: string, approvers: string[]) => `slug: ${slug}
inputs:
  issue: { type: integer }
steps:
  - id: prepare
    transform: "{{ {'patch': 'diff --git a/app.ts b/app.ts', 'files': 3} }}"
  - id: review
    approval:
      message: "Merge the agent's fix for issue {{ inputs.issue }}?"
      approvers: { users: ${JSON.stringify(approvers)} }
      required: 1
      timeout: 7d
  - id: apply
    transform: "{{ {'merged': true, 'by': steps.review.output.decided_by} }}"
  - id: changelog
    transform: "{{ {'entry': 'Fix for issue ' & $string(inputs.issue)} }}"
  - id: announce
    transform: "{{ {'text': 'Merged the fix for issue ' & $string(inputs.issue)} }}"
`
const AGENT = `slug: growth_agent
inputs:
  issue: { type: integer }
steps:
  - id: agent
    wait: { timeout: 7d }
  - id: shape
    transform: "{{ {'ok': true, 'summary': steps.agent.output.summary} }}"
  - id: record
    transform: "{{ {'recorded': steps.shape.output.ok} }}"
`

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function must(server: BenchServer, method: string, path: string, body?: unknown) {
  const answer = await call(server, method, path, body)
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.json)}`)
  return answer.json.data as Record<string, unknown>
}

async function tokenAs(server: BenchServer, user: string, scopes: string[]): Promise<BenchServer> {
  const data = await must(server, 'POST', '/api/v1/tokens', { name: `bench-${user}`, scopes, as_user: user })
  return { ...server, token: (data.token as { secret: string }).secret }
}

async function settle(server: BenchServer, runId: string, until: 'ended' | 'parked') {
  for (;;) {
    const run = (await must(server, 'GET', `/api/v1/runs/${runId}`)).run as { status: string }
    if (until === 'ended' ? ['succeeded', 'failed', 'canceled'].includes(run.status) : run.status === 'waiting')
      return run
    await sleep(20)
  }
}

async function waitOf(server: BenchServer, runId: string): Promise<string> {
  const waits = (await must(server, 'GET', `/api/v1/waits?run=${runId}`)).waits as { id: string }[]
  if (!waits[0]) throw new Error(`no wait for ${runId}`)
  return waits[0].id
}

interface Templates {
  approved: string
  completed: string
  parkedReview: string
  parkedOtherReview: string
  parkedAgent: string
  initiator: string
}

/** The template runs, made by the real engine: what the clones copy is what a server writes. */
async function makeTemplates(server: BenchServer): Promise<Templates> {
  for (const source of [
    review('growth_review', [REVIEWER, 'U0APPC']),
    review('growth_review_b', [OTHER_REVIEWER]),
    AGENT,
  ]) {
    const slug = /slug: (\S+)/.exec(source)?.[1] as string
    await must(server, 'POST', '/api/v1/flows', { source })
    await must(server, 'POST', `/api/v1/flows/${slug}/release`, {})
  }
  const initiator = 'U0GROWTH'
  const starter = await tokenAs(server, initiator, ['runs:read', 'runs:write'])
  const approver = await tokenAs(server, REVIEWER, ['approvals:decide', 'runs:read'])
  const start = async (flow: string) =>
    ((await must(starter, 'POST', '/api/v1/runs', { flow, inputs: { issue: 42 } })).run as { id: string }).id
  const approved = await start('growth_review')
  await settle(server, approved, 'parked')
  await must(approver, 'POST', `/api/v1/waits/${await waitOf(server, approved)}/approve`, { comment: 'ship it' })
  await settle(server, approved, 'ended')
  const completed = await start('growth_agent')
  await settle(server, completed, 'parked')
  const token = signCallbackToken(server.secretKey, { runId: completed, stepId: 'agent', visit: 1 })
  for (const progress of ['cloned the repository', 'tests pass']) {
    await fetch(`${server.url}/callbacks/${token}/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ progress }),
    })
  }
  await fetch(`${server.url}/callbacks/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ summary: 'fixed the null check in app.ts', files: ['app.ts'] }),
  })
  await settle(server, completed, 'ended')
  const parkedReview = await start('growth_review')
  const parkedOtherReview = await start('growth_review_b')
  const parkedAgent = await start('growth_agent')
  for (const id of [parkedReview, parkedOtherReview, parkedAgent]) await settle(server, id, 'parked')
  return { approved, completed, parkedReview, parkedOtherReview, parkedAgent, initiator }
}

const TIME_COLUMNS = new Set([
  'created_at',
  'updated_at',
  'started_at',
  'ended_at',
  'at',
  'fired_at',
  'completed_at',
  'fire_at',
  'deadline_at',
  'sent_at',
  'next_attempt_at',
  'runnable_at',
])
const RUN_TABLES = ['runs', 'step_runs', 'billed_executions', 'run_events', 'waits', 'votes', 'timers', 'resource_runs']

async function columnsOf(db: Client, table: string): Promise<string[]> {
  return (await db.execute(`PRAGMA table_info(${table})`)).rows.map((r) => String(r.name))
}

/** What each column of a clone is: the clone's ids, times shifted by the clone's age, everything else copied. */
function cloneExpression(table: string, column: string): string {
  if (table === 'runs' && column === 'id') return 'g.run_id'
  if (table === 'runs' && column === 'initiator') return 'g.initiator'
  if (table === 'runs' && (column === 'lease_owner' || column === 'lease_expires_at')) return 'NULL'
  if (column === 'run_id') return 'g.run_id'
  if (table === 'waits' && column === 'id') return 'g.wait_id'
  if (column === 'wait_id') return 'g.wait_id'
  if ((table === 'votes' || table === 'timers') && column === 'id') return 'NULL'
  if (table === 'timers' && column === 'key') return "t.key || '#' || g.run_id"
  if (TIME_COLUMNS.has(column)) return `CASE WHEN t.${column} IS NULL THEN NULL ELSE t.${column} + g.shift END`
  return `t.${column}`
}

/**
 * Clones run `template` `count` times, the i-th created `ageOf(i)` ms before the template, with initiators spread
 * over 1,000 users. Returns the clones' run ids.
 */
async function cloneRuns(
  db: Client,
  template: string,
  count: number,
  ageOf: (i: number) => number,
  initiatorOf: (i: number) => string,
): Promise<string[]> {
  const templateCreated = Number(
    (await db.execute({ sql: 'SELECT created_at FROM runs WHERE id = ?', args: [template] })).rows[0]?.created_at,
  )
  const waits = (await db.execute({ sql: 'SELECT id FROM waits WHERE run_id = ?', args: [template] })).rows
  if (waits.length > 1) throw new Error('a template run may have one wait')
  await db.execute('DROP TABLE IF EXISTS g')
  await db.execute(
    'CREATE TEMP TABLE g (i INTEGER PRIMARY KEY, run_id TEXT, wait_id TEXT, shift INTEGER, initiator TEXT)',
  )
  const ids: string[] = []
  const chunk = 4000
  for (let from = 0; from < count; from += chunk) {
    const rows: unknown[] = []
    const n = Math.min(chunk, count - from)
    for (let k = 0; k < n; k++) {
      const i = from + k
      const created = templateCreated - ageOf(i)
      const runId = `run_${ulid(created)}`
      ids.push(runId)
      rows.push(i, runId, `wait_${ulid(created)}`, created - templateCreated, initiatorOf(i))
    }
    await db.execute({ sql: `INSERT INTO g VALUES ${Array(n).fill('(?,?,?,?,?)').join(',')}`, args: rows as never })
  }
  for (const table of RUN_TABLES) {
    const columns = await columnsOf(db, table)
    const where =
      table === 'runs'
        ? 't.id = ?'
        : table === 'votes'
          ? 't.wait_id IN (SELECT id FROM waits WHERE run_id = ?)'
          : 't.run_id = ?'
    await db.execute({
      sql: `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns
        .map((c) => cloneExpression(table, c))
        .join(', ')} FROM ${table} t, g WHERE ${where} ORDER BY g.i`,
      args: [template],
    })
  }
  await db.execute('DROP TABLE g')
  return ids
}

async function timed(label: string, samples: number, work: (i: number) => Promise<unknown>) {
  const latencies: number[] = []
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    await work(i)
    latencies.push(performance.now() - start)
  }
  latencies.sort((a, b) => a - b)
  return {
    [label]: { p50_ms: +percentile(latencies, 0.5).toFixed(2), p99_ms: +percentile(latencies, 0.99).toFixed(2) },
  }
}

async function apiReads(server: BenchServer, endedIds: string[], verifyRun: string) {
  const pick = (i: number) => endedIds[(i * 7919) % endedIds.length] as string
  const get = async (path: string) => {
    const answer = await call(server, 'GET', path)
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.json)}`)
    return answer.json.data as Record<string, unknown>
  }
  const older = (((await get('/api/v1/runs?limit=20')).runs as { id: string }[]).at(-1) as { id: string }).id
  return {
    ...(await timed('runs_list', SAMPLES, () => get('/api/v1/runs?limit=20'))),
    ...(await timed('runs_list_by_flow', SAMPLES, () => get('/api/v1/runs?limit=20&flow=growth_agent'))),
    ...(await timed('runs_list_by_status', SAMPLES, () => get('/api/v1/runs?limit=20&status=waiting'))),
    ...(await timed('runs_list_by_initiator', SAMPLES, (i) =>
      get(`/api/v1/runs?limit=20&initiator=U0G${String(i % 1000).padStart(4, '0')}`),
    )),
    ...(await timed('runs_list_next_page', SAMPLES, () => get(`/api/v1/runs?limit=20&before=${older}`))),
    ...(await timed('runs_show', SAMPLES, (i) => get(`/api/v1/runs/${pick(i)}`))),
    ...(await timed('waits_list', SAMPLES, () => get('/api/v1/waits?limit=50'))),
    ...(await timed('waits_list_approvals', SAMPLES, () => get('/api/v1/waits?limit=50&kind=approval'))),
    ...(await timed('audit_verify', Math.min(SAMPLES, 50), () => get(`/api/v1/runs/${verifyRun}/audit`))),
  }
}

/** Parks `count` fresh agent runs, then completes them one at a time by callback: latency until the run ended. */
async function callbackCompletions(server: BenchServer, count: number) {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    ids.push(
      ((await must(server, 'POST', '/api/v1/runs', { flow: 'growth_agent', inputs: {} })).run as { id: string }).id,
    )
  }
  for (const id of ids) await settle(server, id, 'parked')
  const latencies: number[] = []
  for (const runId of ids) {
    const token = signCallbackToken(server.secretKey, { runId, stepId: 'agent', visit: 1 })
    const start = performance.now()
    const answer = await fetch(`${server.url}/callbacks/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ summary: 'done' }),
    })
    const body = (await answer.json()) as { data: { run: { status: string } } }
    if (answer.status !== 202) throw new Error(`callback ${answer.status}`)
    if (body.data.run.status !== 'succeeded') await settle(server, runId, 'ended')
    latencies.push(performance.now() - start)
  }
  latencies.sort((a, b) => a - b)
  return {
    completions: count,
    p50_ms: +percentile(latencies, 0.5).toFixed(2),
    p99_ms: +percentile(latencies, 0.99).toFixed(2),
  }
}

/** App Home as Slack asks for it: a signed app_home_opened event, timed until its views.publish reaches Slack. */
async function appHome(dir: string, secretKey: Buffer) {
  const fake = await createFakeSlack({
    users: [REVIEWER, OTHER_REVIEWER, STRANGER].map((id) => ({ id, name: id.toLowerCase() })),
  })
  const server = await startBenchServer(
    {
      SLACK_BOT_TOKEN: 'xoxb-bench-growth',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    },
    { dir, secretKey },
  )
  try {
    const driver = createSlackDriver({ signingSecret: SIGNING_SECRET, url: `${server.url}/slack/events`, fake })
    const open = async (user: string) => {
      const before = fake.callsTo('views.publish').length
      const start = performance.now()
      const answer = await driver.event({ type: 'app_home_opened', user, tab: 'home' })
      if (answer.status !== 200) throw new Error(`app_home_opened: ${answer.status}`)
      while (fake.callsTo('views.publish').length === before) await sleep(1)
      return performance.now() - start
    }
    const measure = async (label: string, user: string) => {
      await open(user) // the first opens the directory cache and warms the queries
      const latencies: number[] = []
      for (let i = 0; i < Math.min(SAMPLES, 100); i++) latencies.push(await open(user))
      latencies.sort((a, b) => a - b)
      return {
        [label]: { p50_ms: +percentile(latencies, 0.5).toFixed(2), p99_ms: +percentile(latencies, 0.99).toFixed(2) },
      }
    }
    return {
      ...(await measure('app_home_reviewer', REVIEWER)),
      ...(await measure('app_home_other_reviewer', OTHER_REVIEWER)),
      ...(await measure('app_home_stranger', STRANGER)),
    }
  } finally {
    await server.stop({ keepData: true })
    await fake.close()
  }
}

function databaseFile(dir: string) {
  return join(dir, 'data', 'greenlight.db')
}

function sizeMb(dir: string): number {
  const file = databaseFile(dir)
  let bytes = statSync(file).size
  try {
    bytes += statSync(`${file}-wal`).size
  } catch {}
  return +(bytes / 1024 / 1024).toFixed(1)
}

async function openFill(dir: string): Promise<Client> {
  const db = createClient({ url: `file:${databaseFile(dir)}` })
  await db.execute('PRAGMA journal_mode = WAL')
  await db.execute('PRAGMA synchronous = OFF')
  return db
}

async function counts(db: Client) {
  const out: Record<string, number> = {}
  for (const table of ['runs', 'run_events', 'step_runs', 'waits', 'votes', 'timers', 'outbox', 'search_index']) {
    out[table] = Number((await db.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0)
  }
  return out
}

/** Prunes through the CLI against the running server, as an operator would: `greenlight prune`. */
function prune(server: BenchServer): { ms: number; report: unknown } {
  const start = performance.now()
  const out = execFileSync(process.execPath, [join(repoRoot(), 'bin', 'greenlight.mjs'), 'prune'], {
    env: { ...process.env, GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  })
  return { ms: Math.round(performance.now() - start), report: (JSON.parse(out) as { data: unknown }).data }
}

const report: Record<string, unknown> = {
  bench: 'growth',
  ended_runs: ENDED,
  parked_runs: PARKED,
  spread_days: SPREAD_DAYS,
  targets: { read_p99_ms: 20, callback_vs_empty: '±20%', rss_mb_100k_parked: 300 },
}

// The baseline: a callback completion on an empty database.
const empty = await startBenchServer()
let dir = ''
let secretKey: Buffer = Buffer.alloc(0)
let templates: Templates
try {
  templates = await makeTemplates(empty)
  report.callback_empty_db = await callbackCompletions(empty, CALLBACKS)
  dir = empty.dir
  secretKey = empty.secretKey
} finally {
  await empty.stop({ keepData: true })
}

// The App Home on the same database before the fill: what opening it costs when there is nothing to read.
report.app_home_empty_db = await appHome(dir, secretKey)

const fillStart = performance.now()
const db = await openFill(dir)
const spread = SPREAD_DAYS * DAY
const user = (i: number) => `U0G${String(i % 1000).padStart(4, '0')}`
// Ended runs: 60 % approved reviews (with their vote), 40 % agent runs completed by callback, spread over the period.
const approvedCount = Math.round(ENDED * 0.6)
const endedIds = [
  ...(await cloneRuns(db, templates.approved, approvedCount, (i) => DAY + (i * spread) / approvedCount, user)),
  ...(await cloneRuns(
    db,
    templates.completed,
    ENDED - approvedCount,
    (i) => DAY + ((i + 0.5) * spread) / (ENDED - approvedCount),
    user,
  )),
]
// Parked runs, started over the last week: 1 in 20 a review REVIEWER may decide, 9 in 20 reviews for OTHER_REVIEWER,
// half agent runs waiting for their callback.
const week = 7 * DAY
await cloneRuns(db, templates.parkedReview, PARKED / 20, (i) => (i * week) / (PARKED / 20), user)
await cloneRuns(db, templates.parkedOtherReview, (PARKED * 9) / 20, (i) => (i * week) / ((PARKED * 9) / 20), user)
await cloneRuns(db, templates.parkedAgent, PARKED / 2, (i) => (i * week) / (PARKED / 2), user)
await db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
report.fill = { ms: Math.round(performance.now() - fillStart), rows: await counts(db) }
db.close()
report.size_mb_before_prune = sizeMb(dir)

const grown = await startBenchServer({}, { dir, secretKey })
try {
  report.reads = await apiReads(grown, endedIds, templates.approved)
  report.callback_grown_db = await callbackCompletions(grown, CALLBACKS)
} finally {
  await grown.stop({ keepData: true })
}
report.app_home = await appHome(dir, secretKey)

const pruning = await startBenchServer({}, { dir, secretKey })
try {
  try {
    report.prune = prune(pruning)
  } catch (error) {
    report.prune = { error: String((error as { stdout?: string }).stdout ?? error) }
  }
  report.audit_verify_pruned = (await must(pruning, 'GET', `/api/v1/runs/${endedIds.at(-1)}/audit`)).audit
} finally {
  await pruning.stop({ keepData: true })
}
report.size_mb_after_prune = sizeMb(dir)
{
  const after = await openFill(dir)
  report.rows_after_prune = await counts(after)
  const start = performance.now()
  await after.execute('VACUUM')
  await after.execute('PRAGMA wal_checkpoint(TRUNCATE)')
  report.vacuum_ms = Math.round(performance.now() - start)
  after.close()
}
report.size_mb_after_vacuum = sizeMb(dir)

// Memory with RSS_PARKED runs parked: top the parked agent runs up, start, read a little, complete a few.
{
  const top = await openFill(dir)
  const parkedNow = Number((await top.execute("SELECT count(*) AS n FROM runs WHERE status = 'waiting'")).rows[0]?.n)
  const kept = (await top.execute("SELECT id FROM runs WHERE status = 'succeeded' LIMIT 1000")).rows.map((r) =>
    String(r.id),
  )
  const more = Math.max(0, RSS_PARKED - parkedNow)
  await cloneRuns(top, templates.parkedAgent, more, (i) => (i * week) / Math.max(1, more), user)
  await top.execute('PRAGMA wal_checkpoint(TRUNCATE)')
  top.close()
  const server = await startBenchServer({}, { dir, secretKey })
  try {
    const startup = memoryOf(server.child.pid ?? 0)
    await apiReads(server, kept, templates.approved)
    const completions = await callbackCompletions(server, 100)
    report.rss_parked = {
      parked: parkedNow + more,
      after_start: startup,
      after_reads_and_callbacks: memoryOf(server.child.pid ?? 0),
      callbacks: completions,
    }
  } finally {
    await server.stop({ keepData: true })
  }
}
rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify(report, null, process.env.BENCH_PRETTY ? 2 : 0))
