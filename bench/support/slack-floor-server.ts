// The floor of this stack for bench/slack-ack (BENCH_FLOOR=1): a bare node:http server on the database a real server
// left behind (its parked approvals), doing only what acking any vote must: check Slack's signature and timestamp,
// decode the form and its JSON payload, and in one transaction check the approval is open and the voter listed,
// insert the vote, count the approvals, append a hash-chained event to the run; then answer 200.
// Usage: node bin/run-ts.mjs bench/support/slack-floor-server.ts <database file> <signing secret>
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { deriveChainKey, eventHash } from '../../src/core/hash-chain.ts'
import { parseFormFields } from '../../src/slack/transport/parse-body.ts'
import { checkSlackSignature } from '../../src/slack/transport/signature.ts'
import { openDatabase } from '../../src/store/database.ts'
import { listenAndAnnounce, readRequestBody } from './serve.ts'

const [file, secret] = process.argv.slice(2) as [string, string]
const database = await openDatabase({ url: `file:${file}` })
// The floor pays for the keyed chain as the server does; any key costs the same.
const chainKey = deriveChainKey(randomBytes(32))
async function vote(raw: Buffer): Promise<number> {
  const payload = JSON.parse(parseFormFields(raw.toString('utf8')).get('payload') ?? '{}') as {
    user?: { id?: string }
    actions?: { value?: string }[]
  }
  const voter = payload.user?.id ?? ''
  const { wait: waitId, digest } = JSON.parse(payload.actions?.[0]?.value ?? '{}') as { wait?: string; digest?: string }
  return database.write(async (_tx, sql) => {
    const now = Date.now()
    const wait = await sql.get(
      `SELECT run_id AS run, step_id AS step, status, digest,
         EXISTS (SELECT 1 FROM json_each(spec, '$.approvers.users') WHERE value = ?) AS listed
       FROM waits WHERE id = ?`,
      [voter, waitId ?? ''],
    )
    if (wait?.status !== 'open' || wait.digest !== digest || Number(wait.listed) !== 1) return 200
    const runId = String(wait.run)
    const inserted = await sql.run(
      `INSERT INTO votes (wait_id, voter, decision, comment, digest, via, at) VALUES (?, ?, 'approve', NULL, ?, 'slack', ?)
       ON CONFLICT DO NOTHING`,
      [waitId ?? '', voter, digest ?? '', now],
    )
    if (inserted.changes === 0) return 200
    const tally = await sql.get(
      `SELECT count(*) AS n FROM votes WHERE wait_id = ? AND digest = ? AND decision = 'approve'`,
      [waitId ?? '', digest ?? ''],
    )
    const head = await sql.get('SELECT event_count AS count, last_event_hash AS hash FROM runs WHERE id = ?', [runId])
    const seq = Number(head?.count ?? 0) + 1
    const prev = String(head?.hash ?? '')
    const data = { wait_id: waitId, decision: 'approve', approvals: Number(tally?.n ?? 0), digest }
    const event = { runId, seq, type: 'approval.voted', at: now, actor: voter, stepId: String(wait.step), data }
    const hash = eventHash(chainKey, prev, event)
    await sql.run(
      `INSERT INTO run_events (run_id, seq, type, at, actor, step_id, data, prev_hash, hash)
       VALUES (?, ?, 'approval.voted', ?, ?, ?, ?, ?, ?)`,
      [runId, seq, now, voter, event.stepId, JSON.stringify(data), prev, hash],
    )
    await sql.run('UPDATE runs SET event_count = ?, last_event_hash = ?, updated_at = ? WHERE id = ?', [
      seq,
      hash,
      now,
      runId,
    ])
    return 200
  })
}

const server = createServer((request, response) => {
  const answer = (status: number, text = '') => response.writeHead(status).end(text)
  readRequestBody(request)
    .then(async (raw) => {
      if (request.method === 'GET' && request.url === '/votes') {
        const rows = await database.sql.all('SELECT wait_id, voter FROM votes')
        return answer(200, JSON.stringify(rows.map((r) => `${String(r.wait_id)}|${String(r.voter)}`)))
      }
      if (request.method !== 'POST' || request.url !== '/slack/events') return answer(404)
      const failure = checkSlackSignature({
        signingSecret: secret,
        rawBody: raw,
        timestamp: String(request.headers['x-slack-request-timestamp'] ?? '') || null,
        signature: String(request.headers['x-slack-signature'] ?? '') || null,
        nowMs: Date.now(),
        maxSkewSeconds: 300,
      })
      return failure ? answer(401) : answer(await vote(raw))
    })
    .catch(() => answer(500))
})
listenAndAnnounce(server)
