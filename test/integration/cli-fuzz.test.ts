// Seeded random command lines through the real `greenlight` bin (SPEC §7): whatever the argv, the CLI prints exactly
// one JSON document, exits 0, 1, 2 or 3 to match it, and never fails inside. Replay a failure with FUZZ_SEED=<seed>.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { COMMANDS } from '../../src/cli/registry.ts'
import { type CliResult, runCli } from '../support/cli.ts'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS, type Random } from '../support/fuzz-env.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const SEED = fuzzSeed(randomBytes(4).readUInt32LE(0))

// serve, worker and mcp run until stopped (worker runs a handler command): a random line could start one for good.
const LONG_RUNNING = new Set(['serve', 'worker', 'mcp'])
// guide prints Markdown, not a JSON document (docs/cli.md); its --json form is tested in mcp-guide.test.ts.
const NOT_JSON = new Set(['guide'])
// An OS argument cannot hold a NUL.
const ARG_CHARS = NASTY_CHARS.replace('\u0000', '')
const VALUES = ['', '-', '--', '5s', '0s', '10m', '1h30m', 'forever', 'run_nope', 'wait_nope', 'fz', 'fz=1', 'parked']
const VALUES_MORE = ['ended', 'draft', 'live', 'v1', 'r1', 'admin', 'runs:read', 'U0ANN', '{}', '[1]', '{"a":', 'x=y']

function word(rnd: Random): string {
  return rnd.chance(0.5) ? rnd.pick([...VALUES, ...VALUES_MORE]) : rnd.string(1 + rnd.int(12), ARG_CHARS)
}

function typo(rnd: Random, name: string): string {
  const i = rnd.int(Math.max(1, name.length))
  return rnd.chance(0.5)
    ? name.slice(0, i) + name.slice(i + 1)
    : name.slice(0, i) + word(rnd).slice(0, 1) + name.slice(i)
}

function randomArgv(rnd: Random, flagsOf: Map<string, string[]>): string[] {
  const entry = rnd.pick(COMMANDS.filter((c) => !LONG_RUNNING.has(c.name) && !NOT_JSON.has(c.name)))
  const head = rnd.chance(0.8)
    ? entry.name.split(' ')
    : rnd.chance(0.5)
      ? [typo(rnd, entry.name)]
      : [word(rnd), ...(rnd.chance(0.5) ? [word(rnd)] : [])]
  const flags = [...(flagsOf.get(entry.name) ?? []), 'pretty', 'help']
  const rest: string[] = []
  for (let n = rnd.int(7); n > 0; n--) {
    const flag = rnd.pick(flags)
    switch (rnd.int(6)) {
      case 0:
        rest.push(`--${flag}`)
        break
      case 1:
        rest.push(`--${flag}`, word(rnd))
        break
      case 2:
        rest.push(`--${flag}=${word(rnd)}`)
        break
      case 3:
        rest.push(`--${typo(rnd, flag)}`)
        break
      case 4:
        rest.push(rnd.chance(0.3) ? `-${rnd.string(1 + rnd.int(3), ARG_CHARS)}` : word(rnd))
        break
      default:
        rest.push(word(rnd))
    }
  }
  // Long-running commands are never run, even under another name; a random line may still spell them.
  const argv = [...head, ...rest]
  return LONG_RUNNING.has(argv[0] ?? '') || NOT_JSON.has(argv[0] ?? '') ? ['help', ...argv] : argv
}

function checkDocument(argv: string[], res: CliResult): void {
  const what = `${JSON.stringify(argv)} → exit ${res.code}\n${res.stdout}${res.stderr}`
  expect([0, 1, 2, 3], what).toContain(res.code)
  expect(res.stdout.endsWith('\n'), what).toBe(true)
  const doc = JSON.parse(res.stdout) as { ok: boolean; error?: { code: string; message: string } }
  // One document: compact output is one line, and --pretty output parses whole (JSON.parse refuses two).
  if (!argv.includes('--pretty')) expect(res.stdout.trimEnd().split('\n'), what).toHaveLength(1)
  expect(doc.ok, what).toBe(res.code === 0)
  if (!doc.ok) {
    expect(typeof doc.error?.code, what).toBe('string')
    expect(typeof doc.error?.message, what).toBe('string')
    expect(doc.error?.code, what).not.toBe('internal_error')
  }
}

describe('random command lines through the CLI', () => {
  let server: TestServer
  let cwd: string
  const flagsOf = new Map<string, string[]>()
  beforeAll(async () => {
    server = await startTestServer()
    cwd = mkdtempSync(join(tmpdir(), 'greenlight-cli-fuzz-'))
    const pushed = await api(server, 'POST', '/api/v1/flows', {
      source: 'slug: fz\ninputs:\n  a: { type: integer }\nsteps:\n  - id: w\n    wait: { timeout: 1h }\n',
    })
    expect(pushed.status).toBeLessThan(300)
    for (const entry of COMMANDS) flagsOf.set(entry.name, Object.keys((await entry.load()).options ?? {}))
  })
  afterAll(async () => {
    await server.close()
    rmSync(cwd, { recursive: true, force: true })
  })

  it(`prints one JSON document with exit 0-3 for every random argv (seed ${SEED})`, async () => {
    onTestFailed(() => console.error(`FUZZ_SEED=${SEED}`))
    const rnd = createRandom(SEED)
    const lines = Array.from({ length: fuzzRuns(64) }, () => randomArgv(rnd, flagsOf))
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    // A few at a time: each is a process of its own.
    for (let i = 0; i < lines.length; i += 4) {
      const batch = lines.slice(i, i + 4)
      const results = await Promise.all(batch.map((argv) => runCli(argv, { env, cwd, input: '' })))
      for (const [j, argv] of batch.entries()) checkDocument(argv, results[j] as CliResult)
    }
    const unknown = await runCli(['runs', 'list', '--limt', '5'], { env, cwd })
    expect(unknown.json.error).toMatchObject({ code: 'unknown_flag', details: { suggestion: '--limit' } })
  })
})
