// Retention on a real server whose clock the test drives, with a fake Slack and counting HTTP targets: a prune removes
// old ended runs with what is only theirs, never an unended (waiting, queued) run or a resource a kept run lists; a dry run counts the
// same and removes nothing; audit verify says `pruned` with the kept last hash; after a restart nothing is re-sent to
// Slack, no timer fires again and no schedule tick runs again.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { testClock } from '../support/clock.ts'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'
import { createRandom, fuzzSeed, randomJson } from '../support/fuzz-env.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const CHANNEL = 'C0RETAIN'
const clock = testClock('2026-01-05T06:00:00Z')
/** A body over the 16 KiB a string may have inside an output: stored once, as its own resource, for every run. */
const BIG = 'retained '.repeat(2500)

const BIG_FLOW = `slug: rt_big
inputs: { target: { type: string, required: true } }
steps:
  - id: fetch
    http: { method: POST, url: "{{ inputs.target }}/big" }
`
const SLEEP_FLOW = `slug: rt_sleep
inputs: { target: { type: string, required: true } }
steps:
  - id: nap
    sleep: { duration: 1h }
  - id: ping
    http: { method: POST, url: "{{ inputs.target }}/ping" }
`
const WAIT_FLOW = `slug: rt_wait
concurrency: { limit: 1, on_conflict: queue }
steps:
  - id: agent
    wait: {}
`
const TICK_FLOW = `slug: rt_tick
triggers:
  schedule: { cron: "0 7 * * *", timezone: UTC, catch_up: none }
steps:
  - id: report
    transform: "{{ 'tick by ' & run.initiator }}"
`

