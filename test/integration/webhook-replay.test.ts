// A captured signed webhook request replayed with a fresh (unsigned) delivery header starts no second run: the
// signed bytes are a duplicate for their replay window, across concurrent replays, instances and restarts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { githubSignature, greenlightSignature, SIGNATURE_WINDOW_MS } from '../../src/core/webhook-auth.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { type ApiServer, type Json, pushRelease } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const SECRET = 'replay-hook-secret'

const FLOWS = {
  deduped: `slug: wh_replay
inputs: { issue: { type: integer, required: true } }
triggers:
  webhook:
    auth: hmac
    secret: replay_hook
    inputs: { issue: "{{ body.issue.number }}" }
    dedupe: "{{ headers.\`x-github-delivery\` }}"
steps:
  - id: done
    transform: "{{ inputs.issue }}"
`,
  // No dedupe at all: the signature alone must still keep a replay out.
  plain: `slug: wh_replay_plain
inputs: { issue: { type: integer, required: true } }
triggers:
  webhook: { auth: hmac, secret: replay_hook, inputs: { issue: "{{ body.issue.number }}" } }
steps:
  - id: done
    transform: "{{ inputs.issue }}"
`,
  // One active run at a time; the others are skipped, which must leave nothing claimed.
  skip: `slug: wh_replay_skip
concurrency: { limit: 1, on_conflict: skip }
triggers:
  webhook: { auth: hmac, secret: replay_hook, dedupe: "{{ headers.\`x-github-delivery\` }}" }
steps:
  - id: hold
    wait: {}
`,
}

interface Sent {
  status: number
  body: Json
}

describe('replayed signed webhook requests', () => {
  let dataDir: string
  let server: (RunningServer & ApiServer) | undefined

  /** A server on a data directory that outlives it, so a restart keeps the database. */
  const boot = async (): Promise<RunningServer & ApiServer> => {
    const running = await startServer(loadConfig({ GREENLIGHT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }))
    return { ...running, token: readFileSync(running.cliTokenPath, 'utf8').trim() }
  }
  const live = (): RunningServer & ApiServer => {
    if (!server) throw new Error('no server')
    return server
  }

  async function post(
    slug: string,
    raw: string,
    headers: Record<string, string>,
    target: ApiServer = live(),
  ): Promise<Sent> {
    const response = await fetch(`${target.url}/hooks/${slug}`, { method: 'POST', headers, body: raw })
    return { status: response.status, body: await response.json() }
  }

  const issue = (n: number) => JSON.stringify({ action: 'opened', issue: { number: n } })
  const github = (raw: string, delivery: string) => ({
    'content-type': 'application/json',
    'x-github-delivery': delivery,
    'x-hub-signature-256': githubSignature(SECRET, raw),
  })

  async function runsOf(flow: string): Promise<Json[]> {
    const listed = await api(live(), 'GET', `/api/v1/runs?flow=${flow}&limit=200`)
    return (listed.body.data as Json).runs
  }

  function expectDuplicateOf(sent: Sent, first: Sent): void {
    expect(sent.status, JSON.stringify(sent.body)).toBe(409)
    expect(sent.body.ok).toBe(false)
    expect(sent.body.error.code).toBe('duplicate_delivery')
    expect(sent.body.error.details.run_id).toBe(first.body.data.run_id)
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-replay-'))
    server = await boot()
    expect((await api(server, 'PUT', '/api/v1/secrets/replay_hook', { value: SECRET })).status).toBe(201)
    for (const source of Object.values(FLOWS)) await pushRelease(server, source)
  })

  afterAll(async () => {
    await server?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a GitHub-signed body replayed with another X-GitHub-Delivery answers 409 with the first run', async () => {
    const raw = issue(1)
    const first = await post('wh_replay', raw, github(raw, 'delivery-a'))
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    const before = (await runsOf('wh_replay')).length
    expectDuplicateOf(await post('wh_replay', raw, github(raw, 'delivery-b')), first)
    expect((await runsOf('wh_replay')).length).toBe(before)
    // The refused replay left its delivery id unclaimed: a real event may still arrive with it.
    const real = issue(100)
    expect((await post('wh_replay', real, github(real, 'delivery-b'))).status).toBe(202)
  })

  it('concurrent replays with fresh delivery ids start exactly one run', async () => {
    const raw = issue(2)
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post('wh_replay', raw, github(raw, `delivery-race-${i}`))),
    )
    const accepted = sent.filter((s) => s.status === 202)
    expect(accepted, JSON.stringify(sent.map((s) => s.status))).toHaveLength(1)
    for (const other of sent.filter((s) => s.status !== 202)) expectDuplicateOf(other, accepted[0] as Sent)
    const runs = (await runsOf('wh_replay')).filter((r: Json) => r.inputs.issue === 2)
    expect(runs.map((r: Json) => r.id)).toEqual([accepted[0]?.body.data.run_id])
  })

  it('a flow without dedupe still refuses a replayed signed body', async () => {
    const raw = issue(3)
    const first = await post('wh_replay_plain', raw, github(raw, 'x'))
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    expectDuplicateOf(await post('wh_replay_plain', raw, github(raw, 'y')), first)
  })

  it('a Greenlight signature replayed inside its window with another delivery id answers 409', async () => {
    const raw = issue(4)
    const signature = greenlightSignature(SECRET, raw, Math.floor(Date.now() / 1000))
    const headers = (delivery: string) => ({
      'content-type': 'application/json',
      'x-github-delivery': delivery,
      'x-greenlight-signature': signature,
    })
    const first = await post('wh_replay', raw, headers('gl-a'))
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    expectDuplicateOf(await post('wh_replay', raw, headers('gl-b')), first)
    // The same body signed at another second is another signed message, not a replay.
    const resigned = {
      ...headers('gl-c'),
      'x-greenlight-signature': greenlightSignature(SECRET, raw, Math.floor(Date.now() / 1000) - 30),
    }
    expect((await post('wh_replay', raw, resigned)).status).toBe(202)
  })

  it('a genuinely different body with a valid signature still starts a run', async () => {
    const one = await post('wh_replay', issue(5), github(issue(5), 'delivery-5'))
    const other = `${issue(5)} ` // the same event, other bytes: another signature
    const two = await post('wh_replay', other, github(other, 'delivery-5b'))
    expect([one.status, two.status], JSON.stringify([one.body, two.body])).toEqual([202, 202])
    expect(one.body.data.run_id).not.toBe(two.body.data.run_id)
  })

  it('a second instance on the same database refuses the replay too', async () => {
    const raw = issue(6)
    const first = await post('wh_replay', raw, github(raw, 'delivery-6'))
    expect(first.status).toBe(202)
    const second = await boot()
    try {
      const sent = await Promise.all([
        post('wh_replay', raw, github(raw, 'delivery-6-x'), second),
        post('wh_replay', raw, github(raw, 'delivery-6-y')),
      ])
      for (const replay of sent) expectDuplicateOf(replay, first)
    } finally {
      await second.close()
    }
  })

  it('a request skipped by concurrency claims nothing: the same signed request starts a run later', async () => {
    const holder = await post('wh_replay_skip', issue(20), github(issue(20), 'skip-hold'))
    expect(holder.status, JSON.stringify(holder.body)).toBe(202)
    const raw = issue(21)
    const skipped = await post('wh_replay_skip', raw, github(raw, 'skip-1'))
    expect(skipped.body.error?.code, JSON.stringify(skipped.body)).toBe('concurrency_limit')
    expect((await api(live(), 'POST', `/api/v1/runs/${holder.body.data.run_id}/cancel`)).status).toBe(200)
    const redelivered = await post('wh_replay_skip', raw, github(raw, 'skip-1'))
    expect(redelivered.status, JSON.stringify(redelivered.body)).toBe(202)
    expectDuplicateOf(await post('wh_replay_skip', raw, github(raw, 'skip-2')), redelivered)
  })

  it('the replay is still refused after a restart', async () => {
    const raw = issue(7)
    const first = await post('wh_replay', raw, github(raw, 'delivery-7'))
    expect(first.status).toBe(202)
    await live().close()
    server = undefined
    server = await boot()
    expectDuplicateOf(await post('wh_replay', raw, github(raw, 'delivery-7-after-restart')), first)
    const fresh = issue(8)
    expect((await post('wh_replay', fresh, github(fresh, 'delivery-8'))).status).toBe(202)
  })
})

