// wait: parks the run until a remote agent POSTs to its callback URL (or the timeout routes by on_timeout).
import { toOptionalText } from '../core/flow/index.ts'
import { parkFor } from '../engine/park.ts'
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
    return parkFor(
      ctx.now,
      'wait',
      {
        schema: c.schema ?? null,
        on_timeout: c.on_timeout ?? 'fail',
        default: c.default ?? null,
        notify: toOptionalText(c.notify) ?? null,
      },
      { timeout: c.timeout },
    )
  },
}
