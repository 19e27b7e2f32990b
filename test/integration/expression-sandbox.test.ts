// Flow expressions run under a budget (src/core/flow/expression-budget.ts) and, unless cheap by their syntax, in
// child processes (src/sandbox/): an expression that would abort V8, loop for hours or backtrack forever fails its
// step with `expression_limit` while the server keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRandom, fuzzSeed } from '../support/fuzz-env.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const transformFlow = (slug: string, expression: string) => `slug: ${slug}
steps:
  - id: compute
    transform: ${JSON.stringify(expression)}
`

/** Starts a run of a flow whose one transform is `expression` and waits for it to end. */
async function runTransform(server: TestServer, slug: string, expression: string): Promise<Json> {
  await pushRelease(server, transformFlow(slug, expression))
  const started = await api(server, 'POST', '/api/v1/runs', { flow: slug, inputs: {} })
  expect(started.status, JSON.stringify(started.body)).toBe(201)
  const id = (started.body.data as Json).run.id
  return runReaches(server, id, ['succeeded', 'failed'], 30_000)
}

describe('expression budget', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_EXPRESSION_TIMEOUT_MS: '500' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('fails a transform whose string doubling would abort V8 (C1) and keeps serving', async () => {
    const shown = await runTransform(
      server,
      'doubling',
      "{{ ($f := function($s,$k){ $k = 0 ? $length($s) : $f($s & $s, $k - 1) }; $f('x', 28)) }}",
    )
    expect(shown.run.status).toBe('failed')
    expect(shown.run.error).toMatchObject({ code: 'expression_limit', step: 'compute' })
    expect(shown.run.error.message).toContain("Step 'compute'")
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })

  it('stops a tail-recursive loop of 1e12 iterations at its time budget (H1)', async () => {
    const shown = await runTransform(
      server,
      'long_loop',
      '{{ ($loop := function($n){ $n = 0 ? 0 : $loop($n - 1) }; $loop(1000000000000)) }}',
    )
    expect(shown.run.error).toMatchObject({ code: 'expression_limit' })
    expect(shown.run.error.message).toMatch(/time budget/)
  })

  it('kills an evaluator stuck in a backtracking regular expression', async () => {
    const shown = await runTransform(
      server,
      'redos',
      "{{ $match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /^(a+)+$/) }}",
    )
    expect(shown.run.error).toMatchObject({ code: 'expression_limit' })
    expect(shown.run.error.message).toMatch(/time budget/)
  })

  it('refuses one allocation larger than the evaluator heap', async () => {
    const shown = await runTransform(server, 'huge_pad', "{{ $length($pad('x', 400000000)) }}")
    expect(shown.run.error).toMatchObject({ code: 'expression_limit' })
  })

  it('still evaluates ordinary expressions, in this thread and in isolation alike', async () => {
    const inline = await runTransform(server, 'plain', "{{ { 'n': 1 + 2, 's': 'a' & 'b' } }}")
    expect(inline.run.status).toBe('succeeded')
    expect(inline.run.output).toEqual({ n: 3, s: 'ab' })
    const isolated = await runTransform(
      server,
      'isolated',
      "{{ ($sq := function($x){ $x * $x }; $join($map([1,2,3], $sq).$string(), ',')) }}",
    )
    expect(isolated.run.status, JSON.stringify(isolated.run.error)).toBe('succeeded')
    expect(isolated.run.output).toBe('1,4,9')
  })
})

/** Expressions built to exhaust something: recursion depth, string and array sizes, loop counts, backtracking. */
const GENERATORS: ((n: (min: number, max: number) => number) => string)[] = [
  (n) => `($f := function($k){ $k = 0 ? 0 : 1 + $f($k - 1) }; $f(${n(10, 10_000_000)}))`,
  (n) => `($f := function($s,$k){ $k = 0 ? $length($s) : $f($s & $s, $k - 1) }; $f('xy', ${n(4, 40)}))`,
  (n) => `($loop := function($k){ $k = 0 ? 'done' : $loop($k - 1) }; $loop(${n(10, 1e12)}))`,
  (n) => `$count([1..${n(10, 1e9)}])`,
  (n) => `$count([1..${n(10, 5000)}].[1..${n(10, 5000)}])`,
  (n) => `$length($pad('x', ${n(10, 2e9)}))`,
  (n) => `$match('${'a'.repeat(n(5, 60))}!', /^(a+)+$/)`,
  (n) => {
    const width = n(2, 10)
    const array = `[${Array.from({ length: width }, (_, i) => i).join(',')}]`
    return `$count(${Array.from({ length: n(2, 12) }, () => array).join('.')})`
  },
  (n) => `$reduce([1..${n(10, 5_000_000)}], function($a, $b){ $a & $string($b) }, '')`,
  (n) => {
    const depth = n(1, 300)
    return `$string(${'['.repeat(depth)}1${']'.repeat(depth)})`
  },
]

describe('randomized expressions against a running server', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_EXPRESSION_TIMEOUT_MS: '300' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('never dies, keeps /healthz fast, and fails each bad run with a clear code', async () => {
    const seed = fuzzSeed(Date.now() % 1_000_000)
    const random = createRandom(seed)
    const n = (min: number, max: number) => Math.floor(min * (max / min) ** random.next()) // log-uniform
    const cases = Array.from({ length: 24 }, (_, i) => {
      const generate = GENERATORS[i % GENERATORS.length] as (typeof GENERATORS)[number]
      return { slug: `fuzz_${i}`, expression: `{{ ${generate(n)} }}` }
    })
    for (const c of cases) await pushRelease(server, transformFlow(c.slug, c.expression))

    const latencies: number[] = []
    let probing = true
    const probe = (async () => {
      while (probing) {
        const at = performance.now()
        const answer = await fetch(`${server.url}/healthz`)
        await answer.arrayBuffer()
        expect(answer.status).toBe(200)
        latencies.push(performance.now() - at)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    const ids: string[] = []
    for (const c of cases) {
      const started = await api(server, 'POST', '/api/v1/runs', { flow: c.slug, inputs: {} })
      expect(started.status, JSON.stringify(started.body)).toBe(201)
      ids.push((started.body.data as Json).run.id)
    }
    const ended = []
    for (const [index, id] of ids.entries()) {
      const shown = await runReaches(server, id, ['succeeded', 'failed'], 60_000)
      ended.push({ ...cases[index], status: shown.run.status, error: shown.run.error })
    }
    probing = false
    await probe

    const context = `seed ${seed}`
    for (const run of ended) {
      if (run.status === 'failed') {
        expect(['expression_limit', 'expression_failed'], `${context} ${run.expression}`).toContain(run.error?.code)
        expect(run.error?.step, context).toBe('compute')
      }
    }
    expect(ended.filter((run) => run.error?.code === 'expression_limit').length, context).toBeGreaterThan(0)
    latencies.sort((a, b) => a - b)
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY
    expect(latencies.length, context).toBeGreaterThan(20)
    expect(p99, `${context}: /healthz p99 over ${latencies.length} probes`).toBeLessThan(100)
  })
})
