// Measures a server's RSS (and peak RSS) before and after pushing, releasing and starting one run of a large flow;
// prints JSON. BENCH_STEPS sets the flow's size (default 10,000), BENCH_MAX_FLOW_STEPS the server's
// GREENLIGHT_MAX_FLOW_STEPS (unset: the default, which refuses a flow over 1,000 steps at push).
import { call, memoryOf, startBenchServer } from './support/serve.ts'

const STEPS = Number(process.env.BENCH_STEPS ?? 10_000)
const limit = process.env.BENCH_MAX_FLOW_STEPS

function largeFlow(steps: number): string {
  const lines = ['slug: large', 'steps:']
  for (let i = 0; i < steps; i++) lines.push(`  - id: s${i}`, `    transform: { expr: '{"n": ${i}}' }`)
  return `${lines.join('\n')}\n`
}

const server = await startBenchServer(limit === undefined ? {} : { GREENLIGHT_MAX_FLOW_STEPS: limit })
try {
  const pid = server.child.pid ?? 0
  await new Promise((resolve) => setTimeout(resolve, 500))
  const idle = memoryOf(pid)
  const source = largeFlow(STEPS)
  const started = performance.now()
  const pushed = await call(server, 'POST', '/api/v1/flows', { source })
  const pushMs = performance.now() - started
  const afterPush = memoryOf(pid)
  let released = 0
  let run = 0
  if (pushed.status < 300) {
    released = (await call(server, 'POST', '/api/v1/flows/large/release', {})).status
    run = (await call(server, 'POST', '/api/v1/runs', { flow: 'large' })).status
    await new Promise((resolve) => setTimeout(resolve, 2_000))
  }
  const after = memoryOf(pid)
  const error = pushed.json.error as { code?: string; details?: unknown } | undefined
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'large-flow',
        steps: STEPS,
        source_bytes: Buffer.byteLength(source),
        max_flow_steps: limit ?? 'default',
        push: { status: pushed.status, code: error?.code ?? null, ms: Math.round(pushMs) },
        release_status: released,
        run_status: run,
        idle,
        after_push: afterPush,
        after,
        peak_over_idle: +(after.peak_rss_mb / idle.rss_mb).toFixed(2),
      },
      null,
      2,
    )}\n`,
  )
} finally {
  await server.stop()
}
