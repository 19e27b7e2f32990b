// Cron schedules on a real server whose clock the test drives: ticks at the right local times across both DST changes
// of Europe/Oslo, promote moves the schedule, catch-up after a restart follows `catch_up`, and a tick starts one run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { runCli } from '../support/cli.ts'
import { eventually, type Json, pushRelease, runEvents, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

type ApiServer = { url: string; token: string }

function testClock(start: string) {
  let t = Date.parse(start)
  return {
    now: () => t,
    set(at: string) {
      t = Date.parse(at)
    },
  }
}

const dailyFlow = (slug: string, cron: string, catchUp = 'none', extra = '') => `slug: ${slug}
slack: { channel: "#reports" }
inputs: { label: { type: string, required: true } }
triggers:
  schedule: { cron: "${cron}", timezone: Europe/Oslo, catch_up: ${catchUp}, inputs: { label: morning } }
${extra}steps:
  - id: report
    transform: "{{ inputs.label & ' report by ' & run.initiator }}"
`

async function schedulesOf(server: ApiServer, slug: string): Promise<Json[]> {
  const shown = await api(server, 'GET', `/api/v1/flows/${slug}`)
  expect(shown.status).toBe(200)
  return (shown.body.data as Json).flow.triggers.schedules
}

async function runsOf(server: ApiServer, slug: string): Promise<Json[]> {
  const listed = await api(server, 'GET', `/api/v1/runs?flow=${slug}&limit=200`)
  return ((listed.body.data as Json).runs as Json[]).sort((a, b) => a.id.localeCompare(b.id))
}

async function tickOf(server: ApiServer, runId: string): Promise<Json> {
  return (await runEvents(server, runId)).find((e: Json) => e.type === 'run.started').data.trigger_details
}

/** Waits until the schedule's durable timer is armed for `at` (so the server has finished with the previous tick). */
async function armedAt(server: ApiServer, slug: string, at: string): Promise<void> {
  let seen: unknown
  await eventually(
    async () => {
      seen = (await schedulesOf(server, slug)).map((s) => s.armed_at)
      return (seen as unknown[]).includes(at) ? true : undefined
    },
    () => `${slug} armed at ${at} (seen ${JSON.stringify(seen)})`,
  )
}

async function nRuns(server: ApiServer, slug: string, n: number): Promise<Json[]> {
  return eventually(async () => {
    const runs = await runsOf(server, slug)
    return runs.length >= n ? runs : undefined
  }, `${n} run(s) of ${slug}`)
}

describe('schedules with a driven clock', () => {
  const clock = testClock('2026-03-27T12:00:00Z')
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
  })

  afterAll(async () => {
    await server?.close()
  })

  it('fires at 07:00 Oslo time on both sides of the spring-forward and fall-back changes', async () => {
    await pushRelease(server, dailyFlow('sc_dst', '0 7 * * *'))
    const [schedule] = await schedulesOf(server, 'sc_dst')
    expect(schedule).toMatchObject({
      cron: '0 7 * * *',
      timezone: 'Europe/Oslo',
      catch_up: 'none',
      next: ['2026-03-28T06:00:00.000Z', '2026-03-29T05:00:00.000Z', '2026-03-30T05:00:00.000Z'],
      armed_at: '2026-03-28T06:00:00.000Z',
      last_tick: null,
    })

    clock.set('2026-03-28T06:00:00.150Z') // Saturday 07:00 CET
    const [first] = await nRuns(server, 'sc_dst', 1)
    const done = await runReaches(server, first.id, ['succeeded'])
    expect(done.run).toMatchObject({
      trigger: 'schedule',
      initiator: 'schedule:sc_dst',
      inputs: { label: 'morning' },
      output: 'morning report by schedule:sc_dst',
    })
    expect(await tickOf(server, first.id)).toMatchObject({ tick_at: '2026-03-28T06:00:00.000Z' })
    await armedAt(server, 'sc_dst', '2026-03-29T05:00:00.000Z')

    clock.set('2026-03-29T05:00:00.150Z') // Sunday 07:00 CEST, the day clocks went forward
    const second = (await nRuns(server, 'sc_dst', 2))[1]
    expect(await tickOf(server, second.id)).toMatchObject({ tick_at: '2026-03-29T05:00:00.000Z' })
    await armedAt(server, 'sc_dst', '2026-03-30T05:00:00.000Z')

    // Seven months without a tick (catch_up: none) fire nothing; the schedule moves on to the next tick.
    clock.set('2026-10-24T12:00:00Z')
    await armedAt(server, 'sc_dst', '2026-10-25T06:00:00.000Z')
    expect(await runsOf(server, 'sc_dst')).toHaveLength(2)

    clock.set('2026-10-25T06:00:00.150Z') // Sunday 07:00 CET, the day clocks went back
    const third = (await nRuns(server, 'sc_dst', 3))[2]
    expect(await tickOf(server, third.id)).toMatchObject({ tick_at: '2026-10-25T06:00:00.000Z' })
    await armedAt(server, 'sc_dst', '2026-10-26T06:00:00.000Z')
    const [after] = await schedulesOf(server, 'sc_dst')
    expect(after.last_tick).toEqual({ at: '2026-10-25T06:00:00.000Z', run_id: third.id })
    expect(await runsOf(server, 'sc_dst')).toHaveLength(3)
  })

  it('greenlight flows show lists the live schedules with their next fire times', async () => {
    const shown = await runCli(['flows', 'show', 'sc_dst'], {
      env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: server.token },
    })
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.json.data.flow.triggers).toMatchObject({
      schedules: [
        {
          cron: '0 7 * * *',
          timezone: 'Europe/Oslo',
          next: ['2026-10-26T06:00:00.000Z', expect.any(String), expect.any(String)],
        },
      ],
      webhook: null,
    })
  })

  it('follows the live version: promote changes the next fire time, a version without a schedule stops it', async () => {
    clock.set('2026-11-02T12:00:00Z') // Monday
    await pushRelease(server, dailyFlow('sc_promote', '0 7 * * *'))
    await armedAt(server, 'sc_promote', '2026-11-03T06:00:00.000Z')

    await pushRelease(server, dailyFlow('sc_promote', '30 9 * * *')) // v2, live
    const [v2] = await schedulesOf(server, 'sc_promote')
    expect(v2).toMatchObject({ cron: '30 9 * * *', next: expect.arrayContaining(['2026-11-03T08:30:00.000Z']) })
    expect(v2.armed_at).toBe('2026-11-03T08:30:00.000Z')

    const back = await api(server, 'POST', '/api/v1/flows/sc_promote/promote', { version: 1 })
    expect(back.status).toBe(200)
    expect((await schedulesOf(server, 'sc_promote'))[0]).toMatchObject({
      cron: '0 7 * * *',
      armed_at: '2026-11-03T06:00:00.000Z',
    })

    clock.set('2026-11-03T06:00:00.150Z')
    const [run] = await nRuns(server, 'sc_promote', 1)
    expect(run.version).toBe(1)

    // A version with no schedule cancels the timer: nothing fires at its old time.
    await pushRelease(server, dailyFlow('sc_promote', '0 7 * * *').replace(/triggers:\n.*\n/, ''))
    expect(await schedulesOf(server, 'sc_promote')).toEqual([])
    // Another flow due at the same instant shows that the timer loop ran after the clock moved.
    await pushRelease(server, dailyFlow('sc_flag', '0 7 * * *'))
    await armedAt(server, 'sc_flag', '2026-11-04T06:00:00.000Z')
    clock.set('2026-11-04T06:00:00.150Z')
    await nRuns(server, 'sc_flag', 1)
    expect(await runsOf(server, 'sc_promote')).toHaveLength(1)
  })

  it('overlap follows the flow concurrency: skip records the tick without a run', async () => {
    clock.set('2026-11-09T12:00:00Z')
    const parked = `slug: sc_overlap
concurrency: { limit: 1, on_conflict: skip }
triggers:
  schedule: { cron: "0 * * * *", timezone: UTC }
steps:
  - id: hold
    wait: {}
`
    await pushRelease(server, parked)
    clock.set('2026-11-09T13:00:00.150Z')
    const [first] = await nRuns(server, 'sc_overlap', 1)
    await runReaches(server, first.id, ['waiting'])
    await armedAt(server, 'sc_overlap', '2026-11-09T14:00:00.000Z')
    clock.set('2026-11-09T14:00:00.150Z')
    await armedAt(server, 'sc_overlap', '2026-11-09T15:00:00.000Z')
    expect(await runsOf(server, 'sc_overlap')).toHaveLength(1)
    expect((await schedulesOf(server, 'sc_overlap'))[0].last_tick).toEqual({
      at: '2026-11-09T14:00:00.000Z',
      run_id: null,
    })
  })
})

