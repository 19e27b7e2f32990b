// 1,000 full-text queries over 100,000 indexed run events (BENCH_EVENTS, BENCH_QUERIES); prints JSON p50/p99.
// The events are inserted straight into run_events on a fresh database, 1,000 runs of 100 events, 10,000 rows per
// multi-row INSERT inside one write transaction: the index triggers run for every row exactly as they do on the
// engine's path (applyTransition), so indexing cost is included in insert_ms. Queries go through the same
// createSearchIndex the step, the CLI and the API use: single words (common and rare), phrases, prefixes, OR, and
// flow and kind filters. Query words are drawn like the text, so most queries ask for common words (the slow case:
// bm25 ranks every match).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SearchQuery } from '../src/engine/search.ts'
import { openDatabase } from '../src/store/database.ts'
import { createSearchIndex } from '../src/store/search-store.ts'
import { percentile } from './support/serve.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000)
const QUERIES = Number(process.env.BENCH_QUERIES ?? 1000)
const PER_RUN = 100
const FLOWS = ['deploy', 'rollback', 'support', 'billing', 'oncall']
const WORDS = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo ' +
  'sierra tango uniform victor whiskey xray yankee zulu deploy rollback timeout error approved rejected disk memory ' +
  'latency cpu queue backlog incident pager customer refund invoice ticket region canary release database'
).split(' ')

let seed = 42
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}
// Text like logs and tickets: the words above plus 5,000 made-up ones, drawn by Zipf's law (rank r with weight 1/r), so
// a few words are in a large share of the events (the 1st in about 1 event in 9) and most are rare.
const SYLLABLES = 'ka lo mi ne ru ta shi vo ze pa'.split(' ')
for (let i = 0; WORDS.length < 5060; i++)
  WORDS.push(
    [i % 10, Math.floor(i / 10) % 10, Math.floor(i / 100) % 10, Math.floor(i / 1000)].map((d) => SYLLABLES[d]).join(''),
  )
const CUMULATIVE: number[] = []
let total = 0
for (let r = 1; r <= WORDS.length; r++) {
  total += 1 / r
  CUMULATIVE.push(total)
}
const word = () => {
  const x = rand() * (CUMULATIVE[CUMULATIVE.length - 1] as number)
  let lo = 0
  let hi = CUMULATIVE.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((CUMULATIVE[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return WORDS[lo] as string
}
const sentence = (n: number) => Array.from({ length: n }, word).join(' ')

const dir = mkdtempSync(join(tmpdir(), 'greenlight-bench-search-'))
const database = await openDatabase({ url: `file:${join(dir, 'bench.db')}` })
try {
  const runs = Math.ceil(EVENTS / PER_RUN)
  const insertStarted = performance.now()
  await database.write(async (_tx, sql) => {
    for (let r = 0; r < runs; r++) {
      const flow = FLOWS[r % FLOWS.length] as string
      await sql.run(
        `INSERT INTO runs (id, flow_slug, revision_id, status, inputs, initiator, trigger, cursor, created_at,
           updated_at) VALUES (?, ?, 1, 'succeeded', ?, 'bench', 'api', '{}', 1, 1)`,
        [`run_${r}`, flow, JSON.stringify({ ticket: `T-${r}`, text: sentence(6) })],
      )
    }
  })
  const BATCH = 10_000
  for (let start = 0; start < EVENTS; start += BATCH) {
    const n = Math.min(BATCH, EVENTS - start)
    await database.write(async (_tx, sql) => {
      for (let chunk = 0; chunk < n; chunk += 500) {
        const rows: (string | number)[] = []
        const m = Math.min(500, n - chunk)
        for (let i = 0; i < m; i++) {
          const k = start + chunk + i
          const data = JSON.stringify({ message: sentence(12), code: `E${k % 997}`, host: `web-${k % 50}` })
          rows.push(`run_${Math.floor(k / PER_RUN)}`, k % PER_RUN, 'wait.completed', k, `step_${k % 7}`, data)
        }
        await sql.run(
          `INSERT INTO run_events (run_id, seq, type, at, step_id, data, prev_hash, hash) VALUES ${Array.from(
            { length: m },
            () => "(?, ?, ?, ?, ?, ?, '', '')",
          ).join(', ')}`,
          rows,
        )
      }
    })
  }
  const insertMs = performance.now() - insertStarted
  const indexed = Number((await database.sql.get('SELECT count(*) AS n FROM search_index'))?.n)

  const index = createSearchIndex(database)
  const shapes: (() => Partial<SearchQuery> & { query: string })[] = [
    () => ({ query: word() }),
    () => ({ query: `${word()} ${word()}` }),
    () => ({ query: `"${word()} ${word()}"` }),
    () => ({ query: `${word().slice(0, 3)}*` }),
    () => ({ query: `${word()} OR ${word()}` }),
    () => ({ query: `E${Math.floor(rand() * 997)}` }),
    () => ({ query: word(), flow: FLOWS[Math.floor(rand() * FLOWS.length)] as string }),
    () => ({ query: `${word()} NOT ${word()}`, in: ['runs'] }),
  ]
  const SHAPE_NAMES = ['word', 'two_words', 'phrase', 'prefix', 'or', 'rare_code', 'word_in_flow', 'not_in_runs']
  const times: number[] = []
  const byShape: number[][] = shapes.map(() => [])
  let hits = 0
  for (let i = 0; i < QUERIES; i++) {
    const shape = (shapes[i % shapes.length] as (typeof shapes)[number])()
    const query: SearchQuery = { in: ['runs', 'resources', 'flows'], flow: null, limit: 10, ...shape }
    const started = performance.now()
    const result = await index.search(query)
    const ms = performance.now() - started
    times.push(ms)
    byShape[i % shapes.length]?.push(ms)
    hits += result.hits.length
  }
  times.sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 100) / 100
  process.stdout.write(
    `${JSON.stringify({
      bench: 'search',
      events: EVENTS,
      indexed_rows: indexed,
      insert_ms: Math.round(insertMs),
      queries: QUERIES,
      mean_hits: round(hits / QUERIES),
      p50_ms: round(percentile(times, 0.5)),
      p99_ms: round(percentile(times, 0.99)),
      max_ms: round(times[times.length - 1] ?? 0),
      p99_ms_by_shape: Object.fromEntries(
        byShape.map((t, i) => [
          SHAPE_NAMES[i],
          round(
            percentile(
              [...t].sort((a, b) => a - b),
              0.99,
            ),
          ),
        ]),
      ),
      targets: { p99_ms: 20 },
    })}\n`,
  )
} finally {
  database.close()
  rmSync(dir, { recursive: true, force: true })
}
