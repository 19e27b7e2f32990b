// The MCP tools over both transports (POST /mcp and `greenlight mcp` over stdio), driven by the SDK's own Client:
// the tool list, validating and pushing a draft, a run that parks and its wait completed, events, tool errors with
// the CLI's code and hint, and scopes: a deciding token is refused on both, a runs:read token cannot start runs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, runCli } from '../support/cli.ts'
import { shiftedClock } from '../support/clock.ts'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../support/fuzz-env.ts'
import { eventually, type Json, pushRelease } from '../support/runs.ts'
import { mintToken, startTestServer, type TestServer } from '../support/server.ts'

const PARK_FLOW = `slug: mcp_park
inputs:
  who: { type: string, required: true }
steps:
  - id: agent_done
    wait: { timeout: 1h }
  - id: greet
    transform: "{{ 'hello ' & inputs.who & ' ' & steps.agent_done.output.note }}"
`

const clock = shiftedClock()
let server: TestServer
let agent: { secret: string; id: string }
let reader: { secret: string; id: string }

type Transport = 'http' | 'stdio'

/** The client configurations of examples/agents, with this test's server and token filled in. */
function exampleConfig(file: string, token: string): Json {
  const text = readFileSync(join(ROOT, 'examples', 'agents', file), 'utf8')
    .replaceAll('http://127.0.0.1:3000', server.url)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the client's own placeholder syntax, replaced here
    .replaceAll('${GREENLIGHT_AGENT_TOKEN}', token)
  return JSON.parse(text).mcpServers.greenlight
}

async function connect(kind: Transport, token: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1' })
  let transport: StreamableHTTPClientTransport | StdioClientTransport
  if (kind === 'http') {
    const config = exampleConfig('mcp-http.json', token)
    transport = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } })
  } else {
    const config = exampleConfig('mcp-stdio.json', token)
    // `npx greenlight` is this repository's bin; run it directly, as npx would.
    expect([config.command, config.args[0]]).toEqual(['npx', 'greenlight'])
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...config.args.slice(1)],
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...config.env },
      stderr: 'pipe',
    })
  }
  await client.connect(transport)
  return client
}

