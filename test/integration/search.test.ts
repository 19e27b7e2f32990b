// Full-text search (`search` step, `greenlight search`, GET /api/v1/search): hits point at the right run and step,
// filters apply, only redacted text is indexed, old databases are indexed by the migration, and a bad FTS5 query is
// an `invalid_query` (400, exit 2, a failed step), never a 500.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/database.ts'
import { createSearchIndex } from '../../src/store/search-store.ts'
import { runCli } from '../support/cli.ts'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../support/fuzz-env.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const SECRET = 'qxSearchSecret7731zz'
const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

const LEAK = `slug: leaky_search
inputs: { word: { type: string, required: true }, token: { type: string, required: true } }
steps:
  - id: shout
    transform: "{{ { 'said': 'flamingo ' & inputs.word & ' ' & inputs.token } }}"
`

const OTHER = `slug: other_search
steps:
  - id: echo
    transform: "{{ { 'note': 'flamingo pelican' } }}"
`

// Over GREENLIGHT_RESOURCE_THRESHOLD (1 KiB here), the output is stored as a JSON resource, masked the same way.
const BIG = `slug: big_search
inputs: { token: { type: string, required: true } }
steps:
  - id: dump
    transform: "{{ { 'log': $join([1..200].('okapi line ' & $string($)), ' ') & ' ' & inputs.token } }}"
`

// limit 3: more hits would make the output pass the 1 KiB resource threshold of this server.
const FINDER = `slug: finder
inputs: { q: { type: string, required: true } }
steps:
  - id: find
    search: { query: "{{ inputs.q }}", in: [runs], flow: leaky_search, limit: 3 }
`

describe('search', () => {
  let server: TestServer
  let env: Record<string, string>
  let leakRun: string
  let bigRun: string

  async function start(flow: string, inputs: Record<string, unknown> = {}): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return runReaches(server, (started.body.data as Json).run.id, TERMINAL)
  }

  const search = async (params: string) => api(server, 'GET', `/api/v1/search?${params}`)

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RESOURCE_THRESHOLD: '1024' })
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    const set = await api(server, 'PUT', '/api/v1/secrets/leak', { value: SECRET })
    expect(set.status, JSON.stringify(set.body)).toBeLessThan(300)
    await pushRelease(server, LEAK)
    await pushRelease(server, OTHER)
    await pushRelease(server, FINDER)
    const leaked = await start('leaky_search', { word: 'zebracorn', token: SECRET })
    expect(leaked.run.status).toBe('succeeded')
    leakRun = leaked.run.id
    expect((await start('other_search')).run.status).toBe('succeeded')
    await pushRelease(server, BIG)
    const big = await start('big_search', { token: SECRET })
    expect(big.run.status).toBe('succeeded')
    bigRun = big.run.id
  }, 60_000)
  afterAll(async () => {
    await server?.close()
  })

  it('finds a step output and names its run and step', async () => {
    const found = await search('q=zebracorn&in=runs')
    expect(found.status, JSON.stringify(found.body)).toBe(200)
    const hits = (found.body.data as Json).hits as Json[]
    const step = hits.find((h) => h.step === 'shout')
    expect(step, JSON.stringify(hits)).toMatchObject({ kind: 'run', run: leakRun, flow: 'leaky_search' })
    expect(step.snippet).toContain('[zebracorn]')
    expect(typeof step.score).toBe('number')
  })

  it('never indexes a secret, and the masked text is still searchable', async () => {
    const bySecret = await search(`q=${SECRET}`)
    expect(bySecret.status).toBe(200)
    expect((bySecret.body.data as Json).hits).toEqual([])
    const masked = await search('q=zebracorn&in=runs')
    const hit = ((masked.body.data as Json).hits as Json[]).find((h) => h.step === 'shout')
    expect(hit.snippet).toContain('***')
    expect(hit.snippet).not.toContain(SECRET)
    for (const name of readdirSync(server.dataDir)) {
      if (!name.startsWith('greenlight.db')) continue
      const bytes = readFileSync(join(server.dataDir, name))
      expect(bytes.includes(Buffer.from(SECRET)), name).toBe(false)
      expect(bytes.includes(Buffer.from(SECRET.toLowerCase())), name).toBe(false)
    }
  })

  it('finds the text of a resource, masked, under in=resources', async () => {
    const found = ((await search('q=okapi&in=resources')).body.data as Json).hits as Json[]
    expect(found.map((h) => [h.kind, h.run, h.flow])).toEqual([['resource', bigRun, 'big_search']])
    expect(found[0].id).toMatch(/^[0-9a-f]{64}$/)
    expect(found[0].snippet).toContain('[okapi]')
    const masked = ((await search('q=okapi+AND+line&in=resources&limit=1')).body.data as Json).hits as Json[]
    expect(masked).toHaveLength(1)
    const shown = await api(server, 'GET', `/api/v1/resources/${found[0].id}`)
    expect(shown.status).toBe(200)
  })

  it('filters by flow and by where to look', async () => {
    const all = ((await search('q=flamingo&in=runs')).body.data as Json).hits as Json[]
    expect(new Set(all.map((h) => h.flow))).toEqual(new Set(['leaky_search', 'other_search']))
    const one = ((await search('q=flamingo&flow=other_search')).body.data as Json).hits as Json[]
    expect(one.length).toBeGreaterThan(0)
    expect(one.every((h) => h.flow === 'other_search')).toBe(true)
    const flows = ((await search('q=pelican&in=flows')).body.data as Json).hits as Json[]
    expect(flows.map((h) => [h.kind, h.flow])).toEqual([['flow', 'other_search']])
    expect(flows[0].id).toBe('other_search#1')
    const noRuns = ((await search('q=pelican&in=resources')).body.data as Json).hits as Json[]
    expect(noRuns).toEqual([])
    const limited = ((await search('q=flamingo&limit=1')).body.data as Json).hits as Json[]
    expect(limited).toHaveLength(1)
  })

  it('the search step returns the same hits and fails on a bad query', async () => {
    const ok = await start('finder', { q: 'zebracorn' })
    expect(ok.run.status).toBe('succeeded')
    const output = (ok.steps as Json[]).find((s) => s.step === 'find')?.output
    expect(output.hits.length).toBeGreaterThan(0)
    expect(output.hits.every((h: Json) => h.flow === 'leaky_search')).toBe(true)
    expect(output.hits.some((h: Json) => h.run === leakRun && h.step === 'shout')).toBe(true)
    const bad = await start('finder', { q: 'zebracorn AND (' })
    expect(bad.run.status).toBe('failed')
    expect(bad.run.error.code).toBe('invalid_query')
  })

  it('answers a bad FTS5 query with invalid_query through the API and the CLI', async () => {
    const bad = await search(`q=${encodeURIComponent('"unterminated')}`)
    expect(bad.status).toBe(400)
    expect(bad.body.error?.code).toBe('invalid_query')
    const badIn = await search('q=x&in=everything')
    expect(badIn.status).toBe(400)
    expect(badIn.body.error?.code).toBe('invalid_query')
    const cli = await runCli(['search', 'NEAR(', '--in', 'runs'], { env })
    expect(cli.code, cli.stdout + cli.stderr).toBe(2)
    expect(cli.json.error.code).toBe('invalid_query')
    const found = await runCli(['search', 'zebracorn', '--in', 'runs', '--flow', 'leaky_search'], { env })
    expect(found.code, found.stdout + found.stderr).toBe(0)
    expect(found.json.data.hits.some((h: Json) => h.run === leakRun)).toBe(true)
  })

  it('never answers 500 to a random query', async () => {
    const seed = fuzzSeed(16)
    const rnd = createRandom(seed)
    const alphabet = `${NASTY_CHARS}()*^:+-"ANDORNOTNEAR `
    for (let i = 0; i < fuzzRuns(150); i++) {
      const q = rnd.string(1 + rnd.int(40), alphabet)
      const params = new URLSearchParams({ q })
      if (rnd.chance(0.3)) params.set('in', rnd.pick(['runs', 'flows', 'resources', 'x', '']))
      if (rnd.chance(0.3)) params.set('limit', rnd.pick(['0', '1', '100', '101', '-1', 'abc', '5']))
      const res = await search(params.toString())
      expect([200, 400], `seed ${seed} q=${JSON.stringify(q)}: ${JSON.stringify(res.body)}`).toContain(res.status)
      if (res.status === 400) expect(res.body.error?.code).toBe('invalid_query')
    }
  })
})

