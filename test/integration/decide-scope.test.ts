// A token with approvals:decide (and not runs:read) reads what it decides: approvals, the run of an approval and the
// resources an approval shows; no other wait, run or resource.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const DIFF = `--- a/app.ts\n+++ b/app.ts\n@@ -1 +1 @@\n-old\n+new ${'x'.repeat(2000)}\n`

const APPROVAL_FLOW = `slug: ds_gate
steps:
  - id: review
    approval:
      message: "Ship it?"
      diff: ${JSON.stringify(DIFF)}
`

const OTHER_FLOW = `slug: ds_other
steps:
  - id: big
    transform: '{{ $join([1..3000].("y"), "") }}'
  - id: agent
    wait: {}
`

describe('what approvals:decide may read', () => {
  let server: TestServer
  let decider: string
  let gate: Json
  let other: Json
  let approval: Json
  let diffRef: string
  let otherRef: string

  const as = (path: string) => api(server, 'GET', path, undefined, decider)

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RESOURCE_THRESHOLD: '1024' })
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_DATA_DIR: server.dataDir }
    const created = await runCli(
      ['tokens', 'create', '--name', 'ann', '--scope', 'approvals:decide', '--as', 'U0ANN'],
      {
        env,
      },
    )
    decider = created.json.data.token.secret
    await pushRelease(server, APPROVAL_FLOW)
    await pushRelease(server, OTHER_FLOW)
    const start = async (flow: string) =>
      runReaches(server, ((await api(server, 'POST', '/api/v1/runs', { flow })).body.data as Json).run.id, ['waiting'])
    gate = await start('ds_gate')
    other = await start('ds_other')
    approval = gate.wait
    diffRef = approval.diff
    expect(diffRef).toMatch(/^res:\/\//)
    const listed = await api(server, 'GET', `/api/v1/resources?run=${other.run.id}`)
    otherRef = (listed.body.data as Json).resources[0].ref
  })
  afterAll(async () => server.close())

  it('reads approvals, lists only approvals, and not other waits', async () => {
    const shown = await as(`/api/v1/waits/${approval.id}`)
    expect(shown.status, JSON.stringify(shown.body)).toBe(200)
    expect((shown.body.data as Json).wait).toMatchObject({ id: approval.id, kind: 'approval', diff: diffRef })

    const listed = await as('/api/v1/waits')
    expect(listed.status, JSON.stringify(listed.body)).toBe(200)
    const kinds = (listed.body.data as Json).waits.map((w: Json) => w.kind)
    expect(kinds).toEqual(['approval'])
    expect((await as('/api/v1/waits?kind=approval')).status).toBe(200)
    const wrongKind = await as('/api/v1/waits?kind=wait')
    expect(wrongKind.status).toBe(403)
    expect(wrongKind.body.error?.code).toBe('forbidden')

    const plain = await as(`/api/v1/waits/${other.wait.id}`)
    expect(plain.status).toBe(403)
    expect(plain.body.error?.hint).toContain('runs:read')
  })

  it("reads an approval's run and the diff it shows, not other runs or their resources", async () => {
    const run = await as(`/api/v1/runs/${gate.run.id}`)
    expect(run.status, JSON.stringify(run.body)).toBe(200)
    expect((run.body.data as Json).run.id).toBe(gate.run.id)

    const diff = await fetch(`${server.url}/api/v1/resources/${encodeURIComponent(diffRef)}`, {
      headers: { authorization: `Bearer ${decider}` },
    })
    expect(diff.status).toBe(200)
    expect(await diff.text()).toBe(DIFF)

    expect((await as(`/api/v1/runs/${other.run.id}`)).status).toBe(403)
    expect((await as(`/api/v1/runs/${other.run.id}/events`)).status).toBe(403)
    expect((await as('/api/v1/runs')).status).toBe(403)
    expect((await as('/api/v1/resources')).status).toBe(403)
    expect((await as(`/api/v1/resources/${encodeURIComponent(otherRef)}`)).status).toBe(403)
  })

  it('works through the CLI: waits show, runs show and resources get of an approval', async () => {
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: decider }
    const wait = await runCli(['waits', 'show', approval.id], { env })
    expect(wait.code, wait.stdout).toBe(0)
    const run = await runCli(['runs', 'show', gate.run.id], { env })
    expect(run.code, run.stdout).toBe(0)
    const bytes = await runCli(['resources', 'get', diffRef], { env })
    expect(bytes.code, bytes.stderr).toBe(0)
    expect(bytes.stdout).toContain('+new')
  })
})