/** A tool's structured result; fails the test with the tool error when it is one. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Json> {
  const result = await client.callTool({ name, arguments: args })
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`)
  return result.structuredContent
}

async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<Json> {
  const result = await client.callTool({ name, arguments: args })
  expect(result.isError).toBe(true)
  return (result.structuredContent as Json).error
}

beforeAll(async () => {
  server = await startTestServer({}, { clock })
  await pushRelease(server, PARK_FLOW)
  agent = await mintToken(server, 'agent', ['flows:read', 'flows:write', 'runs:read', 'runs:write'], 'U0AGENT')
  reader = await mintToken(server, 'reader', ['runs:read'])
})
afterAll(async () => {
  await server?.close()
})

describe.each<Transport>(['http', 'stdio'])('MCP tools over %s', (kind) => {
  it('lists every tool with a JSON Schema for its input', async () => {
    const client = await connect(kind, agent.secret)
    const { tools } = await client.listTools()
    const names = tools.map((t) => t.name).sort()
    expect(names).toEqual(
      [
        'flow_get',
        'flow_push_draft',
        'flow_validate',
        'flows_list',
        'request_approval',
        'resource_get',
        'run_events',
        'run_get',
        'run_start',
        'search',
        'wait_complete',
        'waits_list',
      ].sort(),
    )
    const request = tools.find((t) => t.name === 'request_approval')
    expect(request?.inputSchema.required).toEqual(['title'])
    expect(Object.keys(request?.inputSchema.properties ?? {})).toContain('idempotency_key')
    await client.close()
  })

  it('validates and pushes a draft, starts a run that parks, completes its wait and reads the events', async () => {
    const client = await connect(kind, agent.secret)
    const bad = await call(client, 'flow_validate', { source: 'slug: x\nsteps: []\n', file: 'x.yaml' })
    expect(bad.valid).toBe(false)
    expect(bad.problems[0].file).toBe('x.yaml')
    const draft = PARK_FLOW.replace('hello ', 'hi ')
    expect((await call(client, 'flow_validate', { source: draft })).valid).toBe(true)
    const pushed = await call(client, 'flow_push_draft', { source: draft, file: 'park.yaml' })
    expect(pushed.push).toMatchObject({ slug: 'mcp_park', revision: 2 })

    const started = await call(client, 'run_start', { flow: 'mcp_park', inputs: { who: 'ada' }, wait_seconds: 10 })
    expect(started.settled).toBe(true)
    expect(started.run.status).toBe('waiting')
    expect(started.waiting_on).toMatchObject({ step: 'agent_done', kind: 'wait' })
    const waits = await call(client, 'waits_list', { run: started.run.id })
    expect(waits.waits.map((w: Json) => w.id)).toEqual([started.waiting_on.wait_id])

    await call(client, 'wait_complete', { wait: started.waiting_on.wait_id, payload: { note: 'done' } })
    const run = await eventually(async () => {
      const shown = await call(client, 'run_get', { run: started.run.id })
      return shown.run.status === 'succeeded' ? shown : undefined
    }, 'the run to succeed')
    // The live version ran (the pushed draft says 'hi'), pinned at start.
    expect(run.run.output).toBe('hello ada done')
    const { events } = await call(client, 'run_events', { run: started.run.id })
    expect(events[0]).toMatchObject({ type: 'run.started', actor: 'U0AGENT' })
    expect(events.map((e: Json) => e.type)).toContain('run.succeeded')
    await client.close()
  })

  it('answers a tool error with the CLI code and hint', async () => {
    const client = await connect(kind, agent.secret)
    const error = await callError(client, 'run_start', { flow: 'mcp_prak' })
    expect(error.code).toBe('flow_not_found')
    expect(error.hint).toContain("Did you mean 'mcp_park'?")
    await client.close()
  })

  it('refuses a token that can decide approvals, and a runs:read token cannot start runs', async () => {
    for (const scopes of [['approvals:decide'], ['admin'], ['runs:read', 'approvals:decide']]) {
      const decider = await mintToken(server, `decider-${kind}-${scopes.join('.')}`, scopes, 'U0AGENT')
      if (kind === 'http') {
        await expect(connect(kind, decider.secret)).rejects.toThrow(/403|token_can_decide/)
        const raw = await fetch(`${server.url}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${decider.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        })
        expect(raw.status).toBe(403)
        expect(((await raw.json()) as Json).error.code).toBe('token_can_decide')
      } else {
        // Refused before serving: one error document, exit 1.
        const refused = await runCli(['mcp'], { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: decider.secret } })
        expect(refused.code).toBe(1)
        expect(refused.json.error).toMatchObject({
          code: 'token_can_decide',
          details: { refused_scopes: expect.any(Array) },
        })
      }
    }
    if (kind === 'http') await expect(connect(kind, 'glt_not-a-token')).rejects.toThrow(/401|unauthorized/)

    const client = await connect(kind, reader.secret)
    const error = await callError(client, 'run_start', { flow: 'mcp_park', inputs: { who: 'x' } })
    expect(error).toMatchObject({ code: 'forbidden', details: { required_scope: 'runs:write' } })
    expect((await callError(client, 'flows_list', {})).details.required_scope).toBe('flows:read')
    expect((await call(client, 'waits_list', {})).waits).toEqual([])
    await client.close()
  })

  it('answers random tool calls with a result or a tool error carrying a code, and keeps serving', async () => {
    const client = await connect(kind, agent.secret)
    const random = createRandom(fuzzSeed(1812))
    const names = [...(await client.listTools()).tools.map((t) => t.name), 'run_stat', '']
    const keys = [
      'flow',
      'inputs',
      'run',
      'wait',
      'payload',
      'slug',
      'ref',
      'source',
      'query',
      'in',
      'limit',
      'kind',
      'all',
      'wait_seconds',
      'title',
      'approvers',
      'required',
      'timeout',
      'edit',
      'fields',
      '__proto__',
    ]
    const chosen = ['mcp_park', 'run_0', 'res://x', 'wait_0', 0, 0.5, -1, 'approval', ['runs'], undefined]
    for (let i = 0; i < fuzzRuns(kind === 'http' ? 40 : 15); i++) {
      const name = random.pick(names)
      const args = randomJson(random, { keys, chosen, maxDepth: 2 })
      // Arguments are an object by the protocol (the SDK refuses anything else before a tool sees it); wait_seconds
      // stays short so a call that starts something does not hold the test.
      const object = typeof args === 'object' && args !== null && !Array.isArray(args) ? args : { value: args }
      const bounded = { ...object, wait_seconds: 0 }
      const result = await client.callTool({ name, arguments: bounded as Record<string, unknown> })
      if (result.isError)
        expect(typeof (result.structuredContent as Json)?.error?.code, JSON.stringify([name, args])).toBe('string')
      else expect(result.structuredContent).toBeTypeOf('object')
    }
    expect((await call(client, 'flow_validate', { source: PARK_FLOW })).valid).toBe(true)
    await client.close()
  })
})
