// A secret used in http headers and echoed back by the target never shows in `runs show`, `runs events`, the server's
// logs (at debug level) or the Slack messages and files of the run.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, spawnServe } from '../support/cli.ts'
import { createFakeSlack, type FakeSlack } from '../support/fake-slack/index.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'

const BEARER = 'sk_live_bearer_VALUE_9f8e7d6c'
const API_KEY = 'key "with" quotes\\and-slash-31337'
const CHANNEL = 'C0REDACT'

const FLOW = `slug: leaky
name: Calls an API that echoes its credentials
requires: { connections: [echo_bearer, echo_key] }
steps:
  - id: call
    http: { connection: echo_bearer, method: POST, path: /echo, json: { hello: world } }
  - id: tell
    notify: { text: "The API saw {{ steps.call.output.body.headers.authorization }}" }
  - id: fail_loudly
    http: { connection: echo_key, method: GET, path: /again, expect_status: 299 }
`

describe('secret redaction', () => {
  let fake: FakeSlack
  let target: HttpTarget
  let serve: ChildProcess
  let dataDir: string
  let env: Record<string, string>
  let logs = ''

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: [{ id: 'U0ADMIN', name: 'admin' }],
      channels: { [CHANNEL]: { name: 'redact', members: ['U0ADMIN'] } },
    })
    target = await startHttpTarget()
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-redact-'))
    const started = await spawnServe({
      env: {
        GREENLIGHT_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'debug',
        SLACK_BOT_TOKEN: 'xoxb-redact',
        SLACK_SIGNING_SECRET: 'redact-signing',
        SLACK_API_URL: fake.apiUrl,
        GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
      },
    })
    serve = started.child
    serve.stderr?.on('data', (chunk: Buffer) => {
      logs += chunk.toString()
    })
    env = { GREENLIGHT_URL: started.url, GREENLIGHT_DATA_DIR: dataDir }
  }, 30_000)
  afterAll(async () => {
    serve?.kill('SIGKILL')
    await target?.close()
    await fake?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('masks the secret everywhere the run is shown', async () => {
    expect((await runCli(['secrets', 'set', 'bearer'], { env, input: BEARER })).code).toBe(0)
    expect((await runCli(['secrets', 'set', 'api_key'], { env, input: API_KEY })).code).toBe(0)
    const base = ['--type', 'http', '--base-url', target.url]
    expect(
      (await runCli(['connections', 'set', 'echo_bearer', ...base, '--bearer-secret', 'bearer'], { env })).code,
    ).toBe(0)
    expect(
      (await runCli(['connections', 'set', 'echo_key', ...base, '--header-secret', 'X-Api-Key=api_key'], { env })).code,
    ).toBe(0)
    const file = join(dataDir, 'leaky.yaml')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, FLOW)
    expect((await runCli(['flows', 'push', file], { env })).code).toBe(0)
    expect((await runCli(['flows', 'release', 'leaky'], { env })).code).toBe(0)
    const started = await runCli(['runs', 'start', 'leaky', '--wait'], { env })
    // The last step fails on purpose (its error carries the echoed response), so --wait answers run_failed.
    expect(started.json.error?.code, started.stdout).toBe('run_failed')
    const runId = started.json.error.details.run.id as string
    const shown = await runCli(['runs', 'show', runId], { env })
    expect(shown.json.data.run.status).toBe('failed')

    // The target really got the credentials: the masking is ours, not an absent header.
    expect(target.requests[0]?.headers.authorization).toBe(`Bearer ${BEARER}`)
    expect(target.requests[1]?.headers['x-api-key']).toBe(API_KEY)
    // …and the echo reached the records, masked.
    expect(JSON.stringify(shown.json)).toContain('Bearer ***')

    const events = await runCli(['runs', 'events', runId], { env })
    expect(events.code).toBe(0)
    // The thread got the notify text and the failure before we grep Slack.
    await fake.waitFor((f) =>
      f.messages(CHANNEL, { includeReplies: true }).some((m) => JSON.stringify(m).includes('The API saw')),
    )
    await fake.waitFor((f) =>
      f.messages(CHANNEL, { includeReplies: true }).some((m) => JSON.stringify(m).includes('answered 200')),
    )
    const slack = JSON.stringify({ calls: fake.calls, files: fake.files })
    expect(slack).toContain('Bearer ***')
    const escapedKey = JSON.stringify(API_KEY).slice(1, -1)
    for (const [where, text] of [
      ['runs show', shown.stdout],
      ['runs events', events.stdout],
      ['logs', logs],
      ['slack', slack],
    ] as const) {
      expect(text.length, where).toBeGreaterThan(100)
      for (const secret of [BEARER, API_KEY, escapedKey]) expect(text.includes(secret), `${where} leaks`).toBe(false)
    }
  }, 60_000)
})
