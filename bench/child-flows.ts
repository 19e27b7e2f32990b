// Child-flow round trips on a real server process: N parent runs, each calling a child flow that does one transform,
// against N plain runs of that same transform, both started closed loop at concurrency 32 (`runs start` with wait,
// so the answer comes when the run ends). Prints JSON: completions/s and p50/p99 latency (start sent → run ended)
// for each, and the ratio (target: a child-flow run under 2x a plain run).
import { call, percentile, serverNodeFlags, startBenchServer } from './support/serve.ts'

const N = Number(process.env.BENCH_RUNS ?? 1000)
const CONCURRENCY = 32

const CHILD = `slug: bench_child
steps:
  - id: shape
    transform: "{{ { 'ok': true } }}"
`
const PARENT = `slug: bench_parent
steps:
  - id: call
    flow: { slug: bench_child }
`

async function runAll(server: Awaited<ReturnType<typeof startBenchServer>>, flow: string) {
  const latencies: number[] = []
  let next = 0
  const began = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        next++
        const sent = performance.now()
        const { status, json } = await call(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true })
        const run = (json.data as { run?: { id: string; status: string } } | undefined)?.run
        if (status !== 201 || !run) throw new Error(`start failed: ${status} ${JSON.stringify(json)}`)
        let ended = run.status === 'succeeded'
        while (!ended) {
          const shown = await call(server, 'GET', `/api/v1/runs/${run.id}?settle=ended&timeout_ms=10000&view=brief`)
          const now = (shown.json.data as { run: { status: string } }).run.status
          if (now !== 'succeeded' && now !== 'running' && now !== 'queued')
            throw new Error(`run ${run.id} ended ${now}`)
          ended = now === 'succeeded'
        }
        latencies.push(performance.now() - sent)
      }
    }),
  )
  const wallMs = performance.now() - began
  const sorted = latencies.sort((a, b) => a - b)
  return {
    runs: latencies.length,
    completions_per_s: Math.round((latencies.length / wallMs) * 1000),
    p50_ms: +percentile(sorted, 0.5).toFixed(1),
    p99_ms: +percentile(sorted, 0.99).toFixed(1),
  }
}

const server = await startBenchServer()
try {
  for (const source of [CHILD, PARENT]) {
    const slug = /^slug: (\S+)/.exec(source)?.[1]
    if ((await call(server, 'POST', '/api/v1/flows', { source })).status !== 201) throw new Error(`push ${slug}`)
    if ((await call(server, 'POST', `/api/v1/flows/${slug}/release`, {})).status !== 201)
      throw new Error(`release ${slug}`)
  }
  const plain = await runAll(server, 'bench_child')
  const child = await runAll(server, 'bench_parent')
  console.log(
    JSON.stringify({
      bench: 'child_flows',
      runs_per_phase: N,
      concurrency: CONCURRENCY,
      server_node_flags: serverNodeFlags(),
      plain_run: plain,
      child_flow_run: child,
      ratio: {
        completions_per_s: +(plain.completions_per_s / Math.max(1, child.completions_per_s)).toFixed(2),
        p99: +(child.p99_ms / Math.max(0.1, plain.p99_ms)).toFixed(2),
      },
      targets: { child_round_trip_vs_plain: 2 },
    }),
  )
} finally {
  await server.stop()
}
