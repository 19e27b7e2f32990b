// input: asks people for values (a Slack modal, or the API); parks until someone eligible submits.
import { toOptionalText } from '../core/flow/index.ts'
import { parkFor } from '../engine/park.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const inputRunner: StepRunner = {
  kind: 'input',
  billable: false,
  async run(ctx) {
    const c = ctx.config as {
      fields: unknown[]
      assignees?: { users?: string[]; usergroups?: string[] }
      timeout?: string
      message?: unknown
    }
    return parkFor(
      ctx.now,
      'input',
      {
        fields: c.fields,
        assignees: c.assignees ?? null,
        message: toOptionalText(c.message) ?? null,
        on_timeout: 'fail',
      },
      { timeout: c.timeout },
    )
  },
}
