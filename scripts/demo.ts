// `npm run demo`: a fresh server, a local agent launcher and a fake GitHub, and one agent_fix_local run driven
// through the CLI exactly as a coding agent would: start → the agent calls back → two approvals → merge.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

// biome-ignore lint/suspicious/noExplicitAny: the demo reads arbitrary fields of the CLI's JSON documents
type Json = any

function repoRoot(from = import.meta.dirname): string {
  let dir = from // scripts/ when read as source, dist/<bundle>/ when run through bin/run-ts.mjs
  while (!existsSync(join(dir, 'bin', 'greenlight.mjs'))) {
    if (dirname(dir) === dir) throw new Error(`no repository root above ${from}`)
    dir = dirname(dir)
  }
  return dir
}

const ROOT = repoRoot()
const BIN = join(ROOT, 'bin', 'greenlight.mjs')
const WORK = mkdtempSync(join(tmpdir(), 'greenlight-demo-'))
const DEADLINE = Date.now() + 90_000
const children = new Set<ChildProcess>()
const merges: { path: string; body: Json }[] = []
const say = (line: string) => process.stdout.write(`${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const DIFF = `diff --git a/src/routes/invoices.ts b/src/routes/invoices.ts
index 4c1d2e7..9a8b3f0 100644
--- a/src/routes/invoices.ts
+++ b/src/routes/invoices.ts
@@ -12,7 +12,10 @@ const router = Router()
 router.get('/invoices', async (req, res) => {
   const page = Number(req.query.page ?? 1)
   const size = Math.min(Number(req.query.size ?? 50), 200)
-  const offset = page * size
+  if (!Number.isInteger(page) || page < 1) {
+    return res.status(400).json({ error: 'page must be a positive integer' })
+  }
+  const offset = (page - 1) * size
   const invoices = await db.invoice.findMany({ skip: offset, take: size, orderBy: { id: 'asc' } })
   res.json({ page, size, invoices })
 })
diff --git a/test/invoices.test.ts b/test/invoices.test.ts
index 0b5e2a1..c3d9f44 100644
--- a/test/invoices.test.ts
+++ b/test/invoices.test.ts
@@ -20,4 +20,15 @@ describe('GET /invoices', () => {
     const res = await request(app).get('/invoices?size=50')
     expect(res.body.invoices).toHaveLength(50)
   })
+
+  it('starts the first page at the first invoice (#42)', async () => {
+    const res = await request(app).get('/invoices?page=1&size=10')
+    expect(res.status).toBe(200)
+    expect(res.body.invoices[0].id).toBe(1)
+  })
+
+  it('refuses page 0', async () => {
+    const res = await request(app).get('/invoices?page=0')
+    expect(res.status).toBe(400)
+  })
 })
`

// The simulated coding agent: a separate process that only knows its callback URL, like a real one on a VM.
const AGENT = `
const cb = process.env.CALLBACK_URL
const post = async (url, body) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status >= 300) throw new Error(url + ' answered ' + res.status + ': ' + (await res.text()))
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// The agent may be faster than the run: before its wait step opens, a heartbeat answers 409 not_started. Try again.
const progress = { progress: 'Reproduced ' + process.env.REPO + '#' + process.env.ISSUE + ': page 1 skips the first 50 invoices' }
for (let attempt = 1; ; attempt++) {
  const res = await fetch(cb + '/heartbeat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(progress) })
  if (res.status < 300) break
  const answer = await res.text()
  if (res.status !== 409 || !answer.includes('not_started') || attempt === 50) throw new Error('heartbeat answered ' + res.status + ': ' + answer)
  await sleep(100)
}
await sleep(2000)
await post(cb, { diff: process.env.DIFF, summary: 'Fix the off-by-one in /invoices paging and reject page < 1; two tests added.', pr: 117 })
`

/** The CLI, as an agent runs it: one JSON document per call; ok:false becomes an exception. */
function gl(args: string[], token?: string): Promise<Json> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GREENLIGHT_URL: serverUrl,
    GREENLIGHT_DATA_DIR: join(WORK, 'data'),
    ...(token ? { GREENLIGHT_TOKEN: token } : {}),
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, maxBuffer: 16 << 20 }, (_error, stdout, stderr) => {
      let doc: Json
      try {
        doc = JSON.parse(stdout)
      } catch {
        return reject(new Error(`greenlight ${args.join(' ')} printed no JSON:\n${stdout}${stderr}`))
      }
      if (doc.ok) resolve(doc)
      else reject(new Error(`greenlight ${args.join(' ')} → ${doc.error.code}: ${doc.error.message}`))
    })
  })
}

let serverUrl = ''

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

/** `greenlight serve` in an empty directory, as on a fresh checkout; resolves with its ready document's URL. */
async function startServe(): Promise<string> {
  // PUBLIC_URL defaults to the configured PORT, so with PORT=0 the callback URLs handed out would say port 0.
  const port = await freePort()
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: WORK,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line) resolve((JSON.parse(line) as Json).data.server.url)
    })
    child.once('exit', (code) => reject(new Error(`greenlight serve exited with ${code}:\n${out}${err}`)))
  })
}

function readBody(req: IncomingMessage): Promise<Json> {
  return new Promise((resolve) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => resolve(body ? JSON.parse(body) : null))
  })
}

/** One loopback server: POST /agents launches an agent process; PUT /github/repos/…/merge is a fake GitHub. */
async function startLocalServices(): Promise<{ url: string; close: () => Promise<void> }> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    const reply = (status: number, data: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data))
    if (req.method === 'POST' && req.url === '/agents') {
      const { callback_url, repo, issue, comment } = body
      const env = { PATH: process.env.PATH, CALLBACK_URL: callback_url, REPO: repo, ISSUE: String(issue), DIFF }
      const agent = spawn(process.execPath, ['--input-type=module', '-e', AGENT], { env, stdio: 'inherit' })
      children.add(agent)
      agent.once('exit', () => children.delete(agent))
      say(`  launcher: agent pid ${agent.pid} works on ${repo}#${issue}${comment ? ` (review: ${comment})` : ''}`)
      return reply(202, { agent: agent.pid })
    }
    if (req.method === 'PUT' && /^\/github\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/merge$/.test(req.url ?? '')) {
      merges.push({ path: req.url ?? '', body })
      return reply(200, { merged: true, sha: '6dcb09b5b57875f334f61aebed695e2e4193db5e', message: 'Merged' })
    }
    reply(404, { message: 'Not Found' })
  }
  const server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** Reads `runs show` until the run is where we want it; a run that ends elsewhere fails the demo. */