describe('catch-up after downtime', () => {
  const clock = testClock('2026-11-02T12:00:00Z') // Monday
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-catchup-'))
  const env = { GREENLIGHT_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' }
  let running: RunningServer | undefined

  async function start(): Promise<ApiServer> {
    running = await startServer(loadConfig(env), undefined, { clock })
    return { url: running.url, token: readFileSync(join(dir, 'cli-token'), 'utf8').trim() }
  }

  afterAll(async () => {
    await running?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('catch_up: latest fires the most recent missed tick once; none fires nothing; both resume on time', async () => {
    let server = await start()
    await pushRelease(server, dailyFlow('cu_latest', '0 7 * * *', 'latest'))
    await pushRelease(server, dailyFlow('cu_none', '0 7 * * *', 'none'))
    await armedAt(server, 'cu_latest', '2026-11-03T06:00:00.000Z')
    await armedAt(server, 'cu_none', '2026-11-03T06:00:00.000Z')
    await running?.close()
    running = undefined

    // Down from Monday noon to Friday 10:00 Oslo: Tuesday..Friday 07:00 were missed.
    clock.set('2026-11-06T09:00:00Z')
    server = await start()
    await armedAt(server, 'cu_latest', '2026-11-07T06:00:00.000Z')
    await armedAt(server, 'cu_none', '2026-11-07T06:00:00.000Z')
    const caughtUp = await runsOf(server, 'cu_latest')
    expect(caughtUp).toHaveLength(1)
    expect(await tickOf(server, caughtUp[0].id)).toMatchObject({
      tick_at: '2026-11-06T06:00:00.000Z',
      caught_up: true,
    })
    expect(await runsOf(server, 'cu_none')).toHaveLength(0)

    clock.set('2026-11-07T06:00:00.150Z')
    await nRuns(server, 'cu_none', 1)
    await nRuns(server, 'cu_latest', 2)
  })
})

describe('first tick of a new schedule', () => {
  let server: TestServer
  const clock = testClock('2026-11-02T06:30:00Z')

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('does not back-fill: a schedule released after its hour first fires at the next one', async () => {
    await pushRelease(server, dailyFlow('sc_new', '0 7 * * *', 'latest'))
    await armedAt(server, 'sc_new', '2026-11-03T06:00:00.000Z')
    expect(await runsOf(server, 'sc_new')).toHaveLength(0)
  })
})
