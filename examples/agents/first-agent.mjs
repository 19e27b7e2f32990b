#!/usr/bin/env node
// The tutorial's agent (docs/tutorial.md): a tiny HTTP service with no dependencies that the `first_agent` flow
// (examples/flows/first-agent.yaml) hands work to, and that applies the patch once two people approved it.
//
//   POST /tasks  {"task", "callback_url", "comment"}  answers 202 at once, "works" for a moment, then POSTs
//                {"diff", "summary"} to callback_url (the flow's {{ callbacks.agent_done.url }}), retrying until
//                Greenlight answers
//   POST /apply  {"diff", "approved_by"}              appends the approved patch to applied.diff and answers 200
//
// AGENT_PORT (default 4801) is where it listens, AGENT_DIR (default: the current directory) where it writes.
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'

const port = Number(process.env.AGENT_PORT ?? 4801)
const dir = process.env.AGENT_DIR ?? process.cwd()
let rounds = 0

const log = (line) => console.log(`agent: ${line}`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The "work": a patch that adds the task (and the reviewer's comment, on a later round) to NOTES.md. */
function work(task, comment) {
  rounds += 1
  const lines = [`+- ${task}`, ...(comment ? [`+- ${comment} (asked in review)`] : [])]
  const diff = `--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1 +1,${1 + lines.length} @@\n # Notes\n${lines.join('\n')}\n`
  const summary = comment
    ? `Round ${rounds}: added "${task}", and "${comment}" as asked`
    : `Added "${task}" to NOTES.md`
  return { diff, summary }
}

/** POSTs the result; retries while Greenlight is unreachable or busy, stops at any other answer. */
async function callBack(url, result) {
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(result),
      })
      log(`callback answered ${res.status}`)
      if (res.status < 500 && res.status !== 429) return
    } catch (error) {
      log(`callback failed (${error.message}), retrying`)
    }
    await sleep(Math.min(500 * attempt, 5000))
  }
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(body || '{}'))
      } catch (error) {
        reject(error)
      }
    })
  })
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

const server = createServer(async (req, res) => {
  let body
  try {
    body = await readJson(req)
  } catch {
    return answer(res, 400, { error: 'the body is not JSON' })
  }
  if (req.method === 'POST' && req.url === '/tasks') {
    if (typeof body.task !== 'string' || typeof body.callback_url !== 'string')
      return answer(res, 422, { error: 'task and callback_url are required' })
    log(`task "${body.task}"${body.comment ? ` with the comment "${body.comment}"` : ''}`)
    // Answer first: the http step completes and the run parks on the wait while we work.
    answer(res, 202, { accepted: true })
    await sleep(300)
    await callBack(body.callback_url, work(body.task, body.comment))
    return
  }
  if (req.method === 'POST' && req.url === '/apply') {
    if (typeof body.diff !== 'string') return answer(res, 422, { error: 'diff is required' })
    appendFileSync(join(dir, 'applied.diff'), body.diff)
    log(`applied the patch approved by ${JSON.stringify(body.approved_by)}`)
    return answer(res, 200, { applied: true })
  }
  answer(res, 404, { error: `no route ${req.method} ${req.url}` })
})

server.listen(port, '127.0.0.1', () => log(`listening on http://127.0.0.1:${server.address().port}`))
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)))
