// `resources list --run`: every resource a run used, including bytes an earlier run stored first (resources are
// content-addressed, so the second run's output points at the first run's row).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']

// A 2 KiB output over a 1 KiB threshold becomes a resource; the same input gives the same bytes.
const FLOW = `slug: rr_big
inputs: { fill: { type: string, required: true } }
steps:
  - id: big
    transform: "{{ { 'blob': $join([1..64].($string($) & $$.inputs.fill)) } }}"
`

describe('resources of a run', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RESOURCE_THRESHOLD: '1024' })
    await pushRelease(server, FLOW)
  })
  afterAll(async () => server?.close())

  async function run(fill: string): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow: 'rr_big', inputs: { fill }, wait: true })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const done = await runReaches(server, (started.body.data as Json).run.id, TERMINAL)
    expect(done.run.status).toBe('succeeded')
    return done
  }

  const listed = async (runId: string): Promise<Json[]> => {
    const res = await api(server, 'GET', `/api/v1/resources?run=${runId}`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return (res.body.data as Json).resources
  }

  it('lists a resource for every run that used it, not only the first', async () => {
    const fill = 'x'.repeat(40)
    const first = await run(fill)
    const second = await run(fill)
    const ref = first.steps[0].output
    expect(ref).toMatch(/^res:\/\/[0-9a-f]{64}$/)
    expect(second.steps[0].output).toBe(ref)

    const ofFirst = await listed(first.run.id)
    const ofSecond = await listed(second.run.id)
    expect(ofFirst.map((r) => r.ref)).toEqual([ref])
    expect(ofSecond.map((r) => r.ref)).toEqual([ref])
    // Listed for a run, a resource names that run.
    expect(ofSecond[0].run_id).toBe(second.run.id)

    // A run that stored other bytes lists only its own.
    const other = await run('y'.repeat(40))
    expect((await listed(other.run.id)).map((r) => r.ref)).toEqual([other.steps[0].output])
    expect(other.steps[0].output).not.toBe(ref)
  })
})
