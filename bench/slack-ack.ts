// Slack HTTP mode ack latency: parks approvals on a real server process (Slack faked in this process), then sends
// (from a worker thread) BENCH_CLICKS signed `gl_approve` clicks at BENCH_CONCURRENCY, each a distinct eligible vote, and times every
// round trip (request sent → ack received). Afterwards it checks that every 200-acked vote is stored (the vote is
// written before the ack). Prints one JSON line; exits 1 when an acked vote is missing.
// BENCH_FLOOR=1 sends the same clicks to support/slack-floor-server.ts instead, on the database the real server
// parked the approvals in: the floor of this stack for the same work (see docs/performance.md).
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { buildBlockActionPayload, createFakeSlack, encodeForm } from '../test/support/fake-slack/index.ts'
import {
  type BenchServer,
  call,
  cpuMsOf,
  memoryOf,
  percentile,
  serverNodeFlags,
  startBenchServer,
  startFloorServer,
} from './support/serve.ts'

const CLICKS = Number(process.env.BENCH_CLICKS ?? 1000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50)
/** Votes per approval; a flow allows at most 50, so the clicks are spread over ceil(CLICKS / REQUIRED) runs. */
const REQUIRED = Math.min(50, CLICKS, Number(process.env.BENCH_REQUIRED ?? 50))
const SECRET = 'bench-slack-signing-secret'
const CHANNEL = 'C0BENCH'
const SLUG = 'bench_slack_ack'
const FLOOR = process.env.BENCH_FLOOR === '1'

const users = Array.from({ length: CLICKS }, (_, i) => `U0B${String(i).padStart(7, '0')}`)
const approvals = Math.ceil(CLICKS / REQUIRED)

// Every bench user is an approver of every run; click i votes as users[i] on approval floor(i / REQUIRED).
const FLOW = `slug: ${SLUG}
steps:
  - id: review
    approval:
      message: "*Bench* approval"
      approvers: { users: ${JSON.stringify(users)} }
      required: ${REQUIRED}
`

/** Signs (at send time, as Slack does) and posts the bodies with CONCURRENCY clients; returns status and latency
 * (from sending the request to the end of its answer). */
