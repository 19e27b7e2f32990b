// Durability under SIGKILL: a real `greenlight serve` is killed mid-way through 50 runs and restarted; then two
// processes share one database and one of them dies. Every run must finish exactly once, and no accepted callback
// may be lost. (test/integration/sqld-crash.test.ts runs the two-process case on a libSQL server.)
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stopChild } from '../support/cli.ts'
import {
  allRuns,
  CRASH_RUNS,
  type CrashRig,
  call,
  crashRig,
  twoInstancesOneDies,
  until,
} from '../support/crash-scenario.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'

describe('crash safety', () => {
  let target: HttpTarget
  let rig: CrashRig
  const key = randomBytes(32)
  const env = {
    GREENLIGHT_SECRET_KEY: key.toString('base64'),
    GREENLIGHT_LEASE_MS: '1500',
    PORT: '0',
    LOG_LEVEL: 'error',
  }

  beforeAll(async () => {
    target = await startHttpTarget()
    rig = crashRig(target, key, env)
  })
  afterAll(async () => {
    await rig.cleanUp()
    await target.close()
  })

  it('survives SIGKILL mid-way: every run completes, http steps run once per visit, accepted callbacks survive', async () => {
    const { cwd, first, token } = await rig.setUp()
    const ids: string[] = []
    for (let i = 0; i < CRASH_RUNS; i++)
      ids.push((await call(first.url, token, 'POST', '/api/v1/runs', { flow: 'crashy' })).json.data.run.id)
    // Complete whichever runs are already parked, then kill while the rest are between steps.
    const accepted = new Set<string>()
    await until('some runs parked', async () =>
      (await allRuns(first.url, token)).some((r) => r.status === 'waiting') ? true : undefined,
    )
    for (const run of await allRuns(first.url, token)) {
      if (run.status === 'waiting' && (await rig.callback(first.url, run.id)).status === 202) accepted.add(run.id)
    }
    const inFlight = (await allRuns(first.url, token)).filter((r) => r.status === 'running').length
    await stopChild(first.child, 'SIGKILL')
    expect(accepted.size).toBeGreaterThan(0)

    const second = await rig.serve(cwd)
    for (const id of ids) {
      if (!accepted.has(id)) expect([200, 202]).toContain((await rig.callback(second.url, id)).status)
    }
    const runs = await until('all runs succeeded', async () => {
      const list = (await allRuns(second.url, token)).filter((r) => ids.includes(r.id))
      return list.every((r) => r.status === 'succeeded') ? list : undefined
    })
    rig.checkExactlyOnce(runs, inFlight)
    for (const id of accepted) expect(runs.find((r) => r.id === id)?.output).toEqual({ run: id })
    await stopChild(second.child, 'SIGKILL')
  })

  it('two processes on one database share the runs; one dies and the other finishes them exactly once', async () => {
    await twoInstancesOneDies(rig)
  })
})
