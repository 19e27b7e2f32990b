// job: hands a payload to a pull-based worker of the given type and parks until it reports.
import { parseDuration } from '../core/flow/index.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const jobRunner: StepRunner = {
  kind: 'job',
  billable: true,
  async run(ctx) {
    const c = ctx.config as { type: string; payload?: unknown; timeout?: string }
    const timeoutMs = c.timeout === undefined ? undefined : parseDuration(c.timeout)
    const deadlineAt = timeoutMs === undefined ? null : ctx.now + timeoutMs
    return {
      type: 'park',
      park: {
        kind: 'job',
        jobType: c.type,
        spec: { type: c.type, payload: c.payload ?? null, on_timeout: 'fail' },
        deadlineAt,
        timers: deadlineAt === null ? [] : [{ key: 'timeout', kind: 'wait_timeout', fireAt: deadlineAt }],
      },
    }
  },
}