function sendFromWorker(url: string, bodies: string[]): Promise<{ status: number; latencyMs: number }[]> {
  // node:http with a keep-alive agent, not fetch: undici's fetch costs the client as much CPU per click as the server
  // spends, on the same two cores, and the bench is about the server.
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { createHmac } = require('node:crypto')
    const http = require('node:http')
    const { url, bodies, secret, concurrency } = workerData
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
    const results = new Array(bodies.length)
    let next = 0
    function signed(body) {
      const timestamp = Math.floor(Date.now() / 1000)
      const signature = 'v0=' + createHmac('sha256', secret).update('v0:' + timestamp + ':' + body).digest('hex')
      return {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signature,
      }
    }
    function post(body, headers) {
      return new Promise((resolve, reject) => {
        const request = http.request(url, { method: 'POST', agent, headers }, (response) => {
          response.resume()
          response.once('end', () => resolve(response.statusCode))
          response.once('error', reject)
        })
        request.once('error', reject)
        request.end(body)
      })
    }
    async function client() {
      while (next < bodies.length) {
        const i = next++
        const headers = signed(bodies[i])
        const started = performance.now()
        const status = await post(bodies[i], headers)
        results[i] = { status, latencyMs: performance.now() - started }
      }
    }
    Promise.all(Array.from({ length: concurrency }, client)).then(() => {
      agent.destroy()
      parentPort.postMessage(results)
    })
  `
  const worker = new Worker(source, {
    eval: true,
    workerData: { url, bodies, secret: SECRET, concurrency: CONCURRENCY },
  })
  return new Promise((resolve, reject) => {
    worker.once('message', (results) => {
      resolve(results)
      void worker.terminate()
    })
    worker.once('error', reject)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Approval {
  runId: string
  wait: string
  digest: string
  messageTs: string
}

async function openWait(server: BenchServer, runId: string): Promise<{ id: string; digest: string }> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const { json } = await call(server, 'GET', `/api/v1/waits?kind=approval&run=${runId}`)
    const wait = (json.data as { waits: { id: string; digest: string; status: string }[] }).waits[0]
    if (wait) return wait
    if (Date.now() > deadline) throw new Error(`run ${runId} never opened its approval`)
    await sleep(50)
  }
}

async function parkApprovals(server: BenchServer, fake: Awaited<ReturnType<typeof createFakeSlack>>) {
  const runIds: string[] = []
  for (let i = 0; i < approvals; i++) {
    const { status, json } = await call(server, 'POST', '/api/v1/runs', { flow: SLUG, inputs: {} })
    if (status !== 201) throw new Error(`start failed: ${status} ${JSON.stringify(json)}`)
    runIds.push((json.data as { run: { id: string } }).run.id)
  }
  const parked: Approval[] = []
  for (const runId of runIds) {
    const wait = await openWait(server, runId)
    // The approval message the clicks come from, as posted to the fake through the outbox.
    const message = await fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find((m) => JSON.stringify(m.blocks ?? []).includes(wait.id) && m.ts !== undefined),
      30_000,
    )
    parked.push({ runId, wait: wait.id, digest: wait.digest, messageTs: message.ts })
  }
  // Let the setup's Slack traffic (cards, threads) drain, so the measurement sees only the clicks.
  let calls = -1
  while (fake.calls.length !== calls) {
    calls = fake.calls.length
    await sleep(300)
  }
  return parked
}

const fake = await createFakeSlack({
  users: users.map((id) => ({ id, name: id.toLowerCase() })),
  channels: { [CHANNEL]: { name: 'bench', members: users } },
})
let server: BenchServer | undefined
let floor: Awaited<ReturnType<typeof startFloorServer>> | undefined
let exitCode = 0
try {
  server = await startBenchServer({
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_APP_TOKEN: '', // HTTP mode even when the shell has a Socket Mode token
    SLACK_API_URL: fake.apiUrl,
    GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
  })
  const push = await call(server, 'POST', '/api/v1/flows', { source: FLOW })
  if (push.status >= 300) throw new Error(JSON.stringify(push.json))
  const release = await call(server, 'POST', `/api/v1/flows/${SLUG}/release`, {})
  if (release.status >= 300) throw new Error(JSON.stringify(release.json))
  const parked = await parkApprovals(server, fake)

  // The clicks are built here (trigger ids and response URLs come from the fake) and sent from a worker thread: the
  // fake Slack answering the server's chat.update calls in this thread must not delay the clicks or their timing.
  const clicks = users.map((user, i) => {
    const approval = parked[Math.floor(i / REQUIRED)] as Approval
    const payload = buildBlockActionPayload(
      {
        user,
        action_id: 'gl_approve',
        block_id: 'approval_actions',
        value: JSON.stringify({ wait: approval.wait, digest: approval.digest }),
        channel: CHANNEL,
        message_ts: approval.messageTs,
      },
      { fake },
    )
    return { index: i, user, wait: approval.wait, body: encodeForm({ payload: JSON.stringify(payload) }) }
  })
  if (FLOOR) {
    await server.stop({ keepData: true })
    floor = await startFloorServer('bench/support/slack-floor-server.ts', [
      join(server.dir, 'data', 'greenlight.db'),
      SECRET,
    ])
  }
  const target = floor ?? { url: server.url, child: server.child }
  const callsBefore = fake.calls.length
  const ephemeralsBefore = fake.ephemerals().length
  const cpuBefore = cpuMsOf(target.child.pid ?? 0)
  const benchCpuBefore = process.cpuUsage()
  const start = performance.now()
  const sent = await sendFromWorker(
    `${target.url}/slack/events`,
    clicks.map((c) => c.body),
  )
  const results = clicks.map((click, i) => ({ ...click, response: sent[i] as { status: number; latencyMs: number } }))
  const wallMs = performance.now() - start
  const serverCpuMs = cpuMsOf(target.child.pid ?? 0) - cpuBefore
  const benchCpu = process.cpuUsage(benchCpuBefore)
  const serverMemory = memoryOf(target.child.pid ?? 0)

  // Durability: every click that got its 200 ack must be a stored vote.
  const stored = new Set<string>()
  if (floor) {
    for (const key of (await (await fetch(`${floor.url}/votes`)).json()) as string[]) stored.add(key)
  } else {
    for (const approval of parked) {
      const { json } = await call(server, 'GET', `/api/v1/waits/${approval.wait}`)
      for (const vote of (json.data as { wait: { votes: { user: string }[] } }).wait.votes) {
        stored.add(`${approval.wait}|${vote.user}`)
      }
    }
  }
  const acked = results.filter((r) => r.response.status === 200)
  const missing = acked.filter((r) => !stored.has(`${r.wait}|${r.user}`))
  const durable = missing.length === 0 && stored.size === acked.length
  // A refused vote is still acked (200) and told to the user in an ephemeral; there should be none.
  await sleep(500)
  const refusals = fake.ephemerals().length - ephemeralsBefore
  // What the server sent Slack for the clicks (approval message and card updates, thread posts), by method.
  const slackCalls: Record<string, number> = {}
  for (const c of fake.calls.slice(callsBefore)) slackCalls[c.method] = (slackCalls[c.method] ?? 0) + 1

  const sorted = results.map((r) => r.response.latencyMs).sort((a, b) => a - b)
  const ms = (p: number) => +percentile(sorted, p).toFixed(1)
  // The first burst opens CONCURRENCY new connections at once; the rest reuse them (keep-alive).
  const warm = results
    .filter((r) => r.index >= CONCURRENCY)
    .map((r) => r.response.latencyMs)
    .sort((a, b) => a - b)
  console.log(
    JSON.stringify({
      bench: FLOOR ? 'slack-ack-floor' : 'slack-ack',
      clicks: results.length,
      concurrency: CONCURRENCY,
      server_node_flags: serverNodeFlags(),
      p50_ms: ms(0.5),
      p90_ms: ms(0.9),
      p99_ms: ms(0.99),
      max_ms: +(sorted.at(-1) ?? 0).toFixed(1),
      p99_ms_after_first_burst: +percentile(warm, 0.99).toFixed(1),
      acks_per_s: Math.round((acked.length / wallMs) * 1000),
      server_cpu_ms_per_click: +(serverCpuMs / results.length).toFixed(2),
      server_cpu_busy: +(serverCpuMs / wallMs).toFixed(2),
      // This process: the clicking worker and the fake Slack answering the server's calls share the machine's cores.
      bench_cpu_ms_per_click: +((benchCpu.user + benchCpu.system) / 1000 / results.length).toFixed(2),
      votes_recorded: stored.size,
      all_acked_votes_durable: durable,
      acked_200: acked.length,
      not_200: results.length - acked.length,
      refusals,
      slack_calls: slackCalls,
      approvals,
      votes_per_approval: REQUIRED,
      server_memory: serverMemory,
      target: { p99_ms: 50 },
    }),
  )
  if (!durable) {
    console.error(
      `acked votes missing from the store: ${missing.length} (stored ${stored.size}, acked ${acked.length}, refused ${refusals})`,
    )
    exitCode = 1
  }
} finally {
  await floor?.stop()
  await server?.stop()
  await fake.close()
}
process.exitCode = exitCode
