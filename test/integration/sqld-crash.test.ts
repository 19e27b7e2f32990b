// Several machines on one libSQL server: two `greenlight serve` processes share a real sqld (DATABASE_URL over HTTP);
// one is SIGKILLed mid-way through 50 runs, and the other finishes every run exactly once, as on an embedded file
// (test/integration/crash.test.ts). The same scenario body runs on both.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type CrashRig, crashRig, twoInstancesOneDies } from '../support/crash-scenario.ts'
import { type HttpTarget, startHttpTarget } from '../support/http-target.ts'
import { startSqld, type TestSqld } from '../support/sqld.ts'

// Over both transports: a killed instance's open transaction is released when its socket closes (ws) or when sqld
// expires its stream (http, about 5 s), and the survivor must finish every run either way.
describe.each(['http', 'ws'])('crash safety on sqld over %s', (scheme) => {
  let target: HttpTarget
  let sqld: TestSqld
  let rig: CrashRig
  const key = randomBytes(32)

  beforeAll(async () => {
    target = await startHttpTarget()
    sqld = await startSqld()
    rig = crashRig(target, key, {
      DATABASE_URL: `${scheme}://127.0.0.1:${sqld.port}`,
      GREENLIGHT_SECRET_KEY: key.toString('base64'),
      GREENLIGHT_LEASE_MS: '1500',
      PORT: '0',
      LOG_LEVEL: 'error',
    })
  })
  afterAll(async () => {
    await rig?.cleanUp()
    await sqld?.stop()
    await target?.close()
  })

  it('two processes on one sqld share the runs; one dies and the other finishes them exactly once', async () => {
    await twoInstancesOneDies(rig)
  })
})
