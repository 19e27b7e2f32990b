// Limits that protect the server: a flow's steps are capped at push, a run's events while it runs, and both limits
// are configured by validated variables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { pushRelease, runEvents, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

function flowOf(steps: number): string {
  const lines = ['slug: long', 'steps:']
  for (let i = 0; i < steps; i++) lines.push(`  - id: s${i}`, `    transform: { expr: '${i}' }`)
  return `${lines.join('\n')}\n`
}

describe('flow and run limits', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_MAX_RUN_EVENTS: '100' })
  })
  afterAll(async () => {
    await server.close()
  })

  it('refuses a push of 1,001 steps with too_many_steps at the line and column of step 1,001', async () => {
    const pushed = await api(server, 'POST', '/api/v1/flows', { source: flowOf(1_001) })
    expect(pushed.status).toBe(422)
    const problem = (pushed.body.error as unknown as { details: { problems: Record<string, unknown>[] } }).details
      .problems[0]
    // Step n (0-based) starts on line 3 + 2n, column 5 (its "id:").
    expect(problem).toMatchObject({ code: 'too_many_steps', line: 3 + 2 * 1_000, column: 5, path: 'steps[1000]' })
    expect(String(problem?.fix)).toContain('GREENLIGHT_MAX_FLOW_STEPS')
    expect((await api(server, 'POST', '/api/v1/flows', { source: flowOf(1_000) })).status).toBe(201)
  })

  it('refuses 1,001 steps offline too: flows validate applies the default limit without a server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-limits-'))
    try {
      const file = join(dir, 'long.yaml')
      writeFileSync(file, flowOf(1_001))
      const res = await runCli(['flows', 'validate', file], { cwd: dir })
      expect(res.code).toBe(2)
      expect(res.json.error.details.files[0].problems[0]).toMatchObject({
        code: 'too_many_steps',
        line: 2_003,
        column: 5,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fails a run that would record more than GREENLIGHT_MAX_RUN_EVENTS events with event_limit', async () => {
    // A step that fails and routes back to itself loops until max_visits (1,000) unless the event limit ends it.
    await pushRelease(
      server,
      `slug: looping
steps:
  - id: again
    max_visits: 1000
    on_error: { goto: again }
    transform: { expr: '$error("once more")' }
`,
    )
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'looping' })
    const id = (started.body.data as { run: { id: string } }).run.id
    const shown = await runReaches(server, id, ['failed', 'succeeded'])
    expect(shown.run.status).toBe('failed')
    expect(shown.run.error).toMatchObject({ code: 'event_limit' })
    const events = await runEvents(server, id)
    expect(events.length).toBeGreaterThanOrEqual(100)
    expect(events.length).toBeLessThan(100 + 20)
  })

  it('refuses at start a limit that is not a number, naming the variable', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-limits-'))
    try {
      const res = await runCli(['serve'], {
        cwd,
        env: {
          PORT: '0',
          GREENLIGHT_MAX_FLOW_STEPS: 'lots',
          GREENLIGHT_MAX_RUN_EVENTS: '1e5',
          GREENLIGHT_SHUTDOWN_TIMEOUT_MS: '10s',
        },
      })
      expect(res.code).toBe(2)
      expect(res.json.error.code).toBe('invalid_config')
      expect(res.json.error.details.problems.map((p: { variable: string }) => p.variable).sort()).toEqual([
        'GREENLIGHT_MAX_FLOW_STEPS',
        'GREENLIGHT_MAX_RUN_EVENTS',
        'GREENLIGHT_SHUTDOWN_TIMEOUT_MS',
      ])
      expect(res.stderr).toContain('GREENLIGHT_MAX_FLOW_STEPS')
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})