describe('the replay window, on a driven clock', () => {
  const start = Date.parse('2026-11-02T12:00:00Z')
  let now = start
  const clock = { now: () => now }
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    expect((await api(server, 'PUT', '/api/v1/secrets/replay_hook', { value: SECRET })).status).toBe(201)
    await pushRelease(server, FLOWS.plain)
  })

  afterAll(async () => {
    await server?.close()
  })

  async function post(raw: string, headers: Record<string, string>): Promise<Sent> {
    const response = await fetch(`${server.url}/hooks/wh_replay_plain`, { method: 'POST', headers, body: raw })
    return { status: response.status, body: await response.json() }
  }

  it('a GitHub-signed body is a duplicate for 24 hours, and may start a run again after', async () => {
    now = start
    const raw = JSON.stringify({ issue: { number: 10 } })
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature(SECRET, raw) }
    const first = await post(raw, headers)
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    now = start + 24 * 3_600_000
    const late = await post(raw, headers)
    expect(late.status, JSON.stringify(late.body)).toBe(409)
    expect(late.body.error.details.run_id).toBe(first.body.data.run_id)
    now = start + 24 * 3_600_000 + 1
    const after = await post(raw, headers)
    expect(after.status, JSON.stringify(after.body)).toBe(202)
    // The new run now holds the body for its own day.
    const again = await post(raw, headers)
    expect(again.body.error?.details.run_id, JSON.stringify(again.body)).toBe(after.body.data.run_id)
  })

  it('a Greenlight signature is remembered for as long as it verifies: its last valid second is still a replay', async () => {
    now = start
    const raw = JSON.stringify({ issue: { number: 11 } })
    // Signed five minutes ahead, so it verifies from now until ten minutes from now.
    const t = Math.floor((start + SIGNATURE_WINDOW_MS) / 1000)
    const headers = {
      'content-type': 'application/json',
      'x-greenlight-signature': greenlightSignature(SECRET, raw, t),
    }
    const first = await post(raw, headers)
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    now = start + 2 * SIGNATURE_WINDOW_MS
    const last = await post(raw, headers)
    expect(last.status, JSON.stringify(last.body)).toBe(409)
    expect(last.body.error.code).toBe('duplicate_delivery')
    now = start + 2 * SIGNATURE_WINDOW_MS + 1
    expect((await post(raw, headers)).body.error?.details.reason).toBe('stale_timestamp')
  })
})
