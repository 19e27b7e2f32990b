// The floor of this stack for bench/slack-ack (BENCH_FLOOR=1): a bare node:http server on the database a real server
// left behind (its parked approvals), doing only what acking any vote must: check Slack's signature and timestamp,
// decode the form and its JSON payload, and in one transaction check the approval is open and the voter listed,
// insert the vote, count the approvals, append a hash-chained event to the run; then answer 200.
// Usage: node bin/run-ts.mjs bench/support/slack-floor-server.ts <database file> <signing secret>
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openDatabase } from '../../src/store/database.ts'

const [file, secret] = process.argv.slice(2) as [string, string]
const database = await openDatabase({ url: `file:${file}` })
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function signedBySlack(headers: Record<string, string | string[] | undefined>, raw: Buffer): boolean {
  const timestamp = Number(headers['x-slack-request-timestamp'])
  const signature = String(headers['x-slack-signature'] ?? '')
  if (!Number.isFinite(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(raw).digest('hex')}`
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
}

async function vote(raw: Buffer): Promise<number> {
  const payload = JSON.parse(new URLSearchParams(raw.toString('utf8')).get('payload') ?? '{}') as {
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
    const data = JSON.stringify({ wait_id: waitId, decision: 'approve', approvals: Number(tally?.n ?? 0), digest })
    const hash = sha256(`${String(head?.hash ?? '')}${seq}approval.voted${now}${voter}${data}`)
    await sql.run(
      `INSERT INTO run_events (run_id, seq, type, at, actor, step_id, data, prev_hash, hash)
       VALUES (?, ?, 'approval.voted', ?, ?, ?, ?, ?, ?)`,
      [runId, seq, now, voter, String(wait.step), data, String(head?.hash ?? ''), hash],
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
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.once('end', () => {
    const raw = Buffer.concat(chunks)
    const answer = (status: number, text = '') => response.writeHead(status).end(text)
    if (request.method === 'GET' && request.url === '/votes') {
      database.sql
        .all('SELECT wait_id, voter FROM votes')
        .then((rows) => answer(200, JSON.stringify(rows.map((r) => `${String(r.wait_id)}|${String(r.voter)}`))))
        .catch(() => answer(500))
    } else if (request.method !== 'POST' || request.url !== '/slack/events') answer(404)
    else if (!signedBySlack(request.headers, raw)) answer(401)
    else
      vote(raw)
        .then((status) => answer(status))
        .catch(() => answer(500))
  })
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