describe('retention', () => {
  let fake: FakeSlack
  let target: HttpTarget
  let server: TestServer
  let dir: string
  let env: Record<string, string>
  const runs = { a: '', s: '', w: '', q: '', t1: '', t2: '', k: '' }
  let lastHashOfA = ''
  let sharedResource = ''
  let ownResourceOfA = ''

  const cli = (args: string[]) => runCli(args, { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token } })
  const start = async (flow: string, inputs: Record<string, unknown> = {}) => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run.id as string
  }
  const runsOf = async (flow: string): Promise<Json[]> =>
    ((await api(server, 'GET', `/api/v1/runs?flow=${flow}&limit=200`)).body.data as Json).runs
  const posts = () => fake.callsTo('chat.postMessage').length
  const updates = () => fake.callsTo('chat.update').length

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: [{ id: 'U0ADA', name: 'ada' }],
      channels: { [CHANNEL]: { name: 'retention', members: ['U0ADA'] } },
    })
    target = await startHttpTarget()
    // Each answer is its own JSON (its own resource), holding the same big string (one resource for every run).
    let answers = 0
    target.handle('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ shared: BIG, answer: ++answers }))
    })
    dir = mkdtempSync(join(tmpdir(), 'gl-retention-'))
    env = {
      DATABASE_URL: `file:${join(dir, 'greenlight.db')}`,
      GREENLIGHT_SECRET_KEY: randomBytes(32).toString('base64'),
      GREENLIGHT_RESOURCE_THRESHOLD: '1024',
      GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
      SLACK_BOT_TOKEN: 'xoxb-retention',
      SLACK_SIGNING_SECRET: 'retention-secret',
      SLACK_API_URL: fake.apiUrl,
      SLACK_UPDATE_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
    }
    server = await startTestServer(env, { clock })
    for (const flow of [BIG_FLOW, SLEEP_FLOW, WAIT_FLOW, TICK_FLOW]) await pushRelease(server, flow)
  })

  afterAll(async () => {
    await server?.close()
    await target?.close()
    await fake?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs a season of work: ended runs, two schedule ticks, a sleep, and a run that never ends', async () => {
    runs.a = await start('rt_big', { target: target.url })
    runs.s = await start('rt_sleep', { target: target.url })
    runs.w = await start('rt_wait')
    await runReaches(server, runs.w, ['waiting'])
    runs.q = await start('rt_wait') // queued behind w for as long as w waits
    await runReaches(server, runs.a, ['succeeded'])
    expect((await showRun(server, runs.q)).run.status).toBe('queued')
    await runReaches(server, runs.s, ['waiting'])
    clock.set('2026-01-05T07:00:00.150Z') // the first tick; the sleep's hour is over
    runs.t1 = (await eventually(async () => (await runsOf('rt_tick'))[0], 'the first tick')).id
    await runReaches(server, runs.s, ['succeeded'])
    await runReaches(server, runs.t1, ['succeeded'])
    clock.set('2026-01-06T07:00:00.150Z')
    runs.t2 = (await eventually(async () => (await runsOf('rt_tick')).find((r) => r.id !== runs.t1), 'tick 2')).id
    await runReaches(server, runs.t2, ['succeeded'])
    // Four months later (catch_up: none skips the missed days); a run of today shares the big body with run a.
    clock.set('2026-05-01T12:00:00Z')
    runs.k = await start('rt_big', { target: target.url })
    await runReaches(server, runs.k, ['succeeded'])

    const eventsOfA = await runEvents(server, runs.a)
    lastHashOfA = eventsOfA.at(-1).hash
    const listed = async (run: string) =>
      ((await api(server, 'GET', `/api/v1/resources?run=${run}`)).body.data as Json).resources as Json[]
    const ofA = await listed(runs.a)
    const ofK = await listed(runs.k)
    sharedResource = ofK.find((r) => ofA.some((a) => a.ref === r.ref)).ref
    ownResourceOfA = ofA.find((r) => r.ref !== sharedResource).ref
    expect(target.requests.filter((r) => r.path === '/ping')).toHaveLength(1)
    // Every run's card is posted and up to date before the prune.
    await eventually(async () => (posts() >= 6 ? true : undefined), 'the cards of six runs')
  })

  it('a dry run counts what a prune removes and removes nothing', async () => {
    // A run whose Slack update is still on its way is left for the next prune (skipped_runs): wait for the outbox.
    const dry = await eventually(async () => {
      const counted = await cli(['prune', '--dry-run'])
      expect(counted.code, counted.stdout).toBe(0)
      return counted.json.data.prune.skipped_runs === 0 ? counted : undefined
    }, 'the Slack outbox to deliver every update')
    const report = dry.json.data.prune
    expect(report).toMatchObject({ dry_run: true, retention: '90d', cutoff: '2026-01-31T12:00:00.000Z' })
    expect(report.counts).toMatchObject({ runs: 4, waits: 1, resources: 1 })
    expect(report.counts.events).toBeGreaterThan(8)
    expect(report.counts.bookkeeping.schedule_ticks).toBe(1)
    for (const id of Object.values(runs)) expect((await api(server, 'GET', `/api/v1/runs/${id}`)).status).toBe(200)

    const removed = await cli(['prune'])
    expect(removed.code, removed.stdout).toBe(0)
    const { counts } = removed.json.data.prune
    expect(counts).toEqual(report.counts)
    expect(removed.json.data.prune.dry_run).toBe(false)

    const again = await cli(['prune'])
    expect(again.json.data.prune.counts).toMatchObject({ runs: 0, events: 0, resources: 0 })
  })

  it('removes the old ended runs and keeps the unended one and the resource a kept run lists', async () => {
    for (const id of [runs.a, runs.s, runs.t1, runs.t2]) {
      const shown = await api(server, 'GET', `/api/v1/runs/${id}`)
      expect(shown.status).toBe(404)
    }
    expect((await showRun(server, runs.w)).run.status).toBe('waiting')
    expect((await showRun(server, runs.q)).run.status).toBe('queued')
    expect((await showRun(server, runs.k)).run.status).toBe('succeeded')
    const shared = await fetch(`${server.url}/api/v1/resources/${encodeURIComponent(sharedResource)}`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    expect(shared.status).toBe(200)
    expect(await shared.text()).toBe(BIG)
    expect((await api(server, 'GET', `/api/v1/resources/${encodeURIComponent(ownResourceOfA)}`)).status).toBe(404)
    // The index forgets the pruned runs' events; the kept run is still found.
    const found = await api(server, 'GET', `/api/v1/search?q=${encodeURIComponent('"tick by"')}&limit=50`)
    expect(((found.body.data as Json).hits as Json[]).filter((h) => h.run === runs.t1)).toEqual([])
  })

  it('audit verify says pruned with the last hash for a pruned run, ok for a kept one', async () => {
    const pruned = await cli(['audit', 'verify', runs.a])
    expect(pruned.code, pruned.stdout).toBe(0)
    expect(pruned.json.data.audit).toMatchObject({
      run_id: runs.a,
      status: 'pruned',
      ok: false,
      pruned: { last_hash: lastHashOfA, flow: 'rt_big', run_status: 'succeeded' },
    })
    const kept = await cli(['audit', 'verify', runs.w])
    expect(kept.code, kept.stdout).toBe(0)
    expect(kept.json.data.audit).toMatchObject({ status: 'ok', ok: true })
    const never = await cli(['audit', 'verify', 'run_01NEVERTHERE0000000000000'])
    expect(never.code).toBe(1)
    expect(never.json.error.code).toBe('run_not_found')
  })

  it('after a restart nothing is re-sent to Slack, no timer fires again and no tick runs again', async () => {
    const before = { posts: posts(), updates: updates(), pings: target.requests.length }
    await server.close()
    server = await startTestServer(env, { clock })
    // The outbox catch-up, schedule sync and the due timers all run at start; give them time to do something wrong.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect({ posts: posts(), updates: updates(), pings: target.requests.length }).toEqual(before)
    expect(await runsOf('rt_tick')).toEqual([])

    // The next tick is a new one: one run, for its own time, never one of the pruned ticks.
    clock.set('2026-05-02T07:00:00.150Z')
    const [tick] = await eventually(async () => {
      const found = await runsOf('rt_tick')
      return found.length > 0 ? found : undefined
    }, 'the tick after the restart')
    await runReaches(server, tick.id, ['succeeded'])
    const events = await runEvents(server, tick.id)
    expect(JSON.stringify(events[0].data)).toContain('2026-05-02T07:00:00.000Z')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await runsOf('rt_tick')).toHaveLength(1)
    expect(target.requests.filter((r) => r.path === '/ping')).toHaveLength(1)
  })

  it('usage still counts the executions of pruned runs', async () => {
    const usage = await api(server, 'GET', '/api/v1/usage?month=2026-01')
    expect(usage.status).toBe(200)
    expect(JSON.stringify(usage.body.data)).toContain('rt_big')
  })

  it('refuses bad prune requests without pruning, and survives random bodies', async () => {
    const random = createRandom(fuzzSeed(19))
    const options = {
      chosen: [true, false, 1, 1000, 1001, '10', [], {}],
      keys: ['dry_run', 'batch_size', 'now', 'cutoff'],
    }
    for (let i = 0; i < 60; i++) {
      const body = random.chance(0.3)
        ? randomJson(random, options)
        : { dry_run: random.pick([true, randomJson(random, options)]), batch_size: randomJson(random, options, 2) }
      const answer = await fetch(`${server.url}/api/v1/admin/prune`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body) ?? 'null',
      })
      expect([200, 400], JSON.stringify(body)).toContain(answer.status)
      expect(((await answer.json()) as Json).ok).toBe(answer.status === 200)
    }
    expect((await showRun(server, runs.w)).run.status).toBe('waiting')
    const { secret } = await mintToken(server, 'reader', ['runs:read'])
    const refused = await api(server, 'POST', '/api/v1/admin/prune', { dry_run: true }, secret)
    expect(refused.status).toBe(403)
    const usage = await cli(['prune', '--batch-size', '0'])
    expect(usage.code).toBe(2)
  })
})

