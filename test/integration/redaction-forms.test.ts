// A secret an agent sends back deeply nested, URL-encoded, base64-encoded or in another case never reaches
// `runs show`, `runs events` or the database file, whichever step (a callback, a transform after it) carries it.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { type Json, pushRelease, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

// Characters that URL-encode and base64-encode differently from the clear text ('/', '+', ' ', '&', '=', 'é').
const SECRET = 'Zq9/+ s3cr3t&value=é~42'

const FLOW = `slug: deep_secret
steps:
  - id: hand_out
    transform: "{{ callbacks.agent.url }}"
  - id: agent
    wait: { timeout: 30m }
  - id: echo
    transform: "{{ steps.agent.output }}"
`

/** Every spelling of the secret an attacker could make a step echo. */
function spellings(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret)
  return {
    clear: secret,
    upper: secret.toUpperCase(),
    uri: encodeURIComponent(secret),
    form: encodeURIComponent(secret).replace(/%20/g, '+'),
    base64: bytes.toString('base64'),
    base64url: bytes.toString('base64url'),
    // Inside a longer encoding, at each of base64's three alignments.
    basic: Buffer.from(`agent:${secret}`).toString('base64'),
    basic1: Buffer.from(`x${secret}y`).toString('base64'),
    basic2: Buffer.from(`xy${secret}`).toString('base64url'),
  }
}

function nest(depth: number, leaf: unknown): unknown {
  let node = leaf
  for (let i = 0; i < depth; i++) node = i % 2 === 0 ? { level: node } : [node]
  return node
}

/**
 * The spellings that leak: any 12-character window of one gives the secret (or, for an encoding, bits of it) away,
 * so a mask that left a few characters of a long encoding standing still fails here.
 */
function leaks(text: string, secret: string): string[] {
  const found: string[] = []
  for (const [name, spelling] of Object.entries(spellings(secret))) {
    for (let at = 0; at + 12 <= spelling.length; at++) {
      if (text.includes(spelling.slice(at, at + 12))) {
        found.push(`${name}: ${spelling.slice(at, at + 12)}`)
        break
      }
    }
  }
  return found
}

describe('redaction at any depth and in encoded forms', () => {
  let server: TestServer
  let env: Record<string, string>

  beforeAll(async () => {
    server = await startTestServer()
    env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    const set = await runCli(['secrets', 'set', 'agent_token'], { env, input: SECRET })
    expect(set.code, set.stdout).toBe(0)
    await pushRelease(server, FLOW)
  })
  afterAll(async () => server?.close())

  async function roundTrip(depth: number): Promise<{ shown: string; events: string; runId: string }> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'deep_secret', inputs: {}, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const runId = (started.body.data as Json).run.id as string
    const handOut = (await showRun(server, runId)).steps.find((s: Json) => s.step === 'hand_out')
    const leaf = { ...spellings(SECRET), note: `the token is ${SECRET}!` }
    const body = JSON.stringify({ shallow: 'nothing here', deep: nest(depth, leaf) })
    const sent = await fetch(handOut.output as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(sent.status, await sent.text()).toBe(202)
    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    const shown = await runCli(['runs', 'show', runId], { env })
    const events = await runCli(['runs', 'events', runId], { env })
    expect(shown.code).toBe(0)
    expect(events.code).toBe(0)
    return { shown: shown.stdout, events: events.stdout, runId }
  }

  function databaseText(): string {
    return readdirSync(server.dataDir)
      .filter((name) => name.startsWith('greenlight.db'))
      .map((name) => readFileSync(join(server.dataDir, name)).toString('utf8'))
      .join('\n')
  }

  // Past 64 levels the old recursive walk gave up. 1,000 (plus the body's own two levels) is near the deepest a
  // callback body may nest (MAX_JSON_DEPTH, 1,024; deeper is json_too_deep); the redactor alone is tested at 100,000
  // levels in src/core/redact.test.ts.
  for (const depth of [70, 1_000]) {
    it(`masks every spelling at depth ${depth} in runs show, runs events and the database`, async () => {
      const { shown, events } = await roundTrip(depth)
      // The body really arrived at that depth, masked: its shape survived.
      expect(shown).toContain('nothing here')
      expect(shown.split('"level"').length).toBeGreaterThan(depth / 2)
      expect(shown).toContain('the token is ***!')
      expect(leaks(shown, SECRET), 'runs show').toEqual([])
      expect(leaks(events, SECRET), 'runs events').toEqual([])
      expect(leaks(databaseText(), SECRET), 'database').toEqual([])
    }, 60_000)
  }
})
