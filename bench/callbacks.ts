// Parks N runs (a wait then a transform) on a real server process, then completes them by callbacks:
// closed loop at concurrency 32 (next callback when the previous run completed) and a burst at concurrency 64.
// Prints JSON: completions/s, p50/p99 latency (callback sent → run completed), RSS with N runs parked. In the closed
// loop a run counts as completed when the callback's 202 reports it ended, or else when a settle read sees it end.
// BENCH_DATABASE=sqld runs the server on a throwaway libSQL server (sqld on loopback) instead of the embedded file,
// reached over Hrana on HTTP (http://); BENCH_DATABASE=sqld-ws reaches it over WebSockets (ws://).
import { signCallbackToken } from '../src/core/callback-token.ts'
import { startSqld } from '../test/support/sqld.ts'
import { createBenchClient } from './support/http-client.ts'
import { call, cpuMsOf, memoryOf, percentile, serverNodeFlags, startBenchServer } from './support/serve.ts'

const N = Number(process.env.BENCH_RUNS ?? 5000)
const FLOW = `slug: bench_callbacks
steps:
  - id: done
    wait: {}
  - id: shape
    transform: "{{ { 'ok': true, 'n': steps.done.output.n } }}"
`

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T
        await work(item)
      }
    }),
  )
}

async function park(server: Awaited<ReturnType<typeof startBenchServer>>, n: number): Promise<string[]> {
  const ids: string[] = []
  await pool(
    Array.from({ length: n }, (_, i) => i),
    32,
    async () => {
      const { status, json } = await call(server, 'POST', '/api/v1/runs', { flow: 'bench_callbacks', inputs: {} })
      if (status !== 201) throw new Error(`start failed: ${status} ${JSON.stringify(json)}`)
      ids.push((json.data as { run: { id: string } }).run.id)
    },
  )
  // Every run must be parked on its wait before the measurement starts.
  for (;;) {
    const { json } = await call(server, 'GET', '/api/v1/runs?status=running,queued&limit=1')
    if ((json.data as { runs: unknown[] }).runs.length === 0) return ids
    await new Promise((r) => setTimeout(r, 100))
  }
}

function summarize(latencies: number[], wallMs: number) {
  const sorted = [...latencies].sort((a, b) => a - b)
  return {
    runs: latencies.length,
    completions_per_s: Math.round((latencies.length / wallMs) * 1000),
    p50_ms: +percentile(sorted, 0.5).toFixed(1),
    p99_ms: +percentile(sorted, 0.99).toFixed(1),
    max_ms: +(sorted.at(-1) ?? 0).toFixed(1),
  }
}

async function phase(
  server: Awaited<ReturnType<typeof startBenchServer>>,
  concurrency: number,
  mode: 'closed' | 'burst',
) {
  const ids = await park(server, N)
  const parkedMemory = memoryOf(server.child.pid ?? 0)
  const latencies: number[] = []
  const sentAt = new Map<string, number>()
  let answeredEnded = 0
  const client = createBenchClient(server.url, 2 * concurrency)
  const auth = { authorization: `Bearer ${server.token}` }
  const settled = async (runId: string) => {
    const answer = await client.send(
      'GET',
      `/api/v1/runs/${runId}?settle=ended&timeout_ms=30000&view=brief`,
      undefined,
      auth,
    )
    return (JSON.parse(answer.text) as { data: { run: { status: string; ended_at: string } } }).data.run
  }
  const cpuBefore = cpuMsOf(server.child.pid ?? 0)
  const benchCpuBefore = process.cpuUsage()
  const start = performance.now()
  await pool(ids, concurrency, async (runId) => {
    const token = signCallbackToken(server.secretKey, { runId, stepId: 'done', visit: 1 })
    const sent = performance.now()
    sentAt.set(runId, Date.now())
    const answer = await client.send('POST', `/callbacks/${token}`, JSON.stringify({ n: runId }))
    if (answer.status !== 202) throw new Error(`callback ${answer.status}: ${answer.text}`)
    if (mode === 'burst') return
    // The 202 reports the run's status as the callback's commit left it; ask the server only if it has not ended.
    const reported = (JSON.parse(answer.text) as { data: { run: { status: string } } }).data.run.status
    if (reported !== 'running') answeredEnded++
    const status = reported === 'running' ? (await settled(runId)).status : reported
    if (status !== 'succeeded') throw new Error(`run ${runId} did not succeed: ${status}`)
    latencies.push(performance.now() - sent)
  })
  let lastEnd = 0
  if (mode === 'burst') {
    // Callbacks went out back to back; a run's latency is its server-side end minus when its callback was sent.
    await pool(ids, 64, async (runId) => {
      const ended = Date.parse((await settled(runId)).ended_at)
      lastEnd = Math.max(lastEnd, ended)
      latencies.push(Math.max(0, ended - (sentAt.get(runId) ?? ended)))
    })
  }
  const firstSent = Math.min(...sentAt.values())
  const wallMs = mode === 'burst' ? lastEnd - firstSent : performance.now() - start
  const serverCpuMs = cpuMsOf(server.child.pid ?? 0) - cpuBefore
  const benchCpu = process.cpuUsage(benchCpuBefore)
  client.close()
  return {
    concurrency,
    mode,
    parked_rss: parkedMemory,
    ...summarize(latencies, wallMs),
    ...(mode === 'closed' ? { ended_in_callback_answer: answeredEnded } : {}),
    server_cpu_ms_per_completion: +(serverCpuMs / latencies.length).toFixed(2),
    // The clients in this process share the machine's two cores with the server.
    bench_cpu_ms_per_completion: +((benchCpu.user + benchCpu.system) / 1000 / latencies.length).toFixed(2),
  }
}

const database = process.env.BENCH_DATABASE ?? 'file'
if (!['file', 'sqld', 'sqld-ws'].includes(database)) throw new Error('BENCH_DATABASE is file, sqld or sqld-ws')
const sqld = database === 'file' ? undefined : await startSqld()
const sqldUrl = database === 'sqld-ws' ? `ws://127.0.0.1:${sqld?.port}` : sqld?.url
const server = await startBenchServer(sqldUrl ? { DATABASE_URL: sqldUrl } : {})
try {
  const push = await call(server, 'POST', '/api/v1/flows', { source: FLOW })
  if (push.status >= 300) throw new Error(JSON.stringify(push.json))
  await call(server, 'POST', '/api/v1/flows/bench_callbacks/release', {})
  const closed = await phase(server, 32, 'closed')
  const burst = await phase(server, 64, 'burst')
  console.log(
    JSON.stringify({
      bench: 'callbacks',
      database,
      runs_per_phase: N,
      server_node_flags: serverNodeFlags(),
      closed_loop: closed,
      burst,
      server_memory: memoryOf(server.child.pid ?? 0),
      targets: { completions_per_s: 2000, p99_ms: 50, parked_rss_mb: 150 },
    }),
  )
} finally {
  await server.stop()
  await sqld?.stop()
}
