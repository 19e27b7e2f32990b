// wait: parks the run until a remote agent POSTs to its callback URL (or the timeout routes by on_timeout).
import { parseDuration, toOptionalText } from '../core/flow/index.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const waitRunner: StepRunner = {
  kind: 'wait',
  billable: false,
  async run(ctx) {
    const c = ctx.config as {
      timeout?: string
      on_timeout?: string
      default?: unknown
      schema?: unknown
      notify?: unknown
    }
    const timeoutMs = c.timeout === undefined ? undefined : parseDuration(c.timeout)
    const deadlineAt = timeoutMs === undefined ? null : ctx.now + timeoutMs
    return {
      type: 'park',
      park: {
        kind: 'wait',
        spec: {
          schema: c.schema ?? null,
          on_timeout: c.on_timeout ?? 'fail',
          default: c.default ?? null,
          notify: toOptionalText(c.notify) ?? null,
        },
        deadlineAt,
        timers: deadlineAt === null ? [] : [{ key: 'timeout', kind: 'wait_timeout', fireAt: deadlineAt }],
      },
    }
  },
}