describe('retention off', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RETENTION: 'off' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('prunes nothing and says how to turn it on', async () => {
    const refused = await runCli(['prune'], { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token } })
    expect(refused.code).toBe(1)
    expect(refused.json.error).toMatchObject({ code: 'retention_off' })
    expect(refused.json.error.hint).toContain('GREENLIGHT_RETENTION')
  })
})

describe('the prune timer', () => {
  const clock = testClock('2026-02-01T09:00:00Z')
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    await pushRelease(server, WAIT_FLOW.replace('rt_wait', 'rt_timer').replace('wait: {}', 'transform: "{{ 1 }}"'))
  })
  afterAll(async () => {
    await server?.close()
  })

  it('prunes on its own once due, and keeps its report for the next instance to count from', async () => {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'rt_timer', wait: true })
    const id = (started.body.data as Json).run.id as string
    expect((started.body.data as Json).run.status).toBe('succeeded')
    expect(((await api(server, 'GET', '/api/v1/admin/prune')).body.data as Json).last_prune).toBeNull()
    clock.set('2026-06-01T09:00:00Z')
    // The server's timer waits 5 minutes after a start; restarted here with no delay, it is due at once.
    await server.retention.stop()
    await server.retention.start(3_600_000, 0)
    await eventually(
      async () => ((await api(server, 'GET', `/api/v1/runs/${id}`)).status === 404 ? true : undefined),
      'the timer to prune the old run',
    )
    const { last_prune } = (await api(server, 'GET', '/api/v1/admin/prune')).body.data as Json
    expect(last_prune).toMatchObject({ dry_run: false, started_at: '2026-06-01T09:00:00.000Z', counts: { runs: 1 } })
  })
})