describe('search index migration', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenlight-search-migrate-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('indexes rows written before the index existed', async () => {
    // The migrations as they were before the index: drizzle/ without 0008.
    const source = join(import.meta.dirname, '..', '..', 'drizzle')
    const before = join(dir, 'drizzle')
    mkdirSync(join(before, 'meta'), { recursive: true })
    const journal = JSON.parse(readFileSync(join(source, 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string }[]
    }
    journal.entries = journal.entries.filter((e) => e.tag < '0008')
    for (const e of journal.entries) copyFileSync(join(source, `${e.tag}.sql`), join(before, `${e.tag}.sql`))
    writeFileSync(join(before, 'meta', '_journal.json'), JSON.stringify(journal))
    const url = `file:${join(dir, 'old.db')}`
    const old = await openDatabase({ url, migrationsFolder: before })
    await old.sql.run(
      `INSERT INTO flow_revisions (flow_slug, number, content_hash, source, definition, created_at)
       VALUES ('legacy', 1, 'h', 'slug: legacy # walrus', '{}', 1)`,
    )
    await old.sql.run(
      `INSERT INTO runs (id, flow_slug, revision_id, status, inputs, initiator, trigger, cursor, output, created_at,
         updated_at) VALUES ('run_old', 'legacy', 1, 'succeeded', '{"who":"narwhal"}', 'u', 'api', '{}',
         '{"said":"capybara"}', 1, 1)`,
    )
    await old.sql.run(
      `INSERT INTO run_events (run_id, seq, type, at, step_id, data, prev_hash, hash)
       VALUES ('run_old', 1, 'approval.voted', 1, 'ask', '{"comment":"ocelot approved"}', '', 'x')`,
    )
    old.close()

    const migrated = await openDatabase({ url })
    try {
      const index = createSearchIndex(migrated)
      const all = { in: ['runs', 'resources', 'flows'] as const, flow: null, limit: 10 }
      const hit = async (query: string) => (await index.search({ ...all, query })).hits
      expect(await hit('narwhal')).toMatchObject([{ kind: 'run', id: 'run_old', run: 'run_old', flow: 'legacy' }])
      expect(await hit('capybara')).toMatchObject([{ kind: 'run', run: 'run_old' }])
      expect(await hit('ocelot')).toMatchObject([{ kind: 'event', id: 'run_old:1', run: 'run_old', step: 'ask' }])
      expect(await hit('walrus')).toMatchObject([{ kind: 'flow', id: 'legacy#1', flow: 'legacy', run: null }])
    } finally {
      migrated.close()
    }
  })
})
