// Seeded random requests against /api/v1/connections and /api/v1/jobs (SPEC §9): no 5xx, the server stays healthy,
// the connections and the open job are unchanged. Reproduce a failure with FUZZ_SEED=<the printed seed>.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, type Random, randomJson } from '../support/fuzz-env.ts'
import { type Json, pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const SEED = fuzzSeed(randomBytes(4).readUInt32LE(0))

const KEEP = { type: 'http', base_url: 'https://keep.example' }
const NASTY = ['', '__proto__', 'constructor', '%00', '..', 'x'.repeat(300), 'SHA256:', 'ssh', 'http', '-1', '1e309']

const VALUES = {
  chosen: NASTY,
  keys: [
    'type',
    'host',
    'port',
    'user',
    'private_key_secret',
    'password_secret',
    'host_key',
    'base_url',
    'auth',
    'headers',
    'secret',
    'header',
    'lease',
    'result',
    'reason',
    'progress',
    'lease_ms',
    '__proto__',
  ],
}

const value = (rnd: Random): unknown => randomJson(rnd, VALUES)

describe('fuzzing connections and jobs', () => {
  let server: TestServer
  let jobId: string
  beforeAll(async () => {
    server = await startTestServer()
    await api(server, 'PUT', '/api/v1/secrets/fz_key', { value: 'fuzz-secret-value' })
    await api(server, 'PUT', '/api/v1/connections/keep', KEEP)
    await pushRelease(server, 'slug: fz_job\nsteps:\n  - id: j\n    job: { type: fz, payload: { a: 1 } }\n')
    const run = await api(server, 'POST', '/api/v1/runs', { flow: 'fz_job' })
    const runId = (run.body.data as Json).run.id
    jobId = (await runReaches(server, runId, ['waiting'])).run.waiting_on.wait_id
  })
  afterAll(async () => server.close())

  it(`answers every random request without a 5xx and changes nothing (seed ${SEED})`, async () => {
    onTestFailed(() => console.error(`FUZZ_SEED=${SEED}`))
    const rnd = createRandom(SEED)
    const before = (await api(server, 'GET', '/api/v1/connections')).body
    for (let i = 0; i < fuzzRuns(300); i++) {
      const name = rnd.chance(0.3)
        ? encodeURIComponent(rnd.string(1 + rnd.int(20))) || 'x'
        : rnd.pick(['keep', 'new_one', 'Bad'])
      const id = rnd.chance(0.5) ? jobId : encodeURIComponent(rnd.pick(NASTY) || 'y')
      const [method, path] = rnd.pick([
        ['PUT', `/api/v1/connections/${name}`],
        ['GET', `/api/v1/connections/${name}`],
        ['POST', `/api/v1/jobs/claim?type=${encodeURIComponent(String(value(rnd)))}&wait_ms=${String(value(rnd))}`],
        ['POST', `/api/v1/jobs/${id}/heartbeat`],
        ['POST', `/api/v1/jobs/${id}/complete`],
        ['POST', `/api/v1/jobs/${id}/fail`],
      ] as const)
      const body = value(rnd)
      let res: Response
      const text = rnd.chance(0.1) ? rnd.string(rnd.int(30)) : JSON.stringify(body)
      try {
        res = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${server.token}`,
            'content-type': rnd.chance(0.9) ? 'application/json' : 'text/plain',
          },
          ...(method === 'GET' ? {} : { body: text }),
        })
      } catch (error) {
        throw new Error(`${method} ${path} ${text}: ${String(error)}`)
      }
      const answer = await res.text()
      // A random PUT may legitimately create a valid connection; the only valid ones need a real http(s) URL.
      if (method === 'PUT' && res.status < 300) {
        if (name === 'keep') await api(server, 'PUT', '/api/v1/connections/keep', KEEP)
        else await api(server, 'DELETE', `/api/v1/connections/${name}`)
      }
      expect(res.status, `${method} ${path} ${text} → ${answer}`).toBeLessThan(500)
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await api(server, 'GET', '/api/v1/connections')).body).toEqual(before)
    const job = await api(server, 'GET', `/api/v1/waits/${jobId}`)
    expect((job.body.data as Json).wait.status).toBe('open')
  }, 120_000)
})