describe('retention of child runs', () => {
  const clock = testClock('2026-03-02T09:00:00Z')
  let server: TestServer
  const CHILD = `slug: rt_child
steps:
  - id: work
    transform: "{{ 'child work' }}"
`
  const PARENT = `slug: rt_parent
steps:
  - id: call
    flow: { slug: rt_child }
`
  // Its child ends at once; the parent then waits for months.
  const WAITING_PARENT = `slug: rt_parent_waits
steps:
  - id: call
    flow: { slug: rt_child }
  - id: later
    wait: {}
`
  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    for (const flow of [CHILD, PARENT, WAITING_PARENT]) await pushRelease(server, flow)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('prunes a child with its ended root, and keeps the child of a root that has not ended', async () => {
    const start = async (flow: string) =>
      ((await api(server, 'POST', '/api/v1/runs', { flow, wait: true })).body.data as Json).run.id as string
    const ended = await start('rt_parent')
    const waiting = await start('rt_parent_waits')
    await runReaches(server, ended, ['succeeded'])
    await eventually(
      async () => ((await showRun(server, waiting)).run.waiting_on?.step === 'later' ? true : undefined),
      'the parent to wait',
    )
    const childOf = async (id: string) => (await showRun(server, id)).children[0].id as string
    const endedChild = await childOf(ended)
    const keptChild = await childOf(waiting)
    expect((await showRun(server, keptChild)).run.status).toBe('succeeded')
    expect((await showRun(server, waiting)).run.status).toBe('waiting')

    clock.set('2026-07-01T09:00:00Z')
    const pruned = await runCli(['prune'], { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token } })
    expect(pruned.code, pruned.stdout).toBe(0)
    expect(pruned.json.data.prune.counts.runs).toBe(2)
    for (const id of [ended, endedChild]) expect((await api(server, 'GET', `/api/v1/runs/${id}`)).status).toBe(404)
    expect((await showRun(server, keptChild)).run.status).toBe('succeeded')
    expect((await showRun(server, waiting)).run.status).toBe('waiting')
    const audit = (await api(server, 'GET', `/api/v1/runs/${endedChild}/audit`)).body.data as Json
    expect(audit.audit).toMatchObject({ status: 'pruned', pruned: { with_root: ended, flow: 'rt_child' } })
  })
})
