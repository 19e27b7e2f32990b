// job: hands a payload to a pull-based worker of the given type and parks until it reports.
import { parkFor } from '../engine/park.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const jobRunner: StepRunner = {
  kind: 'job',
  billable: true,
  async run(ctx) {
    const c = ctx.config as { type: string; payload?: unknown; timeout?: string }
    return parkFor(
      ctx.now,
      'job',
      { type: c.type, payload: c.payload ?? null, on_timeout: 'fail' },
      { timeout: c.timeout, jobType: c.type },
    )
  },
}
