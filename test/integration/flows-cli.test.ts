// The flows lifecycle through the real CLI binary against a real server: push, list, show, diff, release, promote.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../support/cli.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const MINIMAL = (slug: string, text: string) => `slug: ${slug}
name: Minimal ${slug}
steps:
  - id: say
    notify: { text: "${text}" }
`

describe('flows through the CLI', () => {
  let server: TestServer
  let env: Record<string, string>
  let work: string

  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    work = mkdtempSync(join(tmpdir(), 'greenlight-flows-'))
  })
  afterAll(async () => server.close())

  it('pushes every example and lists them', async () => {
    const push = await runCli(
      [
        'flows',
        'push',
        'examples/flows/agent-fix.yaml',
        'examples/flows/support-reply.yaml',
        'examples/flows/weekly-report.yaml',
      ],
      { env },
    )
    expect(push.code, push.stdout + push.stderr).toBe(0)
    expect(push.json.ok).toBe(true)
    const slugs = push.json.data.pushed.map((p: { slug: string }) => p.slug).sort()
    expect(slugs).toEqual(['agent_fix', 'support_reply', 'weekly_report'])
    expect(
      push.json.data.pushed.every((p: { created: boolean; revision: number }) => p.created && p.revision === 1),
    ).toBe(true)
    expect(push.json.meta.next[0]).toMatch(/^greenlight flows release /)

    const again = await runCli(['flows', 'push', 'examples/flows/weekly-report.yaml'], { env })
    expect(again.json.data.pushed[0]).toMatchObject({ slug: 'weekly_report', revision: 1, created: false })

    const list = await runCli(['flows', 'list'], { env })
    expect(list.code).toBe(0)
    // With the built-in flow behind ad-hoc approvals (request-approval), there from the first migration.
    expect(list.json.data.flows.map((f: { slug: string }) => f.slug)).toEqual([
      'agent_fix',
      'greenlight_request',
      'support_reply',
      'weekly_report',
    ])
  })

  it('releases, pushes a change, diffs, releases again and rolls back', async () => {
    const file = join(work, 'hello.yaml')
    writeFileSync(file, MINIMAL('hello', 'one'))
    expect((await runCli(['flows', 'push', file], { env })).code).toBe(0)
    const release1 = await runCli(['flows', 'release', 'hello', '--note', 'first'], { env })
    expect(release1.code, release1.stdout).toBe(0)
    expect(release1.json.data.release).toMatchObject({
      slug: 'hello',
      version: 1,
      revision: 1,
      live: true,
      note: 'first',
    })

    const twice = await runCli(['flows', 'release', 'hello'], { env })
    expect(twice.code).toBe(1)
    expect(twice.json.error.code).toBe('already_released')

    writeFileSync(file, MINIMAL('hello', 'two'))
    const push2 = await runCli(['flows', 'push', file], { env })
    expect(push2.json.data.pushed[0]).toMatchObject({ revision: 2, created: true })

    const diff = await runCli(['flows', 'diff', 'hello'], { env })
    expect(diff.code).toBe(0)
    expect(diff.json.data.diff.patch).toContain('-    notify: { text: "one" }')
    expect(diff.json.data.diff.patch).toContain('+    notify: { text: "two" }')
    expect(diff.json.data.diff).toMatchObject({ added: 1, removed: 1, identical: false })

    const release2 = await runCli(['flows', 'release', 'hello', '--no-promote'], { env })
    expect(release2.json.data.release).toMatchObject({ version: 2, live: false })
    let show = await runCli(['flows', 'show', 'hello'], { env })
    expect(show.json.data.flow.live_version).toBe(1)
    expect(show.json.data.flow.shown.source).toBeUndefined()

    expect((await runCli(['flows', 'promote', 'hello', '2'], { env })).json.data.promote).toMatchObject({
      previous: 1,
      live: 2,
    })
    expect((await runCli(['flows', 'promote', 'hello', 'v1'], { env })).json.data.promote).toMatchObject({
      previous: 2,
      live: 1,
    })
    show = await runCli(['flows', 'show', 'hello', '--ref', 'v2', '--source'], { env })
    expect(show.json.data.flow.live_version).toBe(1)
    expect(show.json.data.flow.shown.source).toContain('"two"')
    expect(show.json.data.flow.versions.map((v: { version: number; live: boolean }) => [v.version, v.live])).toEqual([
      [2, false],
      [1, true],
    ])

    const between = await runCli(['flows', 'diff', 'hello', 'v1', 'v2'], { env })
    expect(between.json.data.diff.from).toMatchObject({ version: 1 })

    const missing = await runCli(['flows', 'promote', 'hello', '9'], { env })
    expect(missing.code).toBe(1)
    expect(missing.json.error.code).toBe('version_not_found')
  })

  it('refuses a release whose required connections are missing, naming each', async () => {
    const res = await runCli(['flows', 'release', 'agent_fix'], { env })
    const definition = readFileSync(join(ROOT, 'examples/flows/agent-fix.yaml'), 'utf8')
    if (/requires:/.test(definition)) {
      expect(res.code).toBe(2)
      expect(res.json.error.code).toBe('requirements_missing')
      expect(res.json.error.details.missing.connections.length).toBeGreaterThan(0)
    } else {
      expect(res.code).toBe(0)
    }
  })

  it('gives exit 2 with line and column for broken YAML and pushes nothing', async () => {
    const bad = join(work, 'bad.yaml')
    writeFileSync(bad, 'slug: broken\nsteps:\n  - id: a\n    notify: { text: "x"\n')
    const good = join(work, 'good.yaml')
    writeFileSync(good, MINIMAL('never_pushed', 'x'))
    const res = await runCli(['flows', 'push', good, bad], { env })
    expect(res.code).toBe(2)
    expect(res.json.ok).toBe(false)
    expect(res.json.error.code).toBe('invalid_flow')
    const problem = res.json.error.details.files[0].problems[0]
    expect(problem.file).toBe(bad)
    expect(problem.line).toBeGreaterThanOrEqual(4)
    expect(problem.column).toBeGreaterThanOrEqual(1)
    expect(res.json.error.message).toMatch(/bad\.yaml:\d+:\d+/)
    const list = await runCli(['flows', 'list'], { env })
    expect(list.json.data.flows.map((f: { slug: string }) => f.slug)).not.toContain('never_pushed')
  })

  it('validates offline, with no server', async () => {
    const copy = join(work, 'offline.yaml')
    copyFileSync(join(ROOT, 'examples/flows/weekly-report.yaml'), copy)
    const res = await runCli(['flows', 'validate', copy], { env: { GREENLIGHT_URL: 'http://127.0.0.1:1' } })
    expect(res.code).toBe(0)
    expect(res.json.data.files[0]).toMatchObject({ ok: true, slug: 'weekly_report' })
  })

  it('refuses 400k-deep YAML with a located problem, pushed over the API or validated offline', async () => {
    const flowStyle = `slug: deep\nsteps: ${'['.repeat(400_000)}${']'.repeat(400_000)}\n`
    const blockStyle = `slug: deep\nsteps:\n${'- '.repeat(400_000)}x\n`
    for (const [source, line, column] of [
      [flowStyle, 2, 107],
      [blockStyle, 3, 199],
    ] as const) {
      const pushed = await api(server, 'POST', '/api/v1/flows', { source, file: 'deep.yaml' })
      expect(pushed.status, JSON.stringify(pushed.body).slice(0, 500)).toBe(422)
      expect(pushed.body.error?.code).toBe('invalid_flow')
      const problems = (pushed.body.error as { details?: { problems?: unknown[] } }).details?.problems
      expect(problems).toEqual([expect.objectContaining({ file: 'deep.yaml', code: 'nesting_too_deep', line, column })])
      const file = join(work, `deep-${line}.yaml`)
      writeFileSync(file, source)
      const res = await runCli(['flows', 'validate', file], { env: { GREENLIGHT_URL: 'http://127.0.0.1:1' } })
      expect(res.code, res.stderr).toBe(2)
      expect(res.json.error.details.files[0].problems).toEqual([
        expect.objectContaining({ code: 'nesting_too_deep', line, column }),
      ])
    }
    expect(
      (await runCli(['flows', 'list'], { env })).json.data.flows.map((f: { slug: string }) => f.slug),
    ).not.toContain('deep')
  })

  it('suggests the slug you meant', async () => {
    const res = await runCli(['flows', 'show', 'agent_fx'], { env })
    expect(res.code).toBe(1)
    expect(res.json.error).toMatchObject({ code: 'flow_not_found', message: "No flow with slug 'agent_fx'." })
    expect(res.json.error.hint).toContain("Did you mean 'agent_fix'?")
  })

  it('answers unknown commands and bad usage with exit 2', async () => {
    const unknown = await runCli(['flws', 'list'], { env })
    expect(unknown.code).toBe(2)
    expect(unknown.json.error.code).toBe('unknown_command')
    expect(unknown.json.error.hint).toContain('flows list')
    const usage = await runCli(['flows', 'promote', 'hello', 'abc'], { env })
    expect(usage.code).toBe(2)
    expect(usage.json.error.code).toBe('invalid_usage')
    const option = await runCli(['flows', 'list', '--bogus'], { env })
    expect(option.code).toBe(2)
    const help = await runCli(['--help'], { env })
    expect(help.code).toBe(0)
    expect(help.json.data.commands.length).toBeGreaterThan(5)
  })

  it('exits 3 when the server is unreachable or the CLI has no token', async () => {
    const down = await runCli(['flows', 'list'], {
      env: { GREENLIGHT_URL: 'http://127.0.0.1:1', GREENLIGHT_TOKEN: 'glt_x' },
    })
    expect(down.code).toBe(3)
    expect(down.json.error.code).toBe('server_unreachable')
    const none = await runCli(['flows', 'list'], { env: { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: work } })
    expect(none.code).toBe(3)
    expect(none.json.error.code).toBe('not_configured')
  })

  it('prints indented JSON with --pretty', async () => {
    const res = await runCli(['flows', 'list', '--pretty'], { env })
    expect(res.stdout.startsWith('{\n  "ok": true')).toBe(true)
    expect(res.stdout.trim().split('\n').length).toBeGreaterThan(3)
  })
})