async function until(runId: string, what: string, done: (run: Json) => boolean): Promise<Json> {
  for (;;) {
    const { data } = await gl(['runs', 'show', runId])
    if (done(data.run)) return data
    if (data.run.ended_at !== null)
      throw new Error(`run ${runId} ended ${data.run.status} before ${what}: ${JSON.stringify(data.run.error)}`)
    if (Date.now() > DEADLINE) throw new Error(`timed out waiting for ${what}; the run is ${data.run.status}`)
    await sleep(250)
  }
}

async function demo(): Promise<void> {
  const started = Date.now()
  serverUrl = await startServe()
  const services = await startLocalServices()
  try {
    say(`server: ${serverUrl} (data in ${join(WORK, 'data')})`)
    const files = readdirSync(join(ROOT, 'examples', 'flows')).filter((f) => f.endsWith('.yaml'))
    const pushed = await gl(['flows', 'push', ...files.map((f) => `examples/flows/${f}`)])
    say(`pushed: ${pushed.data.pushed.map((p: Json) => p.slug).join(', ')}`)
    const release = await gl(['flows', 'release', 'agent_fix_local', '--note', 'demo'])
    say(`released: agent_fix_local v${release.data.release.version}`)
    const tokens: Record<string, string> = {}
    for (const [name, user] of Object.entries({ alice: 'U0ALICE', bob: 'U0BOB' })) {
      const created = await gl(['tokens', 'create', '--name', name, '--scope', 'approvals:decide', '--as', user])
      tokens[name] = created.data.token.secret
      say(`approver token: ${name}, votes as ${user}`)
    }

    const urls = [`launcher_url=${services.url}/agents`, `github_url=${services.url}/github`]
    const start = await gl([...'runs start agent_fix_local repo=acme/api issue=42 --wait'.split(' '), ...urls])
    const { id: runId, status, waiting_on: on } = start.data.run
    say(`run ${runId}: ${status} on ${on?.step} (${on?.kind}); meta.next: ${start.meta.next[0]}`)

    const parked = await until(runId, 'the approval', (run) => run.waiting_on?.kind === 'approval')
    const waitId: string = parked.run.waiting_on.wait_id
    say(`run ${runId}: waiting on approval ${waitId} (${parked.wait.tally.approvals} of ${parked.wait.tally.required})`)
    for (const name of ['alice', 'bob']) {
      const { data } = await gl(
        ['waits', 'approve', waitId, '--comment', `${name}: paging fix looks right`],
        tokens[name],
      )
      say(
        `  ${name} approved: ${data.vote.tally.approvals} of ${data.vote.tally.required}${data.vote.outcome ? ` → ${data.vote.outcome}` : ''}`,
      )
    }
    const final = await until(runId, 'success', (run) => run.status === 'succeeded')
    if (merges.length !== 1) throw new Error(`expected one merge on the fake GitHub, saw ${merges.length}`)

    const { data: history } = await gl(['runs', 'events', runId])
    say('\ntimeline:')
    for (const e of history.events) {
      const detail = e.data?.progress ?? e.data?.outcome ?? e.data?.comment ?? e.data?.text ?? ''
      const line = [
        e.at.slice(11, 23),
        e.type.padEnd(18),
        (e.step ?? '').padEnd(12),
        (e.actor ?? '').padEnd(18),
        detail,
      ]
      say(`  ${line.join(' ').trimEnd()}`)
    }
    const audit = await gl(['audit', 'verify', runId])
    say('')
    say(
      JSON.stringify({
        ok: true,
        run: runId,
        status: final.run.status,
        flow: `${final.run.flow}@v${final.run.version}`,
        approved_by: final.steps.find((s: Json) => s.step === 'review')?.output?.votes.map((v: Json) => v.user),
        merged: merges[0]?.path,
        events: history.events.length,
        audit_ok: audit.data.audit.ok,
        seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
      }),
    )
  } finally {
    await services.close()
  }
}

async function cleanup(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
        }),
    ),
  )
  rmSync(WORK, { recursive: true, force: true })
}

process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130))
})
try {
  await demo()
} catch (error) {
  process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
