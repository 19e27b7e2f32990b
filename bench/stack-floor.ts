// The floor of this stack for bench/callbacks' closed loop: a bare node:http server on the same database layer (real
// migrations, group commit, cached native statements) that does only what any implementation of a callback
// completion must: parse the request, read the run and its wait, write the wait, two step results, four chained
// events and the run in one transaction, and answer with the run's status (as Greenlight's 202 does, so the client
// needs no status read). No engine, no framework, no validation. It tells how far the 2,000/s target is from what Node.js and libSQL give on this machine.
// Prints JSON like bench/callbacks: completions/s, p50/p99, CPU per completion.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveChainKey, eventHash } from '../src/core/hash-chain.ts'
import { payloadHash } from '../src/engine/callbacks.ts'
import { openDatabase } from '../src/store/database.ts'
import { runEvents, runs, stepRuns, waits } from '../src/store/schema.ts'
import { tableCodec } from '../src/store/sql-table.ts'
import { createBenchClient } from './support/http-client.ts'
import {
  cpuMsOf,
  listenAndAnnounce,
  percentile,
  readRequestBody,
  serverNodeFlags,
  startFloorServer,
} from './support/serve.ts'

// The floor pays for the keyed chain as the server does; any key costs the same.
const chainKey = deriveChainKey(randomBytes(32))

const N = Number(process.env.BENCH_RUNS ?? 5000)
const CONCURRENCY = 32

const runTable = tableCodec(runs)
const waitTable = tableCodec(waits)
const stepRunTable = tableCodec(stepRuns)
const eventTable = tableCodec(runEvents)

async function serve(dbPath: string): Promise<void> {
  const database = await openDatabase({ url: `file:${dbPath}` })
  const at = Date.now()
  await database.write(async (_tx, sql) => {
    for (let i = 0; i < N; i++) {
      const id = `run_${i}`
      const run = runTable.insert({
        ...{ id, flowSlug: 'floor', revisionId: 1, version: 1, status: 'waiting', inputs: {}, initiator: 'U0FLOOR' },
        ...{ trigger: 'api', cursor: { step: 'done', visit: 1, attempt: 1, visits: { done: 1 } } },
        ...{ waitingOn: { step: 'done', kind: 'wait' }, eventCount: 0, createdAt: at, updatedAt: at },
      })
      await sql.run(run.sql, run.args)
      const wait = waitTable.insert({
        ...{ id: `wait_${i}`, runId: id, stepId: 'done', visit: 1, kind: 'wait', status: 'open', createdAt: at },
      })
      await sql.run(wait.sql, wait.args)
    }
  })
  async function complete(runId: string, raw: Buffer): Promise<number> {
    const payload = JSON.parse(raw.toString('utf8')) as unknown
    const hash = payloadHash(raw)
    return database.write(async (_tx, sql) => {
      const now = Date.now()
      const run = await sql.row(`${runTable.select} WHERE id = ?`, [runId])
      const waitRow = await sql.row(`${waitTable.select} WHERE run_id = ? AND step_id = ? AND visit = ?`, [
        runId,
        'done',
        1,
      ])
      if (!run || !waitRow) return 404
      const wait = waitTable.decodeRow(waitRow)
      if (wait.status !== 'open') return 409
      const head = runTable.decodeRow(run)
      const patch = waitTable.assignments({
        status: 'completed',
        result: payload,
        payload,
        payloadHash: hash,
        completedAt: now,
      })
      await sql.run(`UPDATE waits SET ${patch.sql} WHERE id = ? AND status = 'open'`, [...patch.args, wait.id])
      const output = { ok: true, n: (payload as { n?: unknown }).n }
      for (const [stepId, kind, value] of [
        ['done', 'wait', payload],
        ['shape', 'transform', output],
      ] as const) {
        const upsert = stepRunTable.upsert(
          {
            ...{ runId, stepId, visit: 1, kind, status: 'succeeded', attempt: 1, output: value, error: null },
            ...{ billable: kind === 'transform', startedAt: now, endedAt: now },
          },
          'run_id, step_id, visit',
        )
        await sql.run(upsert.sql, upsert.args)
      }
      let prev = head.lastEventHash
      const types = ['wait.completed', 'step.succeeded', 'step.succeeded', 'run.succeeded']
      const events = types.map((type, i) => {
        const event = { runId, seq: head.eventCount + i + 1, type, at: now, actor: null, stepId: 'done', data: {} }
        const row = { ...event, prevHash: prev, hash: eventHash(chainKey, prev, event) }
        prev = row.hash
        return row
      })
      const insert = eventTable.insertRows(events)
      await sql.run(insert.sql, insert.args)
      const runPatch = runTable.assignments({
        ...{ status: 'succeeded', cursor: { step: null, visit: 1, attempt: 1, visits: { done: 1, shape: 1 } } },
        ...{ waitingOn: null, output, leaseOwner: null, leaseExpiresAt: null, runnableAt: null, endedAt: now },
        ...{ eventCount: head.eventCount + events.length, lastEventHash: prev, updatedAt: now },
      })
      await sql.run(`UPDATE runs SET ${runPatch.sql} WHERE id = ?`, [...runPatch.args, runId])
      return 202
    })
  }

  const server = createServer((request, response) => {
    const [, kind, id] = (request.url ?? '').split('/')
    const answer = (status: number, text: string) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(text)
    if (request.method === 'POST' && kind === 'cb' && id) {
      readRequestBody(request)
        .then((raw) => complete(id, raw))
        .then((status) =>
          answer(
            status,
            status === 202 ? `{"ok":true,"data":{"run":{"id":"${id}","status":"succeeded"}}}` : '{"ok":false}',
          ),
        )
        .catch(() => answer(500, '{"ok":false}'))
    } else answer(404, '{"ok":false}')
  })
  listenAndAnnounce(server)
}

async function drive(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-floor-'))
  const floor = await startFloorServer('bench/stack-floor.ts', ['--serve', join(dir, 'floor.db')])
  const child = floor.child
  try {
    const client = createBenchClient(floor.url, 2 * CONCURRENCY)
    const latencies: number[] = []
    let next = 0
    const cpuBefore = cpuMsOf(child.pid ?? 0)
    const benchBefore = process.cpuUsage()
    const start = performance.now()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const id = `run_${next++}`
          const sent = performance.now()
          const posted = await client.send('POST', `/cb/${id}`, JSON.stringify({ n: id }))
          if (posted.status !== 202 || !posted.text.includes('"succeeded"')) throw new Error(`callback: ${posted.text}`)
          latencies.push(performance.now() - sent)
        }
      }),
    )
    const wallMs = performance.now() - start
    const serverCpuMs = cpuMsOf(child.pid ?? 0) - cpuBefore
    const bench = process.cpuUsage(benchBefore)
    client.close()
    const sorted = latencies.sort((a, b) => a - b)
    console.log(
      JSON.stringify({
        bench: 'stack-floor',
        runs: N,
        concurrency: CONCURRENCY,
        server_node_flags: serverNodeFlags(),
        completions_per_s: Math.round((N / wallMs) * 1000),
        p50_ms: +percentile(sorted, 0.5).toFixed(1),
        p99_ms: +percentile(sorted, 0.99).toFixed(1),
        server_cpu_ms_per_completion: +(serverCpuMs / N).toFixed(2),
        bench_cpu_ms_per_completion: +((bench.user + bench.system) / 1000 / N).toFixed(2),
      }),
    )
  } finally {
    await floor.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv.includes('--serve')) await serve(process.argv[process.argv.indexOf('--serve') + 1] as string)
else await drive()
